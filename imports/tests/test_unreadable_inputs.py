"""Anything that is not a readable regular file is refused (exit 2) with the true reason, and never hangs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm.env import env_str
from imports import reading
from leads.importing import LEAD_SCHEMA

ROOT = Path(__file__).resolve().parents[2]


def import_in_a_process(path, tmp_path, prefix=()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "manage.py", "import_leads", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO opened for reading blocks until a writer comes: the timeout turns that into a failure
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DEBUG": "1"},
    )


def assert_refused(process: subprocess.CompletedProcess, message: str) -> None:
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr
    assert process.stderr.strip() == f"CommandError: {message}"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "leads.csv"
    os.mkfifo(fifo)
    assert_refused(import_in_a_process(fifo, tmp_path), f"{fifo}: is a named pipe (FIFO), not a file.")


def test_a_loop_of_symbolic_links_is_named_as_such(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.symlink_to(second)
    second.symlink_to(first)
    assert_refused(
        import_in_a_process(first, tmp_path), f"{first}: a loop of symbolic links (it never reaches a file)."
    )


def test_a_regular_file_that_cannot_be_read_is_refused_with_the_error():
    # /proc/self/mem is a regular file that anyone may open, whose first read fails (EIO).
    with pytest.raises(reading.RefusedFile, match=r"^/proc/self/mem: cannot be read \(Input/output error\)\.$"):
        reading.open_source("/proc/self/mem", LEAD_SCHEMA)


@pytest.mark.parametrize(("path", "what"), [("/dev/null", "is a character device"), ("/tmp", "is a folder")])
def test_devices_and_folders_are_not_files(path, what):
    with pytest.raises(reading.RefusedFile, match=f"^{path}: {what}, not a file.$"):
        reading.open_source(path, LEAD_SCHEMA)


def test_a_file_without_read_permission_is_refused_as_such(tmp_path):
    # Root reads any file whatever its mode, so the command runs as `nobody` (util-linux's setpriv) when the tests
    # run as root.
    folder = Path(env_str("TMPDIR", "/tmp")) / f"unreadable-{os.getpid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    secret = folder / "leads.csv"
    secret.write_text("name,email,created_at\nAda,ada@example.org,2026-11-01\n")
    secret.chmod(0o000)
    try:
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        process = import_in_a_process(secret, folder, prefix=as_nobody)
        assert_refused(process, f"{secret}: cannot be read (permission denied).")
    finally:
        secret.unlink()
        folder.rmdir()
