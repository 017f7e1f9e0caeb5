"""The import history service: every import (a command or the admin, dry runs included) is an ImportRun.

    run = create_run(schema=LEAD_SCHEMA, source="import_leads", path=path, dry_run=False, options={...})
    result = execute(run, schema=LEAD_SCHEMA, path=path, progress=callback)

`create_run` records a queued run; `execute` marks it running (started_at, worker "host:pid"), loads the file
(imports.loading.load_file, which keeps the run's before-images for a revert: imports.history) and records the
outcome: previewed (a dry run), done, failed (the error; nothing was written) or cancelled (the progress callback
raised Cancelled; nothing was written), with the counts. The run's started_at is also the import's clock: the
timestamps it writes on records, by which a revert tells the records changed since (imports.reverting).

A process killed mid-import (kill -9) cannot record anything: its transaction is rolled back by the database and
its run stays `running`. `fail_abandoned_runs` marks such runs failed once their process is gone; the admin's
list of runs and the revert command call it, so a run shows what happened after a restart.

Options (`ImportRun.options`, plain JSON): dayfirst (bool), batch_size (int), sample_size (int: preview rows),
rejects_path (str: where load_file writes the rejects).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.db import OperationalError

from core import clock, sql
from imports.history import before_columns
from imports.loading import ImportResult, load_file
from imports.models import ImportRun
from imports.progress import Cancelled
from imports.reading import DEFAULT_CHUNK_ROWS
from imports.schema import Schema

Status = ImportRun.Status

ABANDONED = "the process running it stopped (killed?) before the end; nothing was written"
INTERRUPTED = "interrupted (Ctrl-C) before the end; nothing was written"
CANCELLED = "cancelled before the end; nothing was written"


class NotQueued(Exception):
    """Raised by execute for a run that is no longer queued (cancelled before a worker picked it up)."""


def worker_name() -> str:
    """host:pid of this process, as a run records who runs it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def create_run(
    *,
    schema: Schema,
    source: str,
    user=None,
    path: str | Path,
    file_name: str | None = None,
    dry_run: bool,
    options: dict,
) -> ImportRun:
    """A queued run of importing `path` (its size read from disk now; 0 when it cannot be read)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return ImportRun.objects.create(
        kind=schema.kind,
        source=source,
        user=user if user is not None and user.is_authenticated else None,
        file_name=file_name or path.name,
        file_size=size,
        dry_run=dry_run,
        options=options,
        queued_at=clock.now(),
    )


def execute(
    run: ImportRun, *, schema: Schema, path: str | Path, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Run the import of a queued run and record its outcome (see the module docstring).

    Raises what load_file raises (RefusedFile, a lock timeout, KeyboardInterrupt ...) and Cancelled, after
    recording the run failed or cancelled: nothing of it was written; NotQueued, recording nothing, for a run
    that is no longer queued.
    """
    run.status, run.started_at, run.worker = Status.RUNNING, clock.now(), worker_name()
    # The columns of the before-images its changes keep, in their order (imports.history).
    run.before_columns = [] if run.dry_run else [list(column) for column in before_columns(schema)]
    # Claimed only while still queued: a cancel of the queued run (cancel_queued) at the same moment either
    # comes first, and the run is not executed, or finds it running.
    claimed = ImportRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
        status=run.status, started_at=run.started_at, worker=run.worker, before_columns=run.before_columns
    )
    if not claimed:
        run.refresh_from_db()
        raise NotQueued(f"import run {run.pk} is {run.status}, no longer queued")
    options = run.options or {}
    try:
        result = load_file(
            path,
            schema,
            dry_run=run.dry_run,
            dayfirst=bool(options.get("dayfirst", False)),
            batch_size=int(options.get("batch_size", DEFAULT_CHUNK_ROWS)),
            rejects_path=options.get("rejects_path"),
            sample_size=int(options.get("sample_size", 0)),
            now=run.started_at,
            progress=progress,
            run=run,
        )
    except Cancelled:
        _record_failure(run, Status.CANCELLED, CANCELLED)
        raise
    except KeyboardInterrupt:
        _record_failure(run, Status.FAILED, INTERRUPTED)
        raise
    except BaseException as exc:
        _record_failure(run, Status.FAILED, _error_text(exc))
        raise
    run.status = Status.PREVIEWED if run.dry_run else Status.DONE
    for name in ("rows", "created", "updated", "unchanged", "merged_duplicates", "rejected"):
        setattr(run, name, getattr(result, name))
    run.rows_done = result.rows
    run.rejects_file = result.rejects_file or ""
    run.finished_at = clock.now()
    run.save()
    return result


def cancel_queued(run_id: int, *, as_of: datetime) -> bool:
    """Cancel a run that no worker has picked up yet; False when it is no longer queued.

    One conditional UPDATE: a worker claiming the run at the same moment (execute) either finds it cancelled
    and leaves it, or has claimed it first and this changes nothing (a running job is stopped through
    imports.progress.request_cancel instead).
    """
    return bool(
        ImportRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
            status=Status.CANCELLED, error=CANCELLED, finished_at=as_of
        )
    )


def record_rejects_file(run: ImportRun, path: str) -> None:
    """The rejects were written after the run (the command checks and writes its --rejects itself)."""
    run.rejects_file = path
    run.save(update_fields=["rejects_file"])


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


def _record_failure(run: ImportRun, status: str, error: str) -> None:
    run.status, run.error, run.finished_at = status, error, clock.now()
    # When the database itself failed the run stays running, and fail_abandoned_runs ends it later: the original
    # error is what the caller must see.
    with contextlib.suppress(Exception):
        run.save(update_fields=["status", "error", "finished_at"])


def fail_abandoned_runs(as_of: datetime) -> int:
    """Mark failed the queued or running runs whose process (on this host) is gone; return how many.

    A run of another host cannot be checked from here and is left as it is.
    """
    host = socket.gethostname()
    stuck = ImportRun.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).exclude(worker="")
    gone = [pk for pk, worker in stuck.values_list("pk", "worker") if _process_is_gone(worker, host)]
    if not gone:
        return 0
    try:
        return ImportRun.objects.filter(pk__in=gone, status__in=[Status.QUEUED, Status.RUNNING]).update(
            status=Status.FAILED, error=ABANDONED, finished_at=as_of
        )
    except OperationalError as exc:  # SQLite: another import holds the write lock; the next listing marks them
        if not sql.is_lock_timeout(exc):
            raise
        return 0


def _process_is_gone(worker: str, host: str) -> bool:
    name, _, pid_text = worker.rpartition(":")
    if name != host or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    try:  # a killed process not yet reaped by its parent still answers kill(0)
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
