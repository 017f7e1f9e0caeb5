"""Import jobs run by real workers: `manage.py db_worker` (the database backend) and, when a Redis answers on
127.0.0.1:6379, `manage.py rqworker` (the RQ backend), against a file-based SQLite database.

The jobs are queued by a separate `manage.py shell` process as the admin queues them (create_run, then
run_import.enqueue); this process watches the run's row in the database file and its progress in the cache
(IMPORT_CACHE_DIR, inherited by the worker), and asks for a cancel there.
"""

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from imports import progress
from imports.pipeline import PROCESS_CLEANING_BYTES
from imports.runs import ABANDONED

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.concurrency

ENQUEUE = """
from imports.runs import create_run
from imports.schema import schema_for
from imports.tasks import run_import
path, dry_run = {path!r}, {dry_run!r}
run = create_run(schema=schema_for("lead"), source="admin", path=path, dry_run=dry_run,
                 options={{"path": path, "sample_size": 20}})
run_import.enqueue(run.pk)
print(run.pk)
"""


# Created years before any clock CI moves to: the worker processes read the machine's clock, not the frozen one.
def write_leads(path: Path, size: int) -> Path:
    row = "Lead Number {i},lead{i}@example.org,+1 555 0100,Acme Corporation,Web,contacted,2020-11-01T10:00:00Z\n"
    with open(path, "w") as handle:
        handle.write("name,email,phone,company,source,status,created_at\nBroken,not-an-email,,,,,2020-11-01\n")
        i = 0
        while handle.tell() < size:
            handle.writelines(row.format(i=i + k) for k in range(10_000))
            i += 10_000
    return path


@pytest.fixture
def environment(tmp_path):
    def make(**extra):
        database = tmp_path / "db.sqlite3"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", **extra}
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True
        )
        assert migrate.returncode == 0, migrate.stderr
        return database, env

    return make


def enqueue(env, path: Path, *, dry_run: bool) -> int:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ENQUEUE.format(path=str(path), dry_run=dry_run)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def row_of(database: Path, run_id: int) -> dict:
    with sqlite3.connect(database, timeout=30) as db:
        db.row_factory = sqlite3.Row
        return dict(db.execute("SELECT * FROM imports_importrun WHERE id = ?", [run_id]).fetchone())


def count_leads(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        return db.execute("SELECT COUNT(*) FROM leads_lead").fetchone()[0]


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start(env, *command) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def stop(worker: subprocess.Popen) -> str:
    if worker.poll() is None:
        worker.terminate()
    out, _ = worker.communicate(timeout=30)
    return out.decode(errors="replace")


@pytest.fixture
def db_worker():
    workers = []

    def run(env):
        workers.append(start(env, "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"))
        return workers[-1]

    yield run
    for worker in workers:
        stop(worker)


def test_a_db_worker_previews_then_imports_a_queued_run(environment, db_worker, tmp_path):
    database, env = environment(TASKS_BACKEND="database")
    path = write_leads(tmp_path / "leads.csv", 1 << 20)
    preview = enqueue(env, path, dry_run=True)
    assert row_of(database, preview)["status"] == "queued"
    worker = db_worker(env)
    row = wait_for(
        lambda: (r := row_of(database, preview))["status"] not in ("queued", "running") and r, 60, "the preview"
    )
    assert row["status"] == "previewed", stop(worker)
    assert row["rejected"] == 1 and row["created"] > 10_000 and row["worker"]
    assert count_leads(database) == 0
    # The job writes its report just after the run records its outcome.
    wait_for((path.parent / f"run-{preview}.json").is_file, 30, "the preview's report")
    assert (path.parent / "rejects.csv").is_file()
    real = enqueue(env, path, dry_run=False)
    row = wait_for(lambda: (r := row_of(database, real))["status"] not in ("queued", "running") and r, 60, "the import")
    assert row["status"] == "done"
    assert count_leads(database) == row["created"]
    wait_for(lambda: not path.exists(), 30, "the upload to go")  # imported: it cannot be confirmed again


def test_a_cancel_stops_a_db_worker_job_midway_and_nothing_is_written(environment, db_worker, tmp_path):
    database, env = environment(TASKS_BACKEND="database")
    path = write_leads(tmp_path / "big.csv", PROCESS_CLEANING_BYTES + (8 << 20))
    run = enqueue(env, path, dry_run=False)
    db_worker(env)
    seen = wait_for(lambda: (p := progress.snapshot(run)) and p["rows_done"] > 0 and p, 120, "progress in the cache")
    assert 0 < seen["bytes_done"] < seen["total_bytes"] == path.stat().st_size
    assert progress.last_beat(run) is not None
    # On the real clock, as the admin would: this test's clock started at FROZEN_AT, and the file cache
    # stamps each entry with an expiry that the worker reads on its own clock.
    with time_machine.travel(datetime.fromtimestamp(time_machine.escape_hatch.time.time(), UTC)):
        progress.request_cancel(run)
    row = wait_for(lambda: (r := row_of(database, run))["status"] not in ("queued", "running") and r, 120, "the end")
    assert row["status"] == "cancelled"
    assert count_leads(database) == 0


def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.mark.skipif(
    not redis_answers(REDIS_URL), reason="no Redis answers on 127.0.0.1:6379: the RQ backend is not tested"
)
def test_an_rq_worker_previews_a_queued_run(environment, tmp_path):
    database, env = environment(TASKS_BACKEND="rq", REDIS_URL=REDIS_URL)
    path = write_leads(tmp_path / "leads.csv", 1 << 20)
    run = enqueue(env, path, dry_run=True)
    assert row_of(database, run)["status"] == "queued"
    worker = start(env, "rqworker", "--job-class", "django_tasks_rq.Job", "--burst", "default")
    # Watch the run, not the worker's exit: a burst worker's teardown joins Redis's pub/sub thread, whose timed
    # wait never ends under a machine clock moved back (CI's faketime step).
    try:
        row = wait_for(lambda: (r := row_of(database, run))["status"] != "queued" and r, 120, "the RQ worker's run")
        row = wait_for(lambda: (r := row_of(database, run))["status"] != "running" and r, 120, "the preview")
    finally:
        worker.kill()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert row["status"] == "previewed", output
    assert row["rejected"] == 1 and row["created"] > 10_000
    assert count_leads(database) == 0


FAIL_ABANDONED = """
from core import clock
from imports.runs import fail_abandoned_runs
print(fail_abandoned_runs(clock.now()))
"""


def count_changes(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        return db.execute("SELECT COUNT(*) FROM imports_importchange").fetchone()[0]


def test_a_db_worker_killed_midway_writes_nothing_shows_failed_and_the_file_imports_again(
    environment, db_worker, tmp_path
):
    database, env = environment(TASKS_BACKEND="database")
    path = write_leads(tmp_path / "big.csv", PROCESS_CLEANING_BYTES + (8 << 20))
    run = enqueue(env, path, dry_run=False)
    worker = db_worker(env)
    wait_for(lambda: (p := progress.snapshot(run)) and p["rows_done"] > 0, 120, "progress in the cache")
    row = row_of(database, run)
    assert row["status"] == "running" and row["worker"].endswith(f":{worker.pid}")
    worker.kill()  # kill -9, in the middle of its transaction
    worker.wait(timeout=30)
    assert count_leads(database) == 0 and count_changes(database) == 0
    assert row_of(database, run)["status"] == "running"  # it could not say more

    # Listing runs (the admin's list calls this) shows what happened to it.
    listed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", FAIL_ABANDONED], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().splitlines()[-1] == "1"
    row = row_of(database, run)
    assert (row["status"], row["error"], row["created"]) == ("failed", ABANDONED, 0)

    again = enqueue(env, path, dry_run=False)
    db_worker(env)
    row = wait_for(lambda: (r := row_of(database, again))["status"] not in ("queued", "running") and r, 300, "again")
    assert row["status"] == "done" and row["rejected"] == 1
    assert count_leads(database) == row["created"] > 0
    assert row_of(database, run)["status"] == "failed"
