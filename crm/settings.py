"""Settings for the lead management system, read from the environment.

Every variable is listed in README.md. Bad values stop start-up with a message
that names the variable.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from crm.env import env_bool, env_list, env_positive_int, env_str, env_time_zone, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "crm",
    "agents",
    "leads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": parse_database_url(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # How long a writer waits for SQLite's one write lock before it gives up with a message (crm/db_lock.py).
    DATABASES["default"]["OPTIONS"]["timeout"] = env_positive_int("SQLITE_BUSY_TIMEOUT", 30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

# Lead classification thresholds, in days (see leads/classification.py).
LEADS_FRESH_DAYS = env_positive_int("LEADS_FRESH_DAYS", 7)
LEADS_STALE_DAYS = env_positive_int("LEADS_STALE_DAYS", 30)
if LEADS_FRESH_DAYS >= LEADS_STALE_DAYS:
    raise ImproperlyConfigured(
        f"LEADS_FRESH_DAYS ({LEADS_FRESH_DAYS}) must be smaller than LEADS_STALE_DAYS ({LEADS_STALE_DAYS})."
    )

# Import and export (django-import-export): the library checks the leads.import_lead / export_lead and
# agents.import_agent / export_agent permissions. Admin uploads above IMPORT_MAX_UPLOAD_MB are refused with a
# pointer to the import commands; uploads and their rejects files are kept in IMPORT_UPLOAD_DIR for a day.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_MAX_UPLOAD_MB = env_positive_int("IMPORT_MAX_UPLOAD_MB", 20)
IMPORT_UPLOAD_DIR = Path(env_str("IMPORT_UPLOAD_DIR", str(BASE_DIR / "var" / "imports")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING").upper()},
}
