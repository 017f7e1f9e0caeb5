"""Reading settings from the environment, failing loudly on values that make no sense.

A typo in an environment variable should stop the process at start-up with a
message naming the variable, not surface later as a confusing runtime error.
One rule for every variable: set but empty (or only spaces) counts as unset, so
`DATABASE_URL= make test` or `DEBUG=` in a deployment's file means the default.
"""

import os
import sys
import urllib.parse
import zoneinfo
from contextlib import contextmanager

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured


class SettingsError(ImproperlyConfigured):
    """A bad environment variable: start-up stops with this one-line message (see one_line_settings_errors)."""


@contextmanager
def one_line_settings_errors():
    """Around start-up (manage.py, the WSGI/ASGI application): a bad variable prints one line, no traceback."""
    try:
        yield
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def _read(name: str) -> str | None:
    """The variable's value as written, or None when it is unset or empty: every helper reads through here."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    return raw


def env_str(name: str, default: str) -> str:
    raw = _read(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool) -> bool:
    raw = _read(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def env_positive_int(name: str, default: int) -> int:
    raw = _read(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number.") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be a positive whole number.")
    return value


def env_positive_number(name: str, default: float) -> float:
    raw = _read(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number.") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a positive number.")
    return value


def env_seconds(name: str, default: int) -> int:
    """A whole number of seconds, 0 or more."""
    raw = _read(name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise SettingsError(f"{name}={raw!r} must be a whole number of seconds, 0 or more.")
    return int(raw.strip())


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _read(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word not in choices:
        raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}.")
    return word


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _read(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str) -> str:
    """An absolute http(s) address, without its trailing slash."""
    value = env_str(name, default).strip().rstrip("/")
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}={value!r} is not an http(s) address (http://crm.example.org).")
    return value


def env_time_zone(name: str, default: str) -> str:
    value = env_str(name, default).strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name}={value!r} is not a known time zone (try UTC or Europe/Berlin).") from None
    return value


SQLITE_OPTIONS = {
    # WAL lets the admin read while a command writes; IMMEDIATE takes the write
    # lock when a transaction starts, so two writers queue on the busy timeout
    # instead of failing with "database is locked" on lock upgrade.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}

MYSQL_OPTIONS = {
    "charset": "utf8mb4",
    "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    "isolation_level": "read committed",
}


SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5


def check_secret_key(key: str) -> None:
    """Refuse a guessable key: Django's own rule for a strong one (check --deploy, security.W009)."""
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        raise SettingsError(
            f"SECRET_KEY is too weak for DEBUG off: it needs at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} of them different (python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))' makes one)."
        )


def parse_database_url(url: str, name: str = "DATABASE_URL") -> dict:
    """Turn a DATABASE_URL into Django's DATABASES entry, with per-engine options."""
    try:
        config = dj_database_url.parse(url, conn_max_age=0)
    except (ValueError, KeyError) as exc:
        raise SettingsError(f"{name}={url!r} is not a usable database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        if not config.get("NAME"):
            raise SettingsError(f"{name}={url!r} names no SQLite file (use sqlite:////absolute/path.sqlite3).")
        config["ENGINE"] = "core.backends.sqlite3"  # Django's, with a first-come, first-served writer queue
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    elif engine.endswith("postgresql"):
        if not config.get("NAME"):
            raise SettingsError(f"{name}={url!r} names no database (postgres://user@host:5432/dbname).")
    elif engine.endswith("mysql"):
        if not config.get("NAME"):
            raise SettingsError(f"{name}={url!r} names no database (mysql://user@host:3306/dbname).")
        config["OPTIONS"] = {**MYSQL_OPTIONS, **config.get("OPTIONS", {})}
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    else:
        raise SettingsError(f"{name}={url!r}: only sqlite, postgres and mysql URLs are supported.")
    return config


EMAIL_DEFAULT_TIMEOUT = 30  # seconds: an SMTP server that stops answering must not hold a job worker forever


def parse_email_url(url: str, name: str = "EMAIL_URL") -> dict:
    """Django's EMAIL_* settings from an EMAIL_URL (dj-email-url): smtp://, submission:// (STARTTLS on 587),
    console://, file:///absolute/folder, memory://, dummy://."""
    try:
        config = dj_email_url.parse(url.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={url!r} is not a usable email URL: {exc}") from None
    if "EMAIL_BACKEND" not in config:
        schemes = ", ".join(sorted(dj_email_url.SCHEMES))
        raise SettingsError(f"{name}={url!r}: the scheme must be one of {schemes}.")
    if config["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        # dj-email-url drops the path's first slash (file:///var/mail -> var/mail): keep the absolute folder.
        config["EMAIL_FILE_PATH"] = urllib.parse.unquote(urllib.parse.urlsplit(url.strip()).path)
        if config["EMAIL_FILE_PATH"] in ("", "/"):
            raise SettingsError(f"{name}={url!r} names no folder (file:///absolute/folder).")
    if config["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
        config["EMAIL_BACKEND"] = "core.mail.StderrEmailBackend"  # stdout is the commands' output
    if config["EMAIL_TIMEOUT"] is None:
        config["EMAIL_TIMEOUT"] = EMAIL_DEFAULT_TIMEOUT
    return config
