"""kill -9 during a command import, on SQLite and PostgreSQL: nothing is written; after a restart the run shows
failed with the reason, and the same file imports cleanly.

Real processes against a real database of their own (a SQLite file; a PostgreSQL database named after
KILL_TEST_POSTGRES_URL, skipped when the server does not answer), the file big enough to be well into the load
when the process is killed.
"""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imports.pipeline import PROCESS_CLEANING_BYTES
from imports.runs import ABANDONED

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("KILL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/crm_revert_kill")
pytestmark = pytest.mark.concurrency


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "leads.csv"
    # The commands read the machine's clock, not the suite's frozen one: dates long past whatever it says.
    row = "Lead Number {i},lead{i}@example.org,+1 555 0100,Acme Corporation,Web,contacted,2015-11-01T10:00:00Z\n"
    rows = 0
    with open(path, "w") as handle:
        handle.write("name,email,phone,company,source,status,created_at\n")
        while handle.tell() < PROCESS_CLEANING_BYTES + (4 << 20):
            handle.writelines(row.format(i=rows + k) for k in range(10_000))
            rows += 10_000
    return path, rows


class SQLiteDatabase:
    def __init__(self, tmp_path):
        self.path = tmp_path / "db.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def query(self, sql):
        with sqlite3.connect(self.path) as db:
            return db.execute(sql).fetchall()


class PostgresDatabase:
    def __init__(self):
        import psycopg

        self.psycopg, self.url = psycopg, POSTGRES_URL
        base, _, self.name = POSTGRES_URL.rpartition("/")
        try:
            with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{self.name}"')
        except psycopg.Error as exc:
            pytest.skip(f"PostgreSQL does not answer: {exc}")

    def query(self, sql):
        with self.psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql).fetchall()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    db = SQLiteDatabase(tmp_path) if request.param == "sqlite" else PostgresDatabase()
    db.env = {**os.environ, "DATABASE_URL": db.url}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=db.env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr
    return db


def manage(db, *args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=db.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def wait_until_well_into_the_load(db, process):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if db.query("SELECT status FROM imports_importrun") == [("running",)]:
            time.sleep(3)  # reading, cleaning and staging rows in its transaction
            assert process.poll() is None, "the import ended before it could be killed: make the file bigger"
            return
        time.sleep(0.05)
    raise AssertionError("the import never started")


def test_a_killed_import_writes_nothing_shows_failed_after_a_restart_and_imports_cleanly_again(big_file, database):
    path, rows = big_file
    process = manage(database, "import_leads", str(path))
    wait_until_well_into_the_load(database, process)
    process.kill()  # kill -9
    process.communicate(timeout=60)
    assert database.query("SELECT COUNT(*) FROM leads_lead") == [(0,)]
    assert database.query("SELECT COUNT(*) FROM imports_importchange") == [(0,)]
    assert database.query("SELECT status FROM imports_importrun") == [("running",)]  # it could not say more

    # After the restart, listing runs (here the revert command) shows what happened to it.
    revert = manage(database, "revert_import", "1")
    out, err = revert.communicate(timeout=60)
    assert revert.returncode == 2
    assert err.strip() == "CommandError: Import #1 is failed: nothing of it was written, nothing to revert."
    assert database.query("SELECT status, error FROM imports_importrun") == [("failed", ABANDONED)]

    again = manage(database, "import_leads", str(path), "--json")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert '"run": 2' in out
    assert database.query("SELECT COUNT(*) FROM leads_lead") == [(rows,)], out
    assert database.query("SELECT id, status, created FROM imports_importrun ORDER BY id") == [
        (1, "failed", 0),
        (2, "done", rows),
    ]
