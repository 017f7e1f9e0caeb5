import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from crm import env


def test_it_parses_a_postgres_url():
    config = env.parse_database_url("postgres://postgres@127.0.0.1:5432/crm")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["HOST"], config["PORT"]) == ("crm", "postgres", "127.0.0.1", 5432)


def test_it_parses_a_mysql_url_with_utf8mb4():
    config = env.parse_database_url("mysql://root@127.0.0.1:3306/crm")
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert config["OPTIONS"]["charset"] == "utf8mb4"
    assert config["TEST"]["CHARSET"] == "utf8mb4"


def test_it_gives_sqlite_wal_and_a_busy_timeout():
    config = env.parse_database_url("sqlite:////tmp/x.sqlite3")
    assert config["NAME"] == "/tmp/x.sqlite3"
    assert config["ENGINE"] == "core.backends.sqlite3"  # Django's, its writers queued first come, first served
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_default_database_is_sqlite_in_the_project_root(monkeypatch):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','crm.settings');"
            "from django.conf import settings;print(settings.DATABASES['default']['NAME'])",
        ],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(settings.BASE_DIR / "db.sqlite3")


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "")
    assert env.env_str("DATABASE_URL", "sqlite:////x.sqlite3") == "sqlite:////x.sqlite3"


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize(
    ("read", "default"),
    [
        (env.env_str, "x"),
        (env.env_bool, True),
        (env.env_positive_int, 7),
        (env.env_seconds, 30),
        (env.env_list, ["a", "b"]),
        (env.env_time_zone, "Europe/Berlin"),
        (lambda name, default: env.env_choice(name, default, ("x", "y")), "y"),
    ],
)
def test_every_reader_takes_a_set_but_empty_variable_for_unset(monkeypatch, read, default, blank):
    monkeypatch.setenv("X_VALUE", blank)
    assert read("X_VALUE", default) == default


@pytest.mark.parametrize("url", ["oracle://u@h/db", "not a url", "postgres://u@h:5432/", "mysql://root@h:3306"])
def test_it_rejects_unusable_database_urls(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.parse_database_url(url)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("On", True), ("0", False), ("false", False)]
)
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG", not expected) is expected


def test_it_refuses_a_boolean_it_cannot_read(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env.env_bool("X_FLAG", True)


@pytest.mark.parametrize("raw", ["0", "-3", "seven", "1.5"])
def test_it_refuses_non_positive_or_non_integer_days(monkeypatch, raw):
    monkeypatch.setenv("X_DAYS", raw)
    with pytest.raises(ImproperlyConfigured, match="X_DAYS"):
        env.env_positive_int("X_DAYS", 7)


def test_it_refuses_an_unknown_time_zone(monkeypatch):
    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE"):
        env.env_time_zone("TIME_ZONE", "UTC")


def test_the_settings_use_aware_datetimes():
    assert settings.USE_TZ is True


STRONG_KEY = "kq3J-v8sLw0PzR7tYx2NbC5mHdF9gUe4aKoIiQ1rTy6WcVn_ZpXj"


def run_check(*flags, **environ):
    base = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:////tmp/crm-settings-check.sqlite3", "DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", *flags],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={**base, **environ},
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"DEBUG": "perhaps"}, "DEBUG"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": ""}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "x"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "ab" * 40}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": STRONG_KEY[:49]}, "SECRET_KEY"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS"),
        ({"AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT"),
        ({"TIME_ZONE": "Nowhere/Land"}, "TIME_ZONE"),
        ({"DATABASE_URL": "ftp://x/y"}, "DATABASE_URL"),
        ({"LEADS_FRESH_DAYS": "30", "LEADS_STALE_DAYS": "7"}, "LEADS_FRESH_DAYS"),
        ({"LEADS_STALE_DAYS": "0"}, "LEADS_STALE_DAYS"),
        ({"ASSIGN_ON_ARRIVAL": "sometimes"}, "ASSIGN_ON_ARRIVAL"),
        ({"API_RATE_LIMIT": "0"}, "API_RATE_LIMIT"),
        ({"API_MAX_BODY_KB": "256k"}, "API_MAX_BODY_KB"),
        ({"API_MAX_BATCH_BODY_KB": "-1"}, "API_MAX_BATCH_BODY_KB"),
        ({"TASKS_BACKEND": "celery"}, "TASKS_BACKEND"),
        ({"IMPORT_MAX_UPLOAD_MB": "1 GB"}, "IMPORT_MAX_UPLOAD_MB"),
        ({"ADMIN_EXACT_COUNT_UP_TO": "999"}, "ADMIN_EXACT_COUNT_UP_TO"),
        ({"ADMIN_EXACT_COUNT_UP_TO": "many"}, "ADMIN_EXACT_COUNT_UP_TO"),
        ({"DB_CONN_MAX_AGE": "-1"}, "DB_CONN_MAX_AGE"),
        ({"DB_CONN_MAX_AGE": "a minute"}, "DB_CONN_MAX_AGE"),
    ],
)
def test_bad_settings_stop_start_up_with_a_message_naming_the_variable(environ, named):
    result = run_check(**environ)
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("", "django_tasks_db.DatabaseBackend"),
        ("database", "django_tasks_db.DatabaseBackend"),
        ("RQ", "django_tasks_rq.RQBackend"),
        ("immediate", "django_tasks.backends.immediate.ImmediateBackend"),
    ],
)
def test_tasks_backend_picks_the_job_queue_and_where_import_progress_lives(backend, expected):
    shown = (
        "from django.conf import settings as s; print(s.TASKS['default']['BACKEND'], s.CACHES['imports']['BACKEND'])"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", shown],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "TASKS_BACKEND": backend},
    )
    assert result.returncode == 0, result.stderr
    tasks, cache = result.stdout.strip().splitlines()[-1].split()
    assert tasks == expected
    assert cache.endswith("RedisCache" if backend == "RQ" else "FileCache")


def test_the_wsgi_application_stops_on_bad_settings_with_one_line():
    result = subprocess.run(
        [sys.executable, "-c", "import crm.wsgi"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "0"},
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["Configuration error: SECRET_KEY must be set when DEBUG is off."]


def test_good_settings_start_up():
    result = run_check(DEBUG="0", SECRET_KEY=STRONG_KEY, TIME_ZONE="Europe/Berlin", ALLOWED_HOSTS="crm.example")
    assert result.returncode == 0, result.stderr


# Every variable the settings read (README, Configuration), and the settings they end up in.
SETTINGS_VARIABLES = [
    "DATABASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "TRUST_X_FORWARDED_PROTO",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "TIME_ZONE",
    "LEADS_FRESH_DAYS",
    "LEADS_STALE_DAYS",
    "LOG_LEVEL",
    "SQLITE_BUSY_TIMEOUT",
    "IMPORT_MAX_UPLOAD_MB",
    "IMPORT_UPLOAD_DIR",
    "ASSIGN_ON_ARRIVAL",
    "API_MAX_BODY_KB",
    "API_MAX_BATCH_BODY_KB",
    "API_RATE_LIMIT",
    "STATIC_ROOT",
    "ADMIN_EXACT_COUNT_UP_TO",
    "DB_CONN_MAX_AGE",
]
SETTINGS_DUMP = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
from django.conf import settings
names = ["DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASES", "SECURE_SSL_REDIRECT",
         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
         "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "TIME_ZONE",
         "LEADS_FRESH_DAYS", "LEADS_STALE_DAYS", "LOGGING", "IMPORT_MAX_UPLOAD_MB", "IMPORT_UPLOAD_DIR",
         "ASSIGN_ON_ARRIVAL", "API_MAX_BODY_KB", "API_MAX_BATCH_BODY_KB", "API_RATE_LIMIT", "STATIC_ROOT", "STORAGES",
         "ADMIN_EXACT_COUNT_UP_TO"]
print(json.dumps({name: str(getattr(settings, name, None)) for name in names}))
"""


def settings_seen_with(environ: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_DUMP],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **environ},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("given", [{"DEBUG": "1"}, {"SECRET_KEY": STRONG_KEY}], ids=["DEBUG=1", "SECRET_KEY"])
def test_every_variable_set_but_empty_gets_its_default(given):
    empty = {name: "" for name in SETTINGS_VARIABLES if name not in given}
    assert settings_seen_with({**given, **empty}) == settings_seen_with(given)


@pytest.mark.parametrize(
    ("given", "kept"), [({}, 60), ({"DB_CONN_MAX_AGE": "0"}, 0), ({"DB_CONN_MAX_AGE": "600"}, 600)]
)
def test_database_connections_persist_and_are_checked_before_reuse(given, kept):
    database = settings_seen_with({"DEBUG": "1", **given})["DATABASES"]
    assert f"'CONN_MAX_AGE': {kept}," in database
    assert "'CONN_HEALTH_CHECKS': True" in database


def test_debug_is_off_unless_asked_for():
    seen = settings_seen_with({"SECRET_KEY": STRONG_KEY})
    assert seen["DEBUG"] == "False"
    assert (seen["SECURE_SSL_REDIRECT"], seen["SESSION_COOKIE_SECURE"], seen["SECURE_HSTS_SECONDS"]) == (
        "True",
        "True",
        "31536000",
    )


def test_without_debug_or_a_secret_key_start_up_stops_naming_the_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:////tmp/crm-settings-check.sqlite3"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["Configuration error: SECRET_KEY must be set when DEBUG is off."]


HTTPS_WARNINGS = ["security.W004", "security.W008", "security.W012", "security.W016"]


def test_the_deployment_check_finds_https_configured_when_debug_is_off():
    result = run_check("--deploy", DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="crm.example")
    assert result.returncode == 0, result.stderr
    assert [code for code in HTTPS_WARNINGS if code in result.stderr] == [], result.stderr
    assert "security.W009" not in result.stderr


def test_each_https_setting_can_be_turned_off():
    result = run_check(
        "--deploy",
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="crm.example",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="no",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
    )
    assert [code for code in HTTPS_WARNINGS if code in result.stderr] == HTTPS_WARNINGS, result.stderr


def test_static_files_are_hashed_and_compressed_only_with_debug_off():
    on = settings_seen_with({"DEBUG": "1"})["STORAGES"]
    off = settings_seen_with({"SECRET_KEY": STRONG_KEY})["STORAGES"]
    assert "django.contrib.staticfiles.storage.StaticFilesStorage" in on
    assert "whitenoise.storage.CompressedManifestStaticFilesStorage" in off
