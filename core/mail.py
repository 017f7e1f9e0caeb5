"""The console email backend of the project (EMAIL_URL=console://, the default): Django's, on stderr.

Django's own writes to stdout, which is where the commands print their results (`assign_leads --json`): an
email sent by a job that runs inside a command (TASKS_BACKEND=immediate) would break the JSON.
"""

import sys

from django.core.mail.backends.console import EmailBackend


class StderrEmailBackend(EmailBackend):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)
