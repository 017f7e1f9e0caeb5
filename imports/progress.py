"""A running import's progress, heartbeat and cancel request, kept in the "imports" cache.

Not in the ImportRun row: the import writes in one long transaction (on SQLite holding the database's one write
lock), so nothing else could write the row meanwhile. The job (imports.tasks) reports through a `Tracker`, the
admin's status view reads `snapshot`, and Cancel sets a flag that the tracker turns into `Cancelled` at the next
batch, so the import rolls back.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.cache import caches

from core import clock

# No expiry: an expiry is a time on the writing process's clock, and the web and the worker may not share one
# (a few hundred bytes are kept per run).
KEEP_SECONDS = None
SAMPLE_BYTES = 1 << 20  # read to estimate the bytes per row


class Cancelled(Exception):
    """Raised by a run's progress callback (Tracker) to stop it: the import rolls back, the run is recorded
    cancelled (imports.runs)."""


def _cache():
    return caches["imports"]


def _key(run_id: int, what: str) -> str:
    return f"run:{run_id}:{what}"


def request_cancel(run_id: int) -> None:
    _cache().set(_key(run_id, "cancel"), True, KEEP_SECONDS)


def cancel_requested(run_id: int) -> bool:
    return bool(_cache().get(_key(run_id, "cancel")))


def beat(run_id: int) -> None:
    """The job is alive (written by the tracker and, between batches, by the job's heartbeat thread)."""
    _cache().set(_key(run_id, "heartbeat"), clock.now().isoformat(), KEEP_SECONDS)


def last_beat(run_id: int) -> datetime | None:
    value = _cache().get(_key(run_id, "heartbeat"))
    return datetime.fromisoformat(value) if value else None


def forget(run_id: int) -> None:
    """A new run starts clean (run ids can come back after a database is recreated)."""
    _cache().delete_many([_key(run_id, what) for what in ("progress", "heartbeat", "cancel")])


def snapshot(run_id: int) -> dict | None:
    """What the tracker last wrote: rows_done, bytes_done, total_bytes, rows_per_second, seconds_left."""
    return _cache().get(_key(run_id, "progress"))


def bytes_per_row(path: str | Path) -> float:
    """The average size of a line in the first megabyte of the file: turns rows read into bytes read."""
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    return len(head) / max(head.count(b"\n"), 1)


class Tracker:
    """The progress callback of one import job: `tracker(rows_done)` after each batch."""

    def __init__(self, run_id: int, path: str | Path):
        self.run_id = run_id
        self.total_bytes = Path(path).stat().st_size
        self.row_bytes = bytes_per_row(path)
        self.started = clock.now()
        self.write(0)

    def __call__(self, rows_done: int) -> None:
        if cancel_requested(self.run_id):
            raise Cancelled(f"import run {self.run_id} was cancelled")
        self.write(rows_done)

    def write(self, rows_done: int) -> None:
        moment = clock.now()
        # The header line is the first line read: rows + 1 lines are behind us.
        bytes_done = min(int((rows_done + 1) * self.row_bytes), self.total_bytes) if rows_done else 0
        elapsed = (moment - self.started).total_seconds()
        rows_per_second = rows_done / elapsed if elapsed > 0 and rows_done else None
        bytes_per_second = bytes_done / elapsed if elapsed > 0 and bytes_done else None
        _cache().set(
            _key(self.run_id, "progress"),
            {
                "rows_done": rows_done,
                "bytes_done": bytes_done,
                "total_bytes": self.total_bytes,
                "rows_per_second": round(rows_per_second, 1) if rows_per_second else None,
                "seconds_left": round((self.total_bytes - bytes_done) / bytes_per_second) if bytes_per_second else None,
            },
            KEEP_SECONDS,
        )
        beat(self.run_id)
