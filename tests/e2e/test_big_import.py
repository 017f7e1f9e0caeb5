"""A sales-ops lead imports a 50 MB export in the browser: the preview and the import run as jobs on a real
database-backend worker (django-tasks-db's worker loop, in a thread of the test process: the live server's
in-memory test database is not reachable from another process), the page shows their progress, then the
preview, then the outcome; the rejected rows download."""

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from imports.models import ImportRun
from leads.models import Lead
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZE = 50 * 1024 * 1024
JOB_SECONDS = 240_000  # ms: a 50 MB file is half a million rows for each of the two jobs


def write_export(path, size=SIZE) -> int:
    """A CRM export of `size` bytes: rows that import, plus three that are rejected. Returns the rows."""
    row = "Lead Number {i},lead{i}@example.org,+1 555 0100,Acme Corporation,Web,Working - Contacted,2026-11-01\n"
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("Full Name,Email,Phone,Company,Lead Source,Lead Status,Created Date\n")
        handle.write("No Email,not-an-email,,,,New,2026-11-01\nSleepy,sleepy@example.org,,,,Sleeping,2026-11-01\n")
        handle.write("Future,future@example.org,,,,New,2999-01-01\n")
        rows += 3
        while handle.tell() < size:
            handle.writelines(row.format(i=rows + k) for k in range(10_000))
            rows += 10_000
    return rows


class ThreadWorker:
    """django-tasks-db's worker running its tasks in a thread, claiming them as `db_worker` does. The test
    database is SQLite in memory with a shared cache, where a connection meeting another's lock fails at once
    instead of waiting: the loop reads before it claims (db_worker takes the write lock at every poll) and
    tries again when it meets a lock."""

    def __init__(self):
        self.stop = threading.Event()
        self.worker = Worker(
            queue_names=["default"],
            interval=0.1,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="e2e-worker",
            excluded_queue_names=[],
        )

    def run(self):
        try:
            while not self.stop.is_set():
                try:
                    job = None
                    if DBTaskResult.objects.ready().exists():
                        with transaction.atomic():
                            job = DBTaskResult.objects.ready().get_locked()
                            if job is not None:
                                job.claim(self.worker.worker_id)
                except OperationalError:
                    job = None
                if job is not None:
                    self.worker.run_task(job)
                else:
                    time.sleep(0.1)  # not stop.wait(0.1): a timed wait never ends under a moved clock (faketime)
        finally:
            connection.close()


@pytest.fixture
def worker(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    loop = ThreadWorker()
    thread = threading.Thread(target=loop.run, name="db-worker", daemon=True)
    thread.start()
    yield loop
    loop.stop.set()
    thread.join(timeout=300)


def watch_progress(page) -> list[float]:
    """The bar's values until the page has moved on (the job ended and the page reloaded)."""
    seen = []
    deadline = time.monotonic() + JOB_SECONDS / 1000
    while time.monotonic() < deadline:
        try:
            percent = page.evaluate(
                "() => { const box = document.getElementById('import-progress');"
                " return box ? (box.dataset.percent || '0') : null; }"
            )
        except PlaywrightError:  # the page is reloading
            continue
        if percent is None:
            return seen
        seen.append(float(percent))
        time.sleep(0.2)
    raise AssertionError(f"the job did not end in time; the bar showed {seen[-5:]}")


def test_a_50_mb_export_is_previewed_and_imported_with_live_progress(page, worker, tmp_path, settings):
    settings.IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    make_manager(password=PASSWORD)
    upload = tmp_path / "salesforce export.csv"
    rows = write_export(upload)
    assert upload.stat().st_size >= SIZE

    log_in(page, "manager")
    page.goto("/admin/leads/lead/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[type=submit][value=Preview]")
    expect(page.locator("#import-progress-bar")).to_be_visible()
    seen = watch_progress(page)
    assert any(0 < p < 100 for p in seen), f"the bar never showed a partial value: {sorted(set(seen))[:20]}"
    assert seen == sorted(seen), "the bar went backwards"

    expect(page.locator(".count-created")).to_have_text(str(rows - 3), timeout=JOB_SECONDS)
    expect(page.locator(".count-rejected")).to_have_text("3")
    expect(page.locator("#import-rejects")).to_contain_text("Sleeping")
    assert Lead.objects.count() == 0

    page.click("input[name=confirm]")
    expect(page.locator("#import-progress-bar")).to_be_visible()
    seen = watch_progress(page)
    expect(page.locator(".messagelist")).to_contain_text(f"{rows - 3} created", timeout=JOB_SECONDS)
    assert any(0 < p <= 100 for p in seen), f"the import's progress was not shown: {seen[:20]}"
    assert Lead.objects.count() == rows - 3
    assert list(ImportRun.objects.order_by("pk").values_list("dry_run", "status")) == [
        (True, "previewed"),
        (False, "done"),
    ]
    jobs = DBTaskResult.objects.all()
    assert [(job.status, job.worker_ids) for job in jobs] == [("SUCCESSFUL", ["e2e-worker"])] * 2

    with page.expect_download() as download_info:
        page.click("a.rejects-download")
    header, *rejected = download_info.value.path().read_text(encoding="utf-8-sig").strip().splitlines()
    assert header.endswith("line,reason") and len(rejected) == 3
    for value in ("not-an-email", "Sleeping", "2999-01-01"):
        assert sum(value in row for row in rejected) == 1, value
