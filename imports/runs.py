"""Stand-in for the import history service (create a run, execute it); replaced by the full service.

Only the interface the jobs use: `create_run` records a queued run, `execute` runs the import and records its
outcome on the run; a `progress(rows_done)` callback that raises `Cancelled` rolls the import back and the run
ends cancelled.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from core.clock import now
from imports.loading import ImportResult, load_file
from imports.models import ImportRun
from imports.reading import DEFAULT_CHUNK_ROWS, RefusedFile


class Cancelled(Exception):
    """Raised by a progress callback to stop an import: nothing of it is written."""


def create_run(
    *, schema, source: str, user=None, path, file_name: str | None = None, dry_run: bool, options: dict
) -> ImportRun:
    path = Path(path)
    return ImportRun.objects.create(
        kind=schema.kind,
        source=source,
        user=user,
        file_name=file_name or path.name,
        file_size=path.stat().st_size if path.is_file() else 0,
        dry_run=dry_run,
        options=options,
    )


def _record(run: ImportRun, **fields) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    ImportRun.objects.filter(pk=run.pk).update(**fields)


def execute(run: ImportRun, *, schema, path, progress=None) -> ImportResult:
    _record(run, status=ImportRun.Status.RUNNING, started_at=now(), worker=f"{socket.gethostname()}:{os.getpid()}")
    options = run.options or {}
    try:
        result = load_file(
            path,
            schema,
            dry_run=run.dry_run,
            dayfirst=bool(options.get("dayfirst")),
            batch_size=int(options.get("batch_size") or DEFAULT_CHUNK_ROWS),
            sample_size=int(options.get("sample_size") or 0),
            progress=progress,
        )
    except Cancelled:
        _record(run, status=ImportRun.Status.CANCELLED, finished_at=now())
        raise
    except (RefusedFile, Exception) as exc:
        _record(run, status=ImportRun.Status.FAILED, finished_at=now(), error=str(exc))
        raise
    _record(
        run,
        status=ImportRun.Status.PREVIEWED if run.dry_run else ImportRun.Status.DONE,
        finished_at=now(),
        rows_done=result.rows,
        bytes_done=run.file_size,
        rows=result.rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        merged_duplicates=result.merged_duplicates,
        rejected=result.rejected,
    )
    return result
