"""The import job: a run recorded by the admin (imports.runs.create_run) is executed by a worker.

Thin and safe to run twice: a run that is no longer queued is left alone. While the import runs, its progress
and a heartbeat go to the cache (imports.progress) and a Cancel there stops it with nothing written. When it
ends, the job leaves beside the uploaded file what the admin shows of it: the rejected rows (rejects.csv) and a
report (run-<id>.json: counts, sample rows, merged duplicates, the first rejects, dates that only read
day-first).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pandas as pd
from django.conf import settings
from django_tasks import task

from imports import progress
from imports.loading import ImportResult
from imports.models import ImportRun
from imports.reading import RefusedFile, open_source
from imports.runs import Cancelled, NotQueued, execute
from imports.schema import Schema, schema_for
from imports.values import dayfirst_only

PREVIEW_ROWS = 20
HEARTBEAT_SECONDS = 5


def report_path(run: ImportRun) -> Path:
    return Path(run.options["path"]).parent / f"run-{run.pk}.json"


def rejects_path(run: ImportRun) -> Path:
    return Path(run.options["path"]).parent / "rejects.csv"


@task()
def run_import(run_id: int) -> dict:
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None or run.status != ImportRun.Status.QUEUED:
        return {"run": run_id, "status": run.status if run else "missing"}
    schema = schema_for(run.kind)
    path = Path(run.options["path"])
    stop = threading.Event()
    beating = threading.Thread(target=_heartbeat, args=(run.pk, stop), name=f"import-{run.pk}-heartbeat", daemon=True)
    beating.start()
    try:
        tracker = progress.Tracker(run.pk, path) if path.is_file() else None
        result = execute(run, schema=schema, path=path, progress=tracker)
    except (Cancelled, RefusedFile, NotQueued):  # recorded on the run by execute, or cancelled while queued
        run.refresh_from_db()
        return {"run": run_id, "status": run.status}
    finally:
        stop.set()
        beating.join()
        progress.forget(run.pk)  # the run's row tells the rest; the cache keeps nothing of an ended run
    result.write_rejects(rejects_path(run))
    report_path(run).write_text(json.dumps(report(result, schema, path, run), default=_plain), encoding="utf-8")
    if not run.dry_run:
        path.unlink(missing_ok=True)  # imported: the same upload cannot be confirmed twice
    return {"run": run_id, "status": run.status}


def _heartbeat(run_id: int, stop: threading.Event) -> None:
    # Short sleeps, not stop.wait(HEARTBEAT_SECONDS): a timed wait computes its deadline on the clock, which a
    # moved machine clock (faketime) can put out of reach.
    while not stop.is_set():
        progress.beat(run_id)
        for _ in range(round(HEARTBEAT_SECONDS / 0.1)):
            if stop.is_set():
                return
            time.sleep(0.1)


def report(result: ImportResult, schema: Schema, path: Path, run: ImportRun) -> dict:
    """What the admin shows of a finished run."""
    return {
        **result.to_dict(),
        "samples": result.samples,
        "merged": result.merged,
        "identity": result.identity,
        "rejects_preview": rejects_preview(result.rejects),
        "dayfirst_only": [] if run.options.get("dayfirst") else dates_only_dayfirst(result.rejects, schema, path),
    }


def rejects_preview(rejects: pd.DataFrame) -> list[dict]:
    frame = rejects.head(PREVIEW_ROWS).reset_index()
    columns = [c for c in frame.columns if c not in ("line", "reason")]
    return [
        {
            "line": row["line"],
            "reason": row["reason"],
            "values": ", ".join(f"{c}={row[c]}" for c in columns if str(row[c]).strip()),
        }
        for row in frame.astype(object).where(frame.notna(), "").to_dict("records")
    ]


def dates_only_dayfirst(rejects: pd.DataFrame, schema: Schema, path: Path) -> list[dict]:
    """Per date column: how many rejected values would read day-first (30/11/2026), and the first of them."""
    if not len(rejects):
        return []
    source = open_source(path, schema)
    found = []
    for field in schema.fields:
        header = source.columns.get(field.name)
        if field.sql_type != "datetime" or header not in rejects:
            continue
        values = rejects[header]
        hits = values[dayfirst_only(values, time_zone=settings.TIME_ZONE).to_numpy()]
        if len(hits):
            found.append({"column": header, "count": len(hits), "example": str(hits.iloc[0]).strip()})
    return found


def _plain(value):
    """JSON for what the database and pandas hand back: dates as ISO text, numpy numbers as numbers."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
