"""Django's start-up (the apps, the admin's registrations) and the read-only report commands load no data-frame
stack (pandas, numpy, pyarrow), no spreadsheet library (openpyxl) and no API framework (ninja, pydantic): each
costs every command and worker its start-up, and only the imports, the assignment and the API use them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "pyarrow", "openpyxl", "pydantic", "ninja", "yaml")

PROBE = f"""
import sys
import django
django.setup()  # the apps' ready(), the admin's autodiscovery
import leads.management.commands.verify_assignments, leads.management.commands.classify_leads
print(",".join(name for name in {HEAVY!r} if name in sys.modules))
"""


def probe(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "crm.settings", "DEBUG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_start_up_and_the_report_commands_load_neither_pandas_nor_openpyxl_nor_pydantic():
    assert probe(PROBE) == ""


def test_the_probe_sees_a_heavy_module_once_something_imports_it():
    # The probe itself can fail: importing the import engine brings pandas in.
    assert probe(PROBE.replace("print(", "import imports.loading\nprint(")) == "pandas,numpy,pyarrow"


CHECKS = """
import sys
import django
django.setup()
from django.core.management import load_command_class
for app, name in [("leads", "import_leads"), ("agents", "import_agents"), ("leads", "verify_assignments"),
                  ("leads", "classify_leads")]:
    command = load_command_class(app, name)
    command.check(tags=command.requires_system_checks)  # what execute() runs before handle()
print("crm.urls" in sys.modules)
"""


def test_the_imports_and_the_report_commands_run_no_url_checks():
    assert probe(CHECKS) == "False"
    # The probe can fail: every check imports the URLconf.
    assert probe(CHECKS.replace("tags=command.requires_system_checks", "")) == "True"
