"""The import history: every import, dry runs and failures included, is an ImportRun (imports.runs)."""

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import FROZEN_AT
from imports import runs
from imports.models import ImportChange, ImportRun
from imports.reading import RefusedFile
from imports.schema import schema_for
from leads.importing import LEAD_SCHEMA
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HEADER = "name,email,company,created_at\n"


def write(tmp_path, text, name="leads.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_json(*args) -> dict:
    out = StringIO()
    call_command("import_leads", *map(str, args), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_registry_finds_each_apps_schema_by_kind():
    assert schema_for("lead") is LEAD_SCHEMA
    assert schema_for("agent").table == "agents_agent"
    with pytest.raises(LookupError, match="No import schema of kind 'invoice' \\(known: agent, lead\\)"):
        schema_for("invoice")


def test_a_command_import_is_a_done_run_with_its_counts_and_its_json_names_it(tmp_path):
    LeadFactory(email="old@example.org", name="Old", company="Before")
    path = write(
        tmp_path,
        HEADER + "Ada,ada@example.org,Acme,2026-11-01\nOld,old@example.org,After,2026-11-01\nNo Email,,X,2026-11-01\n",
    )
    summary = import_json(path)
    run = ImportRun.objects.get(pk=summary["run"])
    assert (run.kind, run.source, run.status, run.dry_run) == ("lead", "import_leads", "done", False)
    assert (run.file_name, run.file_size) == ("leads.csv", path.stat().st_size)
    assert (run.rows, run.created, run.updated, run.unchanged, run.rejected) == (3, 1, 1, 0, 1)
    assert run.started_at == FROZEN_AT and run.finished_at == FROZEN_AT
    assert run.worker == f"{socket.gethostname()}:{os.getpid()}"
    assert run.options == {"dayfirst": False, "batch_size": 50_000}
    changes = {c.identity: c for c in ImportChange.objects.filter(run=run)}
    assert set(changes) == {"ada@example.org", "old@example.org"}
    assert changes["ada@example.org"].action == "created" and changes["ada@example.org"].before is None
    assert changes["ada@example.org"].record_id == Lead.objects.get(email="ada@example.org").pk
    assert changes["old@example.org"].action == "updated"
    before = changes["old@example.org"].before_values()
    assert before["company"] == "Before" and before["company_key"] == "before" and before["name"] == "Old"
    assert list(before) == [name for name, _ in run.before_columns]
    assert "email" not in before and "updated_at" in before


def test_a_dry_run_is_a_previewed_run_with_counts_and_no_before_images(tmp_path):
    summary = import_json(write(tmp_path, HEADER + "Ada,ada@example.org,Acme,2026-11-01\n"), "--dry-run")
    run = ImportRun.objects.get(pk=summary["run"])
    assert (run.status, run.dry_run, run.rows, run.created) == ("previewed", True, 1, 1)
    assert not Lead.objects.exists()
    assert not ImportChange.objects.exists()


def test_the_rejects_file_of_the_command_is_recorded(tmp_path):
    rejects = tmp_path / "rejects.csv"
    summary = import_json(write(tmp_path, HEADER + "No Email,,X,2026-11-01\n"), "--rejects", rejects)
    assert ImportRun.objects.get(pk=summary["run"]).rejects_file == str(rejects)


def test_a_file_refused_while_importing_is_a_failed_run_with_the_reason(tmp_path):
    path = write(tmp_path, "name,company\nAda,Acme\n")
    with pytest.raises(CommandError, match="missing required column") as error:
        import_json(path)
    assert error.value.returncode == 2
    run = ImportRun.objects.get()
    assert run.status == "failed" and "missing required column(s): email" in run.error
    assert run.finished_at == FROZEN_AT


def test_a_missing_file_is_refused_before_any_run_is_recorded(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        import_json(tmp_path / "missing.csv")
    assert not ImportRun.objects.exists()


def test_a_run_cancelled_by_its_progress_writes_nothing_and_is_recorded_cancelled(tmp_path):
    LeadFactory(email="old@example.org", company="Before")
    path = write(tmp_path, HEADER + "Ada,ada@example.org,Acme,2026-11-01\nOld,old@example.org,After,2026-11-01\n")
    run = runs.create_run(schema=LEAD_SCHEMA, source="admin", path=path, dry_run=False, options={"batch_size": 1})
    assert run.status == "queued" and run.file_size == path.stat().st_size

    def progress(rows):
        raise runs.Cancelled

    with pytest.raises(runs.Cancelled):
        runs.execute(run, schema=LEAD_SCHEMA, path=path, progress=progress)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.error == runs.CANCELLED
    assert list(Lead.objects.values_list("email", "company")) == [("old@example.org", "Before")]
    assert not ImportChange.objects.exists()


def test_execute_raises_what_the_load_raises_after_recording_the_run_failed(tmp_path):
    path = write(tmp_path, "")
    run = runs.create_run(schema=LEAD_SCHEMA, source="admin", path=path, dry_run=True, options={})
    with pytest.raises(RefusedFile, match="empty"):
        runs.execute(run, schema=LEAD_SCHEMA, path=path)
    run.refresh_from_db()
    assert run.status == "failed" and "the file is empty" in run.error


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_runs_left_running_by_a_process_that_is_gone_are_marked_failed():
    host = socket.gethostname()
    gone = ImportRun.objects.create(kind="lead", source="import_leads", status="running", worker=f"{host}:{dead_pid()}")
    queued = ImportRun.objects.create(kind="lead", source="admin", status="queued", worker=f"{host}:{dead_pid()}")
    alive = ImportRun.objects.create(kind="lead", source="admin", status="running", worker=f"{host}:{os.getppid()}")
    elsewhere = ImportRun.objects.create(kind="lead", source="admin", status="running", worker="other-host:1")
    waiting = ImportRun.objects.create(kind="lead", source="admin", status="queued")  # no process took it yet
    done = ImportRun.objects.create(kind="lead", source="admin", status="done", worker=f"{host}:{dead_pid()}")
    later = FROZEN_AT + timedelta(minutes=5)
    assert runs.fail_abandoned_runs(later) == 2
    for run in (gone, queued):
        run.refresh_from_db()
        assert (run.status, run.error, run.finished_at) == ("failed", runs.ABANDONED, later)
    for run, status in ((alive, "running"), (elsewhere, "running"), (waiting, "queued"), (done, "done")):
        run.refresh_from_db()
        assert run.status == status and run.error == ""
