"""The import commands draw a tqdm progress bar on stderr when it is a terminal, and nothing otherwise."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "TERM": "xterm",
        "DEBUG": "1",
    }
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr
    return env


@pytest.fixture
def leads_file(tmp_path):
    path = tmp_path / "leads.csv"
    rows = [f"Lead {i},lead{i}@example.org,2026-11-01" for i in range(500)]
    path.write_text("name,email,created_at\n" + "\n".join(rows) + "\n")
    return path


def test_a_terminal_gets_a_progress_bar_on_stderr(database, leads_file):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal of 100 columns
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_leads", str(leads_file), "--batch-size", "100"],
        cwd=ROOT,
        env=database,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal is closed once the command has ended
            break
        if not data:
            break
        screen += data
    os.close(leader)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    text = screen.decode()
    assert "100%" in text and "500/500" in text and "rows/s" in text  # tqdm's bar: share, counts, rate
    assert "Traceback" not in text
    assert b"500 created" in out


def test_without_a_terminal_nothing_is_drawn(database, leads_file):
    process = subprocess.run(
        [sys.executable, "manage.py", "import_leads", str(leads_file)],
        cwd=ROOT,
        env=database,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0
    assert process.stderr == ""
