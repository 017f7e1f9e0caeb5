"""Two imports at the same time, in two real processes: each is one transaction, so the result is as if one ran
after the other, never a mix."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from leads.models import Lead

ROOT = Path(__file__).resolve().parents[2]


def database_url(tmp_path) -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        # The test database lives in memory; the processes share a file database instead.
        url = f"sqlite:///{tmp_path / 'concurrent.sqlite3'}"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            check=True,
            env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "DEBUG": "1"},
        )
        return url
    scheme = "postgres" if connection.vendor == "postgresql" else "mysql"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"{scheme}://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def stored(url: str) -> list[tuple[str, str]]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return sorted(db.execute("SELECT email, status FROM leads_lead").fetchall())
    return sorted(Lead.objects.values_list("email", "status"))


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_imports_at_the_same_time_leave_the_state_of_one_after_the_other(tmp_path):
    url = database_url(tmp_path)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(
        "name,email,status,created\n" + "".join(f"Lead {i},lead{i}@example.org,new,2026-01-02\n" for i in range(3000))
    )
    second.write_text(
        "name,email,status,created\n"
        + "".join(f"Lead {i},lead{i}@example.org,won,2026-01-02\n" for i in range(2000, 5000))
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "import_leads", str(path), "--json"],
            cwd=ROOT,
            env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "DEBUG": "1"},
            stdout=subprocess.PIPE,
            text=True,
        )
        for path in (first, second)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    assert sum(r["created"] for r in results) == 5000
    assert sum(r["updated"] for r in results) + sum(r["unchanged"] for r in results) == 1000
    rows = stored(url)
    assert len(rows) == 5000
    overlap = {status for email, status in rows if 2000 <= int(email[4:].split("@")[0]) < 3000}
    assert len(overlap) == 1  # all from the import that ran last, never a mix
