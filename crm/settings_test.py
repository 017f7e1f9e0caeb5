"""Settings for the test suite (pytest.ini): the project's settings as a developer's machine has them, DEBUG on.

DEBUG defaults to off (README, Configuration). The suite, and the manage.py processes its tests start with the
suite's environment, read the settings as `make run` does; pytest-django still runs each test with DEBUG off.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")
# Jobs run inside the request that enqueues them, except in the tests that start a real worker.
os.environ.setdefault("TASKS_BACKEND", "immediate")
# Import progress of the suite's runs in a folder of its own (inherited by the processes the tests start).
os.environ.setdefault("IMPORT_CACHE_DIR", tempfile.mkdtemp(prefix="crm-test-imports-cache-"))

from crm.settings import *  # noqa: F403

# SQLite: the test database is a file (in a folder of this run), not Django's shared in-memory one, where a
# connection that meets another's lock fails at once: the browser tests' job worker (a thread) then writes while
# the live server reads, as on a real deployment.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.path.join(  # noqa: F405
        tempfile.mkdtemp(prefix="crm-test-db-"), "test.sqlite3"
    )
