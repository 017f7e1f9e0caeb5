"""Settings for the lead management system, read from the environment.

Every variable is listed in README.md. Bad values stop start-up with a message
that names the variable.
"""

from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

from crm.env import (
    SettingsError,
    check_secret_key,
    env_bool,
    env_choice,
    env_list,
    env_positive_int,
    env_positive_number,
    env_seconds,
    env_str,
    env_time_zone,
    env_url,
    parse_database_url,
    parse_email_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for: `make run`/`make load` and the test settings (crm/settings_test.py) turn it on.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise SettingsError("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"
elif not DEBUG:
    check_secret_key(SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "crm.apps.CrmAdminConfig",  # django.contrib.admin, with the project's site as admin.site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "crm",
    "core",
    "imports",
    "agents",
    "leads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, right after SecurityMiddleware as whitenoise asks
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it answers locked-out logins
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

# The intake API's docs page (leads.api.OfflineSwagger) is django-ninja's Swagger UI, from the package's own
# template and static files, no CDN: their folders are on the template and static paths. ninja is no installed
# app, so that its module and pydantic load only where the API is used (the URLconf), not in every process at
# start-up (a command, a worker).
NINJA_DIR = Path(find_spec("ninja").origin).parent  # found, not imported
STATICFILES_DIRS = [NINJA_DIR / "static"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_DIR / "templates"],
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
# Persistent connections: each server thread keeps its connection for this many seconds (0: a new connection per
# request, which costs PostgreSQL a backend process each time), and checks it before reusing it after an idle spell,
# so a restarted database costs one failed check, not an error page.
DATABASES["default"]["CONN_MAX_AGE"] = env_seconds("DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # How long a writer waits for SQLite's one write lock before it gives up with a message (core/db_lock.py).
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
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
# Static files are served by the application itself (whitenoise; README, "Serving in production"), the admin's and
# the API docs' (django-ninja ships Swagger UI: /api/v1/docs needs no CDN). With DEBUG off they come from
# STATIC_ROOT, which `manage.py collectstatic` (run by `make serve`) fills with content-hashed copies
# (base.<hash>.css) and their gzip/brotli versions: pages link the hashed names, read from the manifest
# collectstatic writes, and whitenoise marks those names cacheable forever. A page naming a file the manifest
# lacks fails loudly (the manifest storage's strict default): a deployment that skipped collectstatic should
# not look half-styled. With DEBUG on (`make run`, and the test settings, which turn DEBUG on before these lines
# are read; pytest-django only switches it off once they are) the plain storage links plain names and
# whitenoise finds the files in the apps as they are asked for: nothing to collect, edits show at once. The live
# servers of the tests serve static files themselves (Django's StaticFilesHandler) and need no collectstatic
# either. Both whitenoise switches are fixed here, from DEBUG as read at start-up, not from DEBUG at the time the
# middleware is built.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS (README, Configuration): secure by default when DEBUG is off, each overridable; HSTS tells browsers to
# come back over HTTPS only, for SECURE_HSTS_SECONDS (a year; start lower while trying HTTPS out). Behind a
# proxy that ends TLS, TRUST_X_FORWARDED_PROTO=1 makes requests with "X-Forwarded-Proto: https" count as secure
# (only when the proxy sets that header itself, whatever the client sent).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_seconds("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Login throttling (django-axes): AXES_FAILURE_LIMIT wrong passwords for one username from one IP address lock
# that pair out for AXES_COOLOFF_MINUTES (the login answers 429, even with the right password); a successful
# login resets the count. `manage.py axes_reset` lifts every lock at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_positive_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_positive_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# Lead classification thresholds, in days (see leads/classification.py).
LEADS_FRESH_DAYS = env_positive_int("LEADS_FRESH_DAYS", 7)
LEADS_STALE_DAYS = env_positive_int("LEADS_STALE_DAYS", 30)
if LEADS_FRESH_DAYS >= LEADS_STALE_DAYS:
    raise SettingsError(
        f"LEADS_FRESH_DAYS ({LEADS_FRESH_DAYS}) must be smaller than LEADS_STALE_DAYS ({LEADS_STALE_DAYS})."
    )

# The admin's long lists (core/admin_counts.py): a result of more rows than this is paged on the engine's estimate
# of its size, and says so, instead of an exact count, which takes seconds at millions of rows. At least 1,000: a
# smaller estimate could fall within one page or the 200 rows of "Show all", which the admin lists unsliced.
ADMIN_EXACT_COUNT_UP_TO = env_positive_int("ADMIN_EXACT_COUNT_UP_TO", 100_000)
if ADMIN_EXACT_COUNT_UP_TO < 1_000:
    raise SettingsError(f"ADMIN_EXACT_COUNT_UP_TO ({ADMIN_EXACT_COUNT_UP_TO}) must be at least 1000.")

# The intake API (leads/api.py, README "Intake API"). ASSIGN_ON_ARRIVAL: a new open lead gets an agent before the
# answer is sent. A body above API_MAX_BODY_KB (one lead) or API_MAX_BATCH_BODY_KB (a batch of at most 1,000) is
# refused with 413; a key making more than API_RATE_LIMIT requests in a minute gets 429 until the next minute.
ASSIGN_ON_ARRIVAL = env_bool("ASSIGN_ON_ARRIVAL", True)
API_MAX_BODY_KB = env_positive_int("API_MAX_BODY_KB", 256)
API_MAX_BATCH_BODY_KB = env_positive_int("API_MAX_BATCH_BODY_KB", 4096)
API_RATE_LIMIT = env_positive_int("API_RATE_LIMIT", 600)

# Import and export (django-import-export): the library checks the leads.import_lead / export_lead and
# agents.import_agent / export_agent permissions. Admin uploads above IMPORT_MAX_UPLOAD_MB are stopped as they
# stream in (imports.uploads) and refused with a pointer to the import commands; uploads and their rejects files
# are kept in IMPORT_UPLOAD_DIR for a day.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_MAX_UPLOAD_MB = env_positive_int("IMPORT_MAX_UPLOAD_MB", 1024)
IMPORT_UPLOAD_DIR = Path(env_str("IMPORT_UPLOAD_DIR", str(BASE_DIR / "var" / "imports")))
# Uploads above 2.5 MB (FILE_UPLOAD_MAX_MEMORY_SIZE) stream to a temporary file in chunks (Django's default
# upload handlers), then move into the upload's folder: memory stays flat whatever the size.

# Background jobs (Django's tasks framework, the django-tasks backport): the admin's previews and imports run as
# jobs. TASKS_BACKEND=database (the default) keeps the queue in the database, run `manage.py db_worker`; rq
# keeps it in the Redis at REDIS_URL, run `manage.py rqworker --job-class django_tasks_rq.Job` on any number of
# machines; immediate runs a job inside the request that enqueues it (the tests).
TASKS_BACKEND = env_choice("TASKS_BACKEND", "database", ("database", "rq", "immediate"))
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "rq": "django_tasks_rq.RQBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[TASKS_BACKEND],
        "QUEUES": ["default"],
    }
}
TASKS_WORKER_COMMAND = {
    "database": "manage.py db_worker",
    "rq": "manage.py rqworker --job-class django_tasks_rq.Job",
    "immediate": "",
}[TASKS_BACKEND]
RQ_QUEUES = {"default": {"URL": REDIS_URL}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]

# Notifications (leads/notifications.py, README "Notifications"): the agents' emails, sent by a job after the
# assignment commits. EMAIL_URL picks the transport (smtp://user:password@host:25, submission://... for
# STARTTLS on 587, console:// by default, file:///absolute/folder); a failed email is tried again, with a
# growing wait, up to NOTIFY_MAX_ATTEMPTS times. SITE_URL starts the links in the emails.
_email = parse_email_url(env_str("EMAIL_URL", "console://"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or None
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", _email.get("DEFAULT_FROM_EMAIL", "crm@localhost"))
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")
NOTIFY_MAX_ATTEMPTS = env_positive_int("NOTIFY_MAX_ATTEMPTS", 5)

# A running import's progress, heartbeat and cancel request (imports/progress.py) live in the "imports" cache,
# not in the database: the import holds one long transaction. Files under var/cache on one machine; the Redis
# of the jobs when they run on several (TASKS_BACKEND=rq).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "imports": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "crm-imports"}
        if TASKS_BACKEND == "rq"
        else {
            "BACKEND": "core.file_cache.FileCache",
            "LOCATION": env_str("IMPORT_CACHE_DIR", str(BASE_DIR / "var" / "cache" / "imports")),
        }
    ),
}

# Everything goes to the root logger's one console handler at LOG_LEVEL. Django's own configuration gives the
# "django" logger a console handler of its own (when DEBUG is on) that also propagates to root, which printed
# every warning and error (a 404, a 500's traceback) twice: here it keeps no handler and inherits the level.
# runserver's request lines ("django.server") keep Django's handler and format, and do not propagate.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING").upper()},
    "loggers": {"django": {"handlers": [], "level": "NOTSET", "propagate": True}},
}

# Routing (leads/routing.py, README "Routing"): the team whose pool takes the leads no rule matches; empty: every
# agent. A name that matches no team is refused where routing reads it, naming the teams there are.
ROUTING_DEFAULT_TEAM = env_str("ROUTING_DEFAULT_TEAM", "")
# What a pool balances: `open_load`, the open leads each agent holds, or `received`, the leads each received over
# the last ROUTING_WINDOW_DAYS days (days away or before joining create no debt), both divided by the weights.
ROUTING_BALANCE = env_choice("ROUTING_BALANCE", "open_load", ("open_load", "received"))
ROUTING_WINDOW_DAYS = env_positive_int("ROUTING_WINDOW_DAYS", 30)

# SLAs (leads/sla.py, README "SLAs"): the worker runs enforce_sla every SLA_CHECK_MINUTES (a number; fractions of a
# minute are allowed) once the schedule is started (manage.py start_sla_schedule; make run does it).
SLA_CHECK_MINUTES = env_positive_number("SLA_CHECK_MINUTES", 5)
