"""The admin import as background jobs: the run's page and status view, owner checks, cancel, the worker
warning and the day-first hint. Jobs run at once here (TASKS_BACKEND=immediate) unless a test queues them on
the dummy backend to act while they wait."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import FROZEN_AT
from imports import progress, runs
from imports.models import ImportRun
from imports.runs import CANCELLED
from imports.tasks import run_import
from leads.importing import LEAD_SCHEMA
from leads.models import Lead
from leads.tests.roles import make_manager

pytestmark = pytest.mark.django_db

LEADS_CSV = "name,email,created\nAda,ada@example.org,2026-01-02\nBo,bo@example.org,2026-01-03\nBad,nope,2026-01-02\n"
IMPORT_URL = reverse("admin:leads_lead_import")
CONFIRM_URL = reverse("admin:leads_lead_process_import")
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.TASKS_WORKER_COMMAND = "manage.py db_worker"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def manager(client):
    client.force_login(make_manager("manager_a"))
    return client


@pytest.fixture
def queued_only(settings):
    """Jobs are queued and not run: the test runs them (run_import.call) when it wants."""
    settings.TASKS = DUMMY


def upload(client, text=LEADS_CSV, url=IMPORT_URL, **extra):
    file = SimpleUploadedFile("leads.csv", text.encode(), "text/csv")
    response = client.post(url, {"import_file": file, **extra})
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportRun.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1])), response["Location"]


def run_url(run, name="import_run", model="leads_lead"):
    return reverse(f"admin:{model}_{name}", args=[run.pk])


def test_an_upload_becomes_a_queued_preview_run_and_the_page_follows_it(manager, queued_only):
    run, location = upload(manager)
    assert location == run_url(run)
    assert (run.kind, run.source, run.dry_run, run.status, run.file_name) == (
        "lead",
        "admin",
        True,
        "queued",
        "leads.csv",
    )
    assert run.file_size == len(LEADS_CSV) and run.task_id
    content = manager.get(location).content.decode()
    assert 'id="import-progress-bar"' in content and "imports/progress.js" in content
    assert run_url(run, "import_status") in content
    run_import.call(run.pk)
    content = manager.get(location).content.decode()
    assert '<td class="count-created">2</td>' in content and '<td class="count-rejected">1</td>' in content
    assert Lead.objects.count() == 0


def test_the_status_view_reports_the_progress_the_job_keeps_in_the_cache(manager, queued_only):
    run, _ = upload(manager)
    status = manager.get(run_url(run, "import_status")).json()
    assert status["status"] == "queued" and status["rows_done"] == 0 and status["total_bytes"] == run.file_size
    ImportRun.objects.filter(pk=run.pk).update(status="running")
    tracker = progress.Tracker(run.pk, run.options["path"])
    with time_machine.travel(FROZEN_AT + timedelta(seconds=2), tick=False):
        tracker(1)
    status = manager.get(run_url(run, "import_status")).json()
    assert status["status"] == "running" and status["rows_done"] == 1
    assert 0 < status["bytes_done"] < status["total_bytes"] == run.file_size
    assert status["rows_per_second"] == 0.5
    assert status["seconds_left"] > 0
    assert status["worker_warning"] is None and status["cancel_requested"] is False
    ImportRun.objects.filter(pk=run.pk).update(status="queued")
    run_import.call(run.pk)
    status = manager.get(run_url(run, "import_status")).json()
    assert status["status"] == "previewed"
    assert (status["rows_done"], status["bytes_done"], status["seconds_left"]) == (3, run.file_size, 0)


def test_confirming_queues_the_real_import_and_the_page_then_says_what_it_did(manager):
    preview, _ = upload(manager)
    response = manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    run = ImportRun.objects.exclude(pk=preview.pk).get()
    assert response["Location"] == run_url(run)
    assert (run.dry_run, run.status, run.created, run.rejected) == (False, "done", 2, 1)
    content = manager.get(run_url(run)).content.decode()
    assert "Imported: 3 rows, 2 created, 0 updated" in content and "rejects-download" in content
    assert progress.snapshot(run.pk) is None and progress.snapshot(preview.pk) is None  # ended: nothing kept
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ada@example.org", "bo@example.org"]
    again = manager.post(CONFIRM_URL, {"token": preview.options["token"]}, follow=True).content.decode()
    assert "This upload has expired or was already imported" in again
    assert Lead.objects.count() == 2 and ImportRun.objects.count() == 2


def test_a_queued_import_cannot_be_confirmed_twice(manager, queued_only):
    preview, _ = upload(manager)
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    assert ImportRun.objects.filter(dry_run=False).count() == 1


def test_cancelling_a_job_ends_the_run_cancelled_with_nothing_written(manager, queued_only, settings):
    preview, _ = upload(manager)
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    run = ImportRun.objects.get(dry_run=False)
    response = manager.post(run_url(run, "import_cancel"))
    assert response["Location"] == run_url(run)
    assert manager.get(run_url(run, "import_status")).json()["cancel_requested"] is True
    run_import.call(run.pk)
    run.refresh_from_db()
    assert run.status == "cancelled" and Lead.objects.count() == 0
    assert "Cancelled: nothing of leads.csv was written" in manager.get(run_url(run)).content.decode()


def test_cancelling_a_run_no_worker_has_picked_up_ends_it_cancelled_at_once(manager, queued_only):
    preview, _ = upload(manager)
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    run = ImportRun.objects.get(dry_run=False)
    assert run.status == "queued"
    response = manager.post(run_url(run, "import_cancel"), follow=True)
    assert "Cancelled before any worker started it" in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.error, run.finished_at, run.started_at) == ("cancelled", CANCELLED, FROZEN_AT, None)
    status = manager.get(run_url(run, "import_status")).json()
    assert status["status"] == "cancelled" and status["ended"] is True
    assert "Cancelled: nothing of leads.csv was written" in manager.get(run_url(run)).content.decode()
    # The job, when a worker reaches it, leaves the run as it is.
    assert run_import.call(run.pk) == {"run": run.pk, "status": "cancelled"}
    run.refresh_from_db()
    assert (run.status, run.started_at, run.worker) == ("cancelled", None, "")
    assert Lead.objects.count() == 0


def test_a_worker_claiming_a_run_first_makes_the_cancel_stop_it_at_its_next_batch(manager, queued_only):
    preview, _ = upload(manager)
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    run = ImportRun.objects.get(dry_run=False)
    ImportRun.objects.filter(pk=run.pk).update(status="running")  # a worker won the race
    response = manager.post(run_url(run, "import_cancel"), follow=True)
    assert "the job stops at its next batch" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "running" and run.error == "" and run.finished_at is None
    assert progress.cancel_requested(run.pk) is True


def test_a_job_reaching_a_run_cancelled_while_it_looked_does_not_run_it(manager, queued_only):
    preview, _ = upload(manager)
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    run = ImportRun.objects.get(dry_run=False)
    stale = ImportRun.objects.get(pk=run.pk)  # read as queued by the job ...
    assert runs.cancel_queued(run.pk, as_of=FROZEN_AT) is True  # ... then cancelled before it claims the run
    assert runs.cancel_queued(run.pk, as_of=FROZEN_AT) is False
    with pytest.raises(runs.NotQueued):
        runs.execute(stale, schema=LEAD_SCHEMA, path=stale.options["path"])
    run.refresh_from_db()
    assert (run.status, run.started_at, run.worker) == ("cancelled", None, "")
    assert Lead.objects.count() == 0


def test_a_cancel_reaching_a_job_between_batches_rolls_back_what_it_staged(manager, queued_only):
    rows = "".join(f"Lead {i},lead{i}@example.org,2026-01-02\n" for i in range(30))
    preview, _ = upload(manager, "name,email,created\n" + rows)
    manager.post(CONFIRM_URL, {"token": preview.options["token"]})
    run = ImportRun.objects.get(dry_run=False)
    ImportRun.objects.filter(pk=run.pk).update(options={**run.options, "batch_size": 10})
    calls = []

    class CancelAfterFirstBatch(progress.Tracker):
        def __call__(self, rows_done):
            calls.append(rows_done)
            if rows_done >= 10:
                progress.request_cancel(self.run_id)
            super().__call__(rows_done)

    original, progress.Tracker = progress.Tracker, CancelAfterFirstBatch
    try:
        run_import.call(run.pk)
    finally:
        progress.Tracker = original
    run.refresh_from_db()
    assert calls == [10] and run.status == "cancelled"
    assert Lead.objects.count() == 0
    assert progress.snapshot(run.pk) is None and progress.last_beat(run.pk) is None
    assert progress.cancel_requested(run.pk) is False


def test_only_the_uploader_on_the_right_model_sees_follows_or_cancels_a_run(manager, queued_only):
    run, _ = upload(manager)
    other = Client()
    other.force_login(make_manager("manager_b"))
    for name in ("import_run", "import_status"):
        assert other.get(run_url(run, name)).status_code == 404, name
        assert manager.get(run_url(run, name, model="agents_agent")).status_code == 404, name
        assert manager.get(run_url(run, name)).status_code == 200, name
    assert other.post(run_url(run, "import_cancel")).status_code == 404
    assert manager.post(run_url(run, "import_cancel", model="agents_agent")).status_code == 404
    assert progress.cancel_requested(run.pk) is False
    assert manager.get(reverse("admin:leads_lead_import_run", args=[run.pk + 1])).status_code == 404


def test_a_run_whose_upload_folder_lost_its_owner_note_is_missing(manager, queued_only, uploads):
    run, _ = upload(manager)
    (uploads / run.options["token"] / "owner.json").unlink()
    assert manager.get(run_url(run, "import_status")).status_code == 404


def test_the_admin_says_when_no_worker_has_picked_up_a_job(manager, queued_only):
    run, _ = upload(manager)
    warning = "No worker is running: start `manage.py db_worker`"
    assert warning not in manager.get(IMPORT_URL).content.decode()
    with time_machine.travel(FROZEN_AT + timedelta(seconds=31)):
        assert warning in manager.get(IMPORT_URL).content.decode()
        assert warning in manager.get(reverse("admin:agents_agent_import")).content.decode()
        assert warning in manager.get(run_url(run)).content.decode()
        assert warning in manager.get(run_url(run, "import_status")).json()["worker_warning"]
        # A worker busy with another long import (it beats) is not missing: the job waits its turn.
        busy = ImportRun.objects.create(kind="lead", source="admin", file_name="x.csv", status="running")
        progress.beat(busy.pk)
        assert warning not in manager.get(IMPORT_URL).content.decode()


def test_the_worker_warning_is_off_with_jobs_that_run_at_once(manager, queued_only, settings):
    settings.TASKS_WORKER_COMMAND = ""
    upload(manager)
    with time_machine.travel(FROZEN_AT + timedelta(minutes=5)):
        assert "No worker is running" not in manager.get(IMPORT_URL).content.decode()


def test_dates_that_only_read_day_first_are_pointed_out_with_a_day_first_preview(manager):
    text = (
        "name,email,created\n"
        "Ada,ada@example.org,30/10/2026\nBo,bo@example.org,13/01/2026\nCy,cy@example.org,01/02/2026\n"
    )
    preview, location = upload(manager, text)
    content = manager.get(location).content.decode()
    assert "created: 2 dates only read day-first, e.g. 30/10/2026" in content
    assert 'name="preview"' in content
    assert preview.rejected == 2
    response = manager.post(CONFIRM_URL, {"token": preview.options["token"], "dayfirst": "True", "preview": "1"})
    again = ImportRun.objects.exclude(pk=preview.pk).get()
    assert response["Location"] == run_url(again)
    assert (again.dry_run, again.options["dayfirst"], again.status, again.rejected) == (True, True, "previewed", 0)
    content = manager.get(run_url(again)).content.decode()
    assert "only read day-first" not in content
    assert '<input type="hidden" name="dayfirst" value="True"' in content  # Confirm imports day-first too
    manager.post(CONFIRM_URL, {"token": preview.options["token"], "dayfirst": "True"})
    assert Lead.objects.get(email="cy@example.org").created_at == datetime(2026, 2, 1, tzinfo=UTC)


def test_a_file_without_ambiguous_dates_gets_no_day_first_hint(manager):
    _, location = upload(manager)
    assert "only read day-first" not in manager.get(location).content.decode()


def test_the_preview_report_is_kept_beside_the_upload(manager, uploads):
    run, _ = upload(manager)
    report = json.loads((uploads / run.options["token"] / f"run-{run.pk}.json").read_text())
    assert (report["created"], report["rejected"], report["dry_run"]) == (2, 1, True)
    assert [r["email"] for r in report["samples"]["created"]] == ["ada@example.org", "bo@example.org"]
    assert (uploads / run.options["token"] / "rejects.csv").is_file()


def test_a_big_upload_streams_to_a_temporary_file_and_is_moved_into_its_folder(manager, uploads):
    rows = "".join(f"Lead {i},lead{i}@example.org,2026-01-02\n" for i in range(100_000))  # ~4 MB: on disk
    run, _ = upload(manager, "name,email,created\n" + rows)
    assert run.file_size > 2.5 * 1024 * 1024
    assert (uploads / run.options["token"] / "source.csv").stat().st_size == run.file_size
    run.refresh_from_db()
    assert (run.status, run.created) == ("previewed", 100_000)
