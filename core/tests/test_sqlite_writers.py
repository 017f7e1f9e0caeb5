"""SQLite's writers take its write lock first come, first served (core.backends.sqlite3): the queue on a real file,
across threads and processes, and the backend that queues every atomic block. Runs on any engine: each test makes
an SQLite file of its own."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.backends.sqlite3.writers import SUPPORTED, QueueTimeout, WriterQueue

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not SUPPORTED, reason="open file description locks are Linux's")


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "db.sqlite3-writers")


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_writers_take_the_lock_in_the_order_they_asked(path):
    holder = WriterQueue(path)
    holder.acquire(1)
    entered: list[object] = []
    queues = [WriterQueue(path) for _ in range(6)]

    def write(i):
        queues[i].acquire(5)
        entered.append(i)
        time.sleep(0.003)
        queues[i].release()

    threads = []
    for i in reversed(range(6)):  # the last to start is the first in line
        threads.append(threading.Thread(target=write, args=(i,)))
        threads[-1].start()
        wait_for(lambda i=i: queues[i].ticket is not None)
    time.sleep(0.02)
    entered.append("released")
    holder.release()
    for thread in threads:
        thread.join()
    assert entered == ["released", 5, 4, 3, 2, 1, 0]


def test_a_writer_that_waits_too_long_gives_up_and_frees_its_place(path):
    holder, impatient, patient = WriterQueue(path), WriterQueue(path), WriterQueue(path)
    holder.acquire(1)
    started = time.monotonic()
    with pytest.raises(QueueTimeout):
        impatient.acquire(0.05)
    assert time.monotonic() - started >= 0.05
    assert impatient.ticket is None
    waited = []
    thread = threading.Thread(target=lambda: waited.append(patient.acquire(5)))
    thread.start()
    wait_for(lambda: patient.ticket is not None)
    holder.release()
    thread.join()
    assert waited[0] < 1  # not held up by the ticket given up before it


def test_a_killed_writer_never_blocks_the_queue(path):
    script = (
        "import sys, time\n"
        "from core.backends.sqlite3.writers import WriterQueue\n"
        "queue = WriterQueue(sys.argv[1])\n"
        "queue.acquire(1)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, path], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "held"
        other = WriterQueue(path)
        with pytest.raises(QueueTimeout):
            other.acquire(0.05)  # another process's ticket is honoured
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        assert other.acquire(1) < 0.5
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()


def test_a_writer_closed_mid_transaction_gives_its_place_back(path):
    holder, next_in_line = WriterQueue(path), WriterQueue(path)
    holder.acquire(1)
    holder.close()
    assert next_in_line.acquire(1) < 0.5


BACKEND = """
import django, os, sys
django.setup()
from django.db import connection, transaction
from core.backends.sqlite3.writers import QueueTimeout, WriterQueue
from core.sql import is_lock_timeout

queue = connection.settings_dict["NAME"] + "-writers"
with transaction.atomic():
    print("in", connection._writers.ticket is not None)
    try:
        WriterQueue(queue).acquire(0.02)
        print("other", "entered")
    except QueueTimeout:
        print("other", "waits")
print("after", connection._writers.ticket is None)
try:
    with transaction.atomic():
        raise ValueError
except ValueError:
    pass
print("rolled back", connection._writers.ticket is None)
print("other then", WriterQueue(queue).acquire(1) < 0.5)
"""


def run(database: Path, script: str, **env):
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DEBUG": "1", **env}
    environment["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True)


def test_every_atomic_block_on_a_file_queues_until_it_commits_or_rolls_back(tmp_path):
    result = run(tmp_path / "db.sqlite3", BACKEND)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "in True",
        "other waits",
        "after True",
        "rolled back True",
        "other then True",
    ]


def test_a_writer_kept_waiting_in_the_queue_past_the_busy_timeout_gets_database_is_locked(tmp_path):
    database = tmp_path / "db.sqlite3"
    holder = WriterQueue(f"{database}-writers")
    holder.acquire(1)
    script = (
        "import django, time\ndjango.setup()\n"
        "from django.db import OperationalError, transaction\nfrom core.sql import is_lock_timeout\n"
        "started = time.monotonic()\n"
        "try:\n    with transaction.atomic():\n        print('entered')\n"
        "except OperationalError as exc:\n"
        "    print(is_lock_timeout(exc), round(time.monotonic() - started))\n"
    )
    result = run(database, script, SQLITE_BUSY_TIMEOUT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1"]
