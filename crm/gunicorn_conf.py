"""gunicorn's settings for `make serve` (README, "Serving in production"), read from the environment.

The address comes from the command line (`--bind HOST:PORT`, set by the Makefile). A bad value stops with one
line naming the variable, as the project's settings do (crm/env.py): `make serve` imports this module before
anything else, since gunicorn itself reads WEB_CONCURRENCY as it starts and fails on a bad one with a
traceback.
"""

from crm.env import env_positive_int, one_line_settings_errors

wsgi_app = "crm.wsgi:application"

with one_line_settings_errors():
    # Worker processes: each holds its own database connection per thread and answers one request per thread.
    workers = env_positive_int("WEB_CONCURRENCY", 2)
    threads = env_positive_int("GUNICORN_THREADS", 4)
    # A request still running after this many seconds is killed with its worker (and its transaction rolled
    # back); long work belongs in a background job.
    timeout = env_positive_int("GUNICORN_TIMEOUT", 30)
    # How long an idle keep-alive connection is held open (behind a proxy that reuses its connections).
    keepalive = env_positive_int("GUNICORN_KEEPALIVE", 5)

# Connections waiting to be accepted: room for bursts of clients (the intake's 50 at once).
backlog = 2048
# Request lines to stdout, errors to stderr: whatever runs the process (systemd, a container) keeps them.
accesslog = "-"
errorlog = "-"
