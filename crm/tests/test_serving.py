"""Serving for real (README, "Serving in production"): gunicorn with DEBUG off, static files by whitenoise.

The server is the real `gunicorn` in a process of its own, with crm/gunicorn_conf.py, on a free port, after
`collectstatic` into a folder of the test: on SQLite a migrated file; on a server database
(DATABASE_URL=postgres://... or mysql://...) the test database, which transactional tests commit to. Requests
carry `X-Forwarded-Proto: https` as a TLS-ending proxy on the same machine sends them (gunicorn trusts it from
127.0.0.1), since DEBUG off redirects plain HTTP to HTTPS. The server reads the machine's clock, which CI moves:
nothing here is dated by the test.
"""

import html.parser
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "kq3J-v8sLw0PzR7tYx2NbC5mHdF9gUe4aKoIiQ1rTy6WcVn_ZpXj"
FOREVER = "max-age=315360000, public, immutable"  # whitenoise's header for a content-hashed name

# What a deployment sets (README, "Serving in production"), for a site at https://crm.example.com.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "crm.example.com,127.0.0.1",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


# Set in this process for the tests only: the test settings' DEBUG=1 and job backend, the browser tests'
# permission for sync database calls beside Playwright's event loop (which check --deploy rightly refuses).
TEST_ONLY = {"DEBUG", "DJANGO_SETTINGS_MODULE", "TASKS_BACKEND", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _clean_env(**extra) -> dict:
    """The machine's environment (a moved clock included) without the variables set for the tests only."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    return {**env, **PRODUCTION, "LOG_LEVEL": "ERROR", **extra}


def _manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_check_deploy_finds_nothing_with_debug_off_and_the_production_variables(tmp_path):
    env = _clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced)."
    assert done.stderr == ""


def test_check_deploy_still_warns_about_a_site_left_on_plain_http(tmp_path):
    env = _clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SECURE_SSL_REDIRECT="0")
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "security.W008" in done.stderr


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"ALLOWED_HOSTS": None}, "make serve: set ALLOWED_HOSTS to the host names the site answers to"),
        ({"SECRET_KEY": None}, "Configuration error: SECRET_KEY must be set when DEBUG is off."),
        ({"WEB_CONCURRENCY": "many"}, "Configuration error: WEB_CONCURRENCY='many' is not a whole number."),
        ({"GUNICORN_TIMEOUT": "0"}, "Configuration error: GUNICORN_TIMEOUT='0' must be a positive whole number."),
    ],
    ids=["no ALLOWED_HOSTS", "no SECRET_KEY", "bad WEB_CONCURRENCY", "bad GUNICORN_TIMEOUT"],
)
def test_make_serve_with_a_missing_or_bad_variable_stops_with_one_line_and_touches_nothing(tmp_path, change, says):
    env = _clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DEBUG="1")  # serve turns DEBUG off
    for name, value in change.items():
        if value is None:
            del env[name]
        else:
            env[name] = value
    venv = Path(sys.executable).parent.parent
    # -o: the virtualenv counts as installed (make would otherwise reinstall it when requirements.txt is newer).
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-o", f"{venv}/.deps", "-o", f"{venv}/bin/python", "serve"],
        cwd=ROOT,
        env={**env, "VENV": str(venv)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(says), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "db.sqlite3").exists()


# ---------------------------------------------------------------------------------------------------------
# gunicorn


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url(tmp_path) -> str:
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


class Gunicorn:
    def __init__(self, port: int, env: dict):
        self.port, self.env = port, env

    def get(self, path: str, headers: dict | None = None, body: dict | None = None):
        """(status, headers, body bytes) of one request over HTTPS as a proxy in front would send it."""
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            sent = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", **(headers or {})}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                sent["Content-Type"] = "application/json"
            client.request("GET" if body is None else "POST", path, body=data, headers=sent)
            response = client.getresponse()
            return response.status, response.headers, response.read()
        finally:
            client.close()


@pytest.fixture
def gunicorn(tmp_path):
    env = _clean_env(DATABASE_URL=_database_url(tmp_path), STATIC_ROOT=str(tmp_path / "static"))
    env.update(WEB_CONCURRENCY="2", GUNICORN_THREADS="2")
    if connection.vendor == "sqlite":
        _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "collectstatic", "--noinput", "-v0")
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "crm/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        served = Gunicorn(port, env)
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if served.get("/admin/login/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)
        yield served
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


class Links(html.parser.HTMLParser):
    """Every href and src of a page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in {"href", "src"} and value]


def links(page: bytes) -> list[str]:
    parser = Links()
    parser.feed(page.decode())
    return parser.urls


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_admin_login_with_its_css_cached_for_ever(gunicorn):
    status, _, page = gunicorn.get("/admin/login/")
    assert status == 200 and b'name="password"' in page
    css = [url for url in links(page) if url.endswith(".css")]
    base = next(url for url in css if url.startswith("/static/admin/css/base."))
    assert base != "/static/admin/css/base.css"  # the hashed name, from collectstatic's manifest
    status, headers, body = gunicorn.get(base)
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert headers["Cache-Control"] == FOREVER
    assert b"--body-fg" in body  # the admin's stylesheet itself
    status, headers, zipped = gunicorn.get(base, {"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip") and len(zipped) < len(body)
    # The plain name is served too, for a page cached from before a deployment, but not for ever.
    status, headers, _ = gunicorn.get("/static/admin/css/base.css")
    assert status == 200 and "immutable" not in headers["Cache-Control"]
    assert gunicorn.get("/static/admin/css/no-such-file.css")[0] == 404


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_api_docs_from_its_own_static_files(gunicorn):
    status, _, page = gunicorn.get("/api/v1/docs")
    assert status == 200
    urls = links(page)
    assert urls and all(url.startswith("/static/ninja/") for url in urls), urls  # offline: nothing from elsewhere
    bundle = next(url for url in urls if url.startswith("/static/ninja/swagger-ui-bundle."))
    for url in urls:
        status, headers, _ = gunicorn.get(url)
        assert (url, status, headers["Cache-Control"]) == (url, 200, FOREVER)
    assert b"SwaggerUIBundle" in gunicorn.get(bundle)[2]
    status, _, schema = gunicorn.get("/api/v1/openapi.json")
    assert status == 200 and json.loads(schema)["info"]["title"] == "CRM intake API"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_gunicorn_takes_a_lead_posted_with_a_key_and_assigns_it(gunicorn):
    _manage(gunicorn.env, "import_agents", str(ROOT / "fixtures" / "agents.csv"), "-v0")
    key = json.loads(_manage(gunicorn.env, "create_api_key", "Web form", "--source", "web", "--json"))["key"]
    lead = {"name": "Served Lead", "email": "Served@Example.org", "company": "Acme"}
    status, _, body = gunicorn.get("/api/v1/leads", {"Authorization": f"Bearer {key}"}, lead)
    assert status == 201, body
    created = json.loads(body)
    assert (created["email"], created["result"]) == ("served@example.org", "created")
    assert created["agent"] is not None
    status, _, body = gunicorn.get("/api/v1/leads", {"Authorization": "Bearer wrong"}, lead)
    assert status == 401
    status, _, body = gunicorn.get("/api/v1/leads?email=served@example.org", {"Authorization": f"Bearer {key}"})
    assert status == 200 and json.loads(body)["source"] == "web"
