"""EMAIL_URL, DEFAULT_FROM_EMAIL, SITE_URL and NOTIFY_MAX_ATTEMPTS: read from the environment, loud when wrong."""

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from crm import env

SHOWN = [
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "EMAIL_FILE_PATH",
    "DEFAULT_FROM_EMAIL",
    "SITE_URL",
    "NOTIFY_MAX_ATTEMPTS",
]
DUMP = (
    "import json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'crm.settings');"
    "from django.conf import settings;"
    f"print(json.dumps({{n: getattr(settings, n) for n in {SHOWN!r}}}))"
)


def seen_with(**environ):
    return subprocess.run(
        [sys.executable, "-c", DUMP],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", **environ},
    )


def test_by_default_emails_go_to_the_console_from_crm_at_localhost():
    seen = json.loads(seen_with().stdout)
    assert seen["EMAIL_BACKEND"] == "core.mail.StderrEmailBackend"
    assert (seen["DEFAULT_FROM_EMAIL"], seen["SITE_URL"], seen["NOTIFY_MAX_ATTEMPTS"]) == (
        "crm@localhost",
        "http://127.0.0.1:8000",
        5,
    )
    assert seen["EMAIL_TIMEOUT"] == env.EMAIL_DEFAULT_TIMEOUT


def test_empty_variables_get_their_defaults():
    empty = dict.fromkeys(("EMAIL_URL", "DEFAULT_FROM_EMAIL", "SITE_URL", "NOTIFY_MAX_ATTEMPTS"), "")
    assert json.loads(seen_with(**empty).stdout) == json.loads(seen_with().stdout)


def test_an_smtp_url_sets_the_server_login_and_starttls():
    seen = json.loads(
        seen_with(
            EMAIL_URL="submission://crm%40example.org:s3cr%2Ft@smtp.example.org/?timeout=10",
            DEFAULT_FROM_EMAIL="CRM <crm@example.org>",
            SITE_URL="https://crm.example.org/",
            NOTIFY_MAX_ATTEMPTS="3",
        ).stdout
    )
    assert seen["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (seen["EMAIL_HOST"], seen["EMAIL_PORT"], seen["EMAIL_USE_TLS"], seen["EMAIL_USE_SSL"]) == (
        "smtp.example.org",
        587,
        True,
        False,
    )
    assert (seen["EMAIL_HOST_USER"], seen["EMAIL_HOST_PASSWORD"], seen["EMAIL_TIMEOUT"]) == (
        "crm@example.org",
        "s3cr/t",
        10,
    )
    assert (seen["DEFAULT_FROM_EMAIL"], seen["SITE_URL"], seen["NOTIFY_MAX_ATTEMPTS"]) == (
        "CRM <crm@example.org>",
        "https://crm.example.org",
        3,
    )


def test_a_file_url_keeps_its_absolute_folder():
    assert env.parse_email_url("file:///var/spool/crm-mail")["EMAIL_FILE_PATH"] == "/var/spool/crm-mail"


@pytest.mark.parametrize("url", ["ftp://mail.example.org", "file://", "smtp://h:99999/", "smtp://h/?timeout=soon"])
def test_it_rejects_unusable_email_urls(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env.parse_email_url(url)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"EMAIL_URL": "pigeon://loft"}, "EMAIL_URL"),
        ({"SITE_URL": "crm.example.org"}, "SITE_URL"),
        ({"NOTIFY_MAX_ATTEMPTS": "0"}, "NOTIFY_MAX_ATTEMPTS"),
    ],
)
def test_bad_email_settings_stop_start_up_with_a_message_naming_the_variable(environ, named):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "1",
            "DATABASE_URL": "sqlite:////tmp/crm-email-check.sqlite3",
            **environ,
        },
    )
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Configuration error:") and named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_console_backend_writes_to_stderr_not_to_the_commands_output(capsys):
    from django.core.mail import EmailMessage

    from core.mail import StderrEmailBackend

    EmailMessage("Hi", "Body", "crm@localhost", ["ann@sales.test"], connection=StderrEmailBackend()).send()
    out, err = capsys.readouterr()
    assert out == "" and "Subject: Hi" in err
