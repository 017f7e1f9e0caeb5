"""Ctrl-C and kill -9 during a big import (cleaned in a second process): no traceback, nothing written.

Real processes: the import runs in its own process group, and Ctrl-C is SIGINT sent to that whole group, as a
terminal does; the file is big enough (PROCESS_CLEANING_BYTES) to be cleaned by a child process.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imports.pipeline import PROCESS_CLEANING_BYTES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.concurrency


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "leads.csv"
    row = "Lead Number {i},lead{i}@example.org,+1 555 0100,Acme Corporation,Web,contacted,2026-11-01T10:00:00Z\n"
    with open(path, "w") as handle:
        handle.write("name,email,phone,company,source,status,created_at\n")
        i = 0
        while handle.tell() < PROCESS_CLEANING_BYTES + (4 << 20):
            handle.writelines(row.format(i=i + k) for k in range(10_000))
            i += 10_000
    return path


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr
    return path, env


def start_import(env, path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_leads", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As from a terminal: a background job of a shell inherits SIGINT ignored, and Python keeps it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (one signal call between fork and exec)
    )


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_for_the_cleaning_child(process: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        children = children_of(process.pid)
        if children:
            time.sleep(1.5)  # the child is cleaning and the parent loading: well into the run
            return children[0]
        time.sleep(0.05)
    raise AssertionError("no cleaning process was started")


def lead_count(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM leads_lead").fetchone()[0]


def test_ctrl_c_says_nothing_was_written_and_exits_130(big_file, database):
    path, env = database
    process = start_import(env, big_file)
    child = wait_for_the_cleaning_child(process)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "CommandError: Interrupted: nothing was written."
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text()
    assert lead_count(path) == 0


def test_a_killed_import_leaves_its_cleaning_child_to_exit_quietly(big_file, database):
    path, env = database
    process = start_import(env, big_file)
    child = wait_for_the_cleaning_child(process)
    process.kill()  # kill -9: the parent cannot stop its child; the child finds out when it writes next
    _, err = process.communicate(timeout=60)  # the child holds stderr too: EOF comes once it has exited
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the cleaning process outlived its parent"
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert lead_count(path) == 0
