"""Waiting for other writers, as the commands report it: a lock wait that timed out or Ctrl-C is one line.

What differs per engine (what counts as a lock timeout, how long a writer waits, reads that take no write
lock) lives in core.sql; the names are re-exported here for the commands and the admin.
"""

import functools

from django.contrib import messages
from django.core.management.base import CommandError
from django.db import OperationalError

from core.sql import LockTimeout, is_lock_timeout, lock_timeout_message, read_snapshot

__all__ = [
    "INTERRUPTED_EXIT",
    "LOCK_TIMEOUT_EXIT",
    "LockTimeout",
    "OneLineFailures",
    "busy_as_message",
    "is_lock_timeout",
    "lock_timeout_message",
    "read_snapshot",
]

# Exit code of a command that could not get a lock in time: EX_TEMPFAIL (sysexits.h), "try again later".
LOCK_TIMEOUT_EXIT = 75

# Exit code of a command stopped by Ctrl-C (SIGINT), as shells report it: 128 + 2.
INTERRUPTED_EXIT = 130


class OneLineFailures:
    """A management command mixin: a lock wait that times out (exit 75) or Ctrl-C (exit 130) is one line, not a
    traceback. Every such command writes in one transaction, which the interrupt rolls back."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except KeyboardInterrupt:
            raise CommandError("Interrupted: nothing was written.", returncode=INTERRUPTED_EXIT) from None
        except OperationalError as exc:
            if not is_lock_timeout(exc):
                raise
            raise CommandError(lock_timeout_message(), returncode=LOCK_TIMEOUT_EXIT) from None


def busy_as_message(failed: str):
    """Decorate an admin action (under @admin.action): when it cannot get a lock in time it shows
    "<failed> The database is busy: ..." (nothing was written) and returns to the changelist instead of
    answering 500."""

    def decorate(action):
        @functools.wraps(action)
        def run(modeladmin, request, queryset):
            try:
                return action(modeladmin, request, queryset)
            except OperationalError as exc:
                if not is_lock_timeout(exc):
                    raise
                modeladmin.message_user(request, f"{failed} {lock_timeout_message()}", messages.ERROR)
                return None

        return run

    return decorate
