"""Waiting for other writers: reads that never take a write lock, and a clear message when a lock wait times out
(or the user presses Ctrl-C).

SQLite runs every atomic block as BEGIN IMMEDIATE (crm/env.py), which takes the database's one write lock at
once. Work that only reads must not queue behind a long writer for that lock: read_snapshot() opens a plain
(deferred) transaction instead, which in WAL mode reads one consistent snapshot and never waits.
"""

from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import OperationalError, connection, transaction

# Exit code of a command that could not get a lock in time: EX_TEMPFAIL (sysexits.h), "try again later".
LOCK_TIMEOUT_EXIT = 75
MYSQL_LOCK_WAIT_TIMEOUT = 1205


def is_lock_timeout(exc: BaseException) -> bool:
    """True for "another transaction held the lock longer than we would wait" on any engine."""
    if not isinstance(exc, OperationalError):
        return False
    if connection.vendor == "mysql":
        return bool(exc.args) and exc.args[0] == MYSQL_LOCK_WAIT_TIMEOUT
    return "database is locked" in str(exc)


def lock_timeout_message() -> str:
    if connection.vendor == "sqlite":
        waited = f"more than {connection.settings_dict['OPTIONS'].get('timeout', 5)} s"
    else:
        waited = "longer than the database waits"
    return f"The database is busy: another write held its lock for {waited}. Nothing was written; try again."


@contextmanager
def read_snapshot():
    """Read one consistent state without taking (or waiting for) a write lock."""
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor != "sqlite":
        with transaction.atomic():  # MVCC: reads never wait for writers
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")  # nothing was written: this only ends the snapshot


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
