import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def serve_and_get(paths: list[str], tmp_path) -> str:
    """What `manage.py runserver` prints (stdout and stderr) while it answers the given paths, in order."""
    port = free_port()
    environ = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DEBUG": "1"}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            env=environ,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            for path in paths:
                get(f"http://127.0.0.1:{port}{path}")
            time.sleep(0.5)  # the request line is written after the response
        finally:
            server.terminate()
            server.wait(timeout=10)
    return log.read_text()


def test_the_server_prints_each_log_line_once(tmp_path):
    output = serve_and_get(["/no-such-page/"], tmp_path)
    lines = output.splitlines()
    assert lines.count("Not Found: /no-such-page/") == 1, output
    assert sum('"GET /no-such-page/ HTTP/1.1" 404' in line for line in lines) == 1, output
