"""Settings for the test suite (pytest.ini): the project's settings as a developer's machine has them, DEBUG on.

DEBUG defaults to off (README, Configuration). The suite, and the manage.py processes its tests start with the
suite's environment, read the settings as `make run` does; pytest-django still runs each test with DEBUG off.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")
# Jobs run inside the request that enqueues them, except in the tests that start a real worker.
os.environ.setdefault("TASKS_BACKEND", "immediate")
# Emails stay in memory (pytest-django does the same in the test process), also in the processes tests start.
os.environ.setdefault("EMAIL_URL", "memory://")
# One folder per test run, inherited by the processes the tests start: the import progress cache, the test
# database.
if "CRM_TEST_DIR" not in os.environ:
    os.environ["CRM_TEST_DIR"] = tempfile.mkdtemp(prefix="crm-test-")
os.environ.setdefault("IMPORT_CACHE_DIR", os.path.join(os.environ["CRM_TEST_DIR"], "imports-cache"))

from crm.settings import *  # noqa: F403

# SQLite: the test database is a file (in a folder of this run), not Django's shared in-memory one, where a
# connection that meets another's lock fails at once: the browser tests' job worker (a thread) then writes while
# the live server reads, as on a real deployment.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.path.join(os.environ["CRM_TEST_DIR"], "test.sqlite3")  # noqa: F405
