"""Admin import and export for leads and agents, on top of django-import-export.

Export is the library's (CSV and XLSX, with formula neutralization in the resources). Import replaces the
library's row-by-row workflow, which renders every row and refuses to confirm when any row has an error, by the
same service the commands use, run as a background job (imports.tasks): the upload streams to disk, a dry run is
queued and the page follows its progress (a status view polled by imports/static/imports/progress.js), then
shows counts, the first new / updated / unchanged rows and the rejected rows with reasons; confirming queues the
import of the valid rows; a running job can be cancelled (nothing of it is written); the rejected rows can be
downloaded as the same rejects CSV as `--rejects` writes.

The engine (imports.reading, runs, tasks: pandas) is imported by the views that use it: this module is imported
with the admin by every process at start-up.

An upload lives in `upload_folder() / token` with a note of who uploaded it for which model: only that user, on
that model's pages, may follow, confirm or cancel its runs, or download its rejects; any other token (malformed,
pointing outside the folder, expired, someone else's) is treated as an expired upload, any other run as missing.
"""

import json
import re
import shutil
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX

from core import clock
from core.db_lock import is_lock_timeout, lock_timeout_message
from imports import progress
from imports.files import RefusedFile
from imports.models import ImportRun
from imports.registry import schema_for
from imports.uploads import limit_uploads, too_large

TOKEN = re.compile(r"[0-9a-f]{32}")
KEEP_UPLOADS_SECONDS = 24 * 3600
OWNER_FILE = "owner.json"  # {"user": pk, "model": "app_label.model_name"} of the upload
WORKER_LATE = timedelta(seconds=30)  # a job queued longer than this with no worker busy: say none is running
ACTIVE = (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)


class UploadForm(forms.Form):
    import_file = forms.FileField(label="File to import", help_text="CSV or TSV; UTF-8, UTF-16 or Windows-1252.")
    dayfirst = forms.BooleanField(required=False, label="Dates are day first (DD/MM/YYYY)")


class ConfirmForm(forms.Form):
    # Anchored: a RegexValidator searches, and a token is a folder name, so it must be nothing but the token.
    token = forms.RegexField(regex=r"\A[0-9a-f]{32}\Z", max_length=32, widget=forms.HiddenInput)
    dayfirst = forms.BooleanField(required=False, widget=forms.HiddenInput)


class CleanImportExportMixin(ImportExportMixin):
    """ModelAdmin mixin: import through background jobs running `import_schema`, export through the resource."""

    import_kind = ""  # "lead" / "agent": the kind of the import schema (imports.registry)
    command_name = ""  # import_leads / import_agents, named when an upload is too large
    import_template_name = "admin/imports/import.html"
    export_formats = [CSV, XLSX]

    @property
    def import_schema(self):
        """The schema the import runs, imported with the cleaning stack when a page first needs it."""
        return schema_for(self.import_kind)

    def get_urls(self):
        info = self.get_model_info()
        view = self.admin_site.admin_view
        return [
            path("import/rejects/<str:token>/", view(self.import_rejects_view), name="%s_%s_import_rejects" % info),
            path("import/<int:run_id>/", view(self.import_run_view), name="%s_%s_import_run" % info),
            path("import/<int:run_id>/status.json", view(self.import_status_view), name="%s_%s_import_status" % info),
            path("import/<int:run_id>/cancel/", view(self.import_cancel_view), name="%s_%s_import_cancel" % info),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "title": f"Import {self.model._meta.verbose_name_plural}",
            "opts": self.model._meta,
            "max_upload_mb": settings.IMPORT_MAX_UPLOAD_MB,
            "command_name": self.command_name,
            "worker_warning": worker_warning(),
            **extra,
        }

    def _render(self, request, context):
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def _url(self, name: str, *args) -> str:
        return reverse("admin:%s_%s_%s" % (*self.get_model_info(), name), args=args)

    @csrf_exempt  # checked below, once the upload limit is in place: the CSRF check reads request.POST
    def import_action(self, request, **kwargs):
        limit_uploads(request, limit_bytes=settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024)
        return self._import_action(request, **kwargs)

    @method_decorator(csrf_protect)
    def _import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        stopped = too_large(request) if request.method == "POST" else None
        if stopped is not None:  # stopped while it streamed in (imports.uploads): the form got no file
            form = UploadForm(request.POST, {})  # the fields sent after the file were not read
            form.is_valid()
            form.errors.pop("import_file", None)  # "required": the file is refused below instead
            form.add_error("import_file", self._too_large_message(stopped))
        elif request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            if upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:  # a limit the stream check missed
                form.add_error("import_file", self._too_large_message(upload.size))
            else:
                from imports.reading import open_source

                token, source = self._save_upload(request, upload)
                try:  # the header only: a file that cannot be imported at all is refused here, not in a job
                    open_source(source, self.import_schema)
                except RefusedFile as exc:
                    shutil.rmtree(source.parent, ignore_errors=True)
                    form.add_error("import_file", str(exc).replace(str(source), upload.name))
                else:
                    try:
                        run = self._start(request, token, source, file_name=upload.name, dry_run=True,
                                          dayfirst=form.cleaned_data["dayfirst"])  # fmt: skip
                    except OperationalError as exc:  # the database is busy: not even the run could be recorded
                        if not is_lock_timeout(exc):
                            raise
                        shutil.rmtree(source.parent, ignore_errors=True)
                        form.add_error("import_file", lock_timeout_message())
                    else:
                        return HttpResponseRedirect(self._url("import_run", run.pk))
        return self._render(request, self._context(request, form=form))

    def _too_large_message(self, size: int) -> str:
        return (
            f"This file is {size / 1024 / 1024:.1f} MB, above the {settings.IMPORT_MAX_UPLOAD_MB} MB "
            f"limit for uploads: import it on the server with `manage.py {self.command_name} FILE`."
        )

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Confirm a preview (queue the import), or preview the same upload again (`preview`: day-first)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ConfirmForm(request.POST)
        token = form.cleaned_data["token"] if form.is_valid() else None
        folder = self._upload_of(request, token) if token else None
        source = folder / "source.csv" if folder else None
        dry_run = "preview" in request.POST
        if (
            not source
            or not source.is_file()
            or (not dry_run and _runs_of(token).filter(dry_run=False).exclude(status__in=_ENDED_UNDONE).exists())
        ):
            self.message_user(
                request, "This upload has expired or was already imported: upload the file again.", messages.ERROR
            )
            return HttpResponseRedirect(self._url("import"))
        previous = _runs_of(token).order_by("-pk").first()
        try:
            run = self._start(
                request, token, source, file_name=previous.file_name if previous else None, dry_run=dry_run,
                dayfirst=form.cleaned_data["dayfirst"],
            )  # fmt: skip
        except OperationalError as exc:  # the upload is kept: the preview's Confirm button works again later
            if not is_lock_timeout(exc):
                raise
            self.message_user(request, f"Not imported. {lock_timeout_message()}", messages.ERROR)
            return HttpResponseRedirect(self._url("import"))
        return HttpResponseRedirect(self._url("import_run", run.pk))

    def _start(self, request, token: str, source: Path, *, file_name, dry_run: bool, dayfirst: bool) -> ImportRun:
        """Record a run of this upload and queue its job."""
        from imports.runs import create_run
        from imports.tasks import PREVIEW_ROWS, run_import

        run = create_run(
            schema=self.import_schema,
            source="admin",
            user=request.user,
            path=source,
            file_name=file_name,
            dry_run=dry_run,
            options={
                "dayfirst": dayfirst,
                "sample_size": PREVIEW_ROWS if dry_run else 0,
                "token": token,
                "path": str(source),
            },
        )
        progress.forget(run.pk)
        job = run_import.enqueue(run.pk)
        ImportRun.objects.filter(pk=run.pk).update(task_id=job.id)
        return run

    def import_run_view(self, request, run_id):
        """A run of the user's upload: its progress while queued or running, then its preview or outcome."""
        from imports.tasks import PREVIEW_ROWS

        run, token = self._run_of(request, run_id)
        context = self._context(
            request,
            run=run,
            token=token,
            file_name=run.file_name,
            status_url=self._url("import_status", run.pk),
            cancel_url=self._url("import_cancel", run.pk),
        )
        report = _report(run)
        if not _ended(run):
            context["status"] = status_of(run)
        elif run.status == ImportRun.Status.PREVIEWED and report is not None:
            result = _result(report)
            context.update(
                result=result,
                confirm_form=ConfirmForm(initial={"token": token, "dayfirst": run.options.get("dayfirst", False)}),
                rejects_url=self._rejects_url(token) if result.rejected else None,
                rejects_preview=report["rejects_preview"],
                merged=[{"identity": m[result.identity], **m} for m in result.merged],
                preview_rows=PREVIEW_ROWS,
                dayfirst_only=report["dayfirst_only"],
                dayfirst_form=ConfirmForm(initial={"token": token, "dayfirst": True}),
            )
        elif run.status == ImportRun.Status.DONE and report is not None:
            result = _result(report)
            context.update(
                done=result,
                summary=(
                    f"Imported: {result.rows} rows, {result.created} created, {result.updated} updated, "
                    f"{result.unchanged} unchanged, {result.merged_duplicates} merged duplicates, "
                    f"{result.rejected} rejected."
                ),
                rejects_url=self._rejects_url(token) if result.rejected else None,
                changelist_url=self._url("changelist"),
            )
        elif run.status == ImportRun.Status.FAILED:
            context["error"] = run.error.replace(run.options.get("path", ""), run.file_name) or "The job failed."
        return self._render(request, context)

    def import_status_view(self, request, run_id):
        run, _ = self._run_of(request, run_id)
        return JsonResponse(status_of(run))

    @method_decorator(require_POST)
    def import_cancel_view(self, request, run_id):
        from imports.runs import cancel_queued

        run, _ = self._run_of(request, run_id)
        if run.status in ACTIVE:
            # The flag too: a worker that picked the run up meanwhile stops at its next batch.
            progress.request_cancel(run.pk)
            if cancel_queued(run.pk, as_of=clock.now()):
                self.message_user(request, "Cancelled before any worker started it: nothing was written.")
            else:
                self.message_user(request, "Cancelling: the job stops at its next batch and writes nothing.")
        return HttpResponseRedirect(self._url("import_run", run.pk))

    def import_rejects_view(self, request, token):
        if not self.has_import_permission(request):
            raise PermissionDenied
        folder = self._upload_of(request, token)
        rejects = folder / "rejects.csv" if folder else None
        if not rejects or not rejects.is_file():
            raise Http404("No rejected rows for this upload.")
        name = f"{self.model._meta.model_name}_rejects.csv"
        return FileResponse(open(rejects, "rb"), as_attachment=True, filename=name, content_type="text/csv")

    def _rejects_url(self, token: str) -> str:
        return self._url("import_rejects", token)

    def _owner(self, request) -> dict:
        return {"user": request.user.pk, "model": self.model._meta.label_lower}

    def _run_of(self, request, run_id: int) -> tuple[ImportRun, str]:
        """This user's admin run of this model with its upload token; 404 for any other (the owner checks of
        the upload's folder included)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        run = ImportRun.objects.filter(
            pk=run_id, source="admin", kind=self.import_kind, user_id=request.user.pk
        ).first()
        token = str((run.options or {}).get("token", "")) if run else ""
        if run is None or self._upload_of(request, token) is None:
            raise Http404("No such import.")
        return run, token

    def _upload_of(self, request, token: str) -> Path | None:
        """The folder of this user's upload for this model, or None (malformed, outside, expired, not theirs)."""
        if not TOKEN.fullmatch(token):
            return None
        root = upload_folder().resolve()
        folder = (root / token).resolve()
        if folder.parent != root:
            return None
        try:
            owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return folder if owner == self._owner(request) else None

    def _save_upload(self, request, upload) -> tuple[str, Path]:
        _forget_old_uploads()
        token = uuid.uuid4().hex
        folder = upload_folder() / token
        folder.mkdir(parents=True)
        (folder / OWNER_FILE).write_text(json.dumps(self._owner(request)), encoding="utf-8")
        source = folder / "source.csv"
        if hasattr(upload, "temporary_file_path"):  # streamed to a temporary file: moved, not copied
            shutil.move(upload.temporary_file_path(), source)
        else:
            with open(source, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        return token, source


_ENDED_UNDONE = (ImportRun.Status.FAILED, ImportRun.Status.CANCELLED)


def _runs_of(token: str):
    return ImportRun.objects.filter(source="admin", options__token=token)


def _ended(run: ImportRun) -> bool:
    """The job has ended and left what the page shows: a previewed or done run's report is written just after
    the run records its outcome."""
    from imports.tasks import report_path

    if run.status in ACTIVE:
        return False
    return run.status not in (ImportRun.Status.PREVIEWED, ImportRun.Status.DONE) or report_path(run).is_file()


def _report(run: ImportRun) -> dict | None:
    from imports.tasks import report_path

    try:
        return json.loads(report_path(run).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None


def _result(report: dict):
    """The report as the ImportResult (imports.loading) the templates show."""
    from imports.loading import ImportResult

    names = ("rows", "created", "updated", "unchanged", "merged_duplicates", "rejected", "ignored_columns")
    return ImportResult(
        **{n: report[n] for n in names},
        dry_run=report["dry_run"],
        samples=report["samples"],
        merged=report["merged"],
        identity=report["identity"],
    )


def status_of(run: ImportRun) -> dict:
    """The status view's answer: the run's row, and while it runs the progress its job keeps in the cache."""
    seen = progress.snapshot(run.pk) or {}
    ended = run.status not in ACTIVE
    finished = _ended(run)
    total = seen.get("total_bytes") or run.file_size
    return {
        "run": run.pk,
        "status": run.status,
        "ended": finished,  # the page can show the outcome (a finished job's report is written)
        "rows_done": run.rows if ended else seen.get("rows_done", 0),
        "bytes_done": total if ended and run.status != ImportRun.Status.CANCELLED else seen.get("bytes_done", 0),
        "total_bytes": total,
        "rows_per_second": seen.get("rows_per_second"),
        "seconds_left": 0 if ended else seen.get("seconds_left"),
        "cancel_requested": progress.cancel_requested(run.pk),
        "worker_warning": worker_warning() if run.status == ImportRun.Status.QUEUED else None,
    }


def worker_warning() -> str | None:
    """Say so when a job has waited WORKER_LATE with no worker busy (one busy with a long import keeps the
    next job waiting, and beats meanwhile)."""
    command = settings.TASKS_WORKER_COMMAND
    if not command:
        return None
    late = clock.now() - WORKER_LATE
    if not ImportRun.objects.filter(status=ImportRun.Status.QUEUED, queued_at__lt=late).exists():
        return None
    for run_id in ImportRun.objects.filter(status=ImportRun.Status.RUNNING).values_list("pk", flat=True):
        beat = progress.last_beat(run_id)
        if beat and beat > late:
            return None
    return f"No worker is running: start `{command}` (jobs are waiting in the queue)."


def upload_folder() -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR)


def _forget_old_uploads() -> None:
    folder = upload_folder()
    if not folder.is_dir():
        return
    # File ages: compared with the operating system's clock, the one that stamps st_mtime (not core.clock).
    cutoff = time.time() - KEEP_UPLOADS_SECONDS
    for child in folder.iterdir():
        if TOKEN.fullmatch(child.name) and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)
