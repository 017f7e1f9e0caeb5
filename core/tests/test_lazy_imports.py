"""core is imported by every app's models (core.fields), so it must not load the data-frame stack at start-up:
pandas and pyarrow load only when a frame is written."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import django
from django.conf import settings
settings.INSTALLED_APPS  # the project's settings, without setting up the apps
import core.fields, core.sql
print(",".join(name for name in ("pandas", "numpy", "pyarrow") if name in sys.modules))
"""


def test_core_sql_and_fields_import_without_pandas_or_pyarrow():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "crm.settings", "DEBUG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_core_sql_writes_datetimes_as_text_with_the_pyarrow_string_type():
    import pandas as pd

    from core import sql

    assert pd.Series(["x"]).astype(sql.STRING).dtype == pd.StringDtype("pyarrow")
