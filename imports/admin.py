"""Admin import and export for leads and agents, on top of django-import-export.

Export is the library's (CSV and XLSX, with formula neutralization in the resources). Import replaces the
library's row-by-row workflow, which renders every row and refuses to confirm when any row has an error, by the
same service the commands use: the upload is saved, imported as a dry run to show counts, the first new /
updated / unchanged rows and the rejected rows with reasons; confirming imports the valid rows; the rejected rows
can be downloaded as the same rejects CSV as `--rejects` writes.

An upload lives in `upload_folder() / token` with a note of who uploaded it for which model: only that user, on
that model's pages, may confirm it or download its rejects; any other token (malformed, pointing outside the
folder, expired, someone else's) is treated as an expired upload.
"""

import json
import re
import shutil
import time
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX

from core.db_lock import is_lock_timeout, lock_timeout_message
from imports.reading import RefusedFile

PREVIEW_ROWS = 20
TOKEN = re.compile(r"[0-9a-f]{32}")
KEEP_UPLOADS_SECONDS = 24 * 3600
OWNER_FILE = "owner.json"  # {"user": pk, "model": "app_label.model_name"} of the upload


class UploadForm(forms.Form):
    import_file = forms.FileField(label="File to import", help_text="CSV or TSV; UTF-8, UTF-16 or Windows-1252.")
    dayfirst = forms.BooleanField(required=False, label="Dates are day first (DD/MM/YYYY)")


class ConfirmForm(forms.Form):
    # Anchored: a RegexValidator searches, and a token is a folder name, so it must be nothing but the token.
    token = forms.RegexField(regex=r"\A[0-9a-f]{32}\Z", max_length=32, widget=forms.HiddenInput)
    dayfirst = forms.BooleanField(required=False, widget=forms.HiddenInput)


def upload_folder() -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR)


class CleanImportExportMixin(ImportExportMixin):
    """ModelAdmin mixin: import through `import_service` (the command's service), export through the resource."""

    import_service = None  # import_leads / import_agents
    command_name = ""  # import_leads / import_agents, named when an upload is too large
    import_template_name = "admin/imports/import.html"
    export_formats = [CSV, XLSX]

    def get_urls(self):
        info = self.get_model_info()
        return [
            path(
                "import/rejects/<str:token>/",
                self.admin_site.admin_view(self.import_rejects_view),
                name="%s_%s_import_rejects" % info,
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "title": f"Import {self.model._meta.verbose_name_plural}",
            "opts": self.model._meta,
            "max_upload_mb": settings.IMPORT_MAX_UPLOAD_MB,
            "command_name": self.command_name,
            **extra,
        }

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            limit = settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024
            if upload.size > limit:
                form.add_error(
                    "import_file",
                    f"This file is {upload.size / 1024 / 1024:.1f} MB, above the {settings.IMPORT_MAX_UPLOAD_MB} MB "
                    f"limit for uploads: import it on the server with `manage.py {self.command_name} FILE`.",
                )
            else:
                token, source = self._save_upload(request, upload)
                dayfirst = form.cleaned_data["dayfirst"]
                try:
                    result = self.import_service(path=source, dry_run=True, dayfirst=dayfirst, sample_size=PREVIEW_ROWS)
                except (RefusedFile, OperationalError) as exc:
                    if isinstance(exc, OperationalError) and not is_lock_timeout(exc):
                        raise
                    shutil.rmtree(source.parent, ignore_errors=True)
                    refused = lock_timeout_message() if isinstance(exc, OperationalError) else str(exc)
                    form.add_error("import_file", refused.replace(str(source), upload.name))
                else:
                    result.write_rejects(source.parent / "rejects.csv")
                    context = self._context(
                        request,
                        result=result,
                        file_name=upload.name,
                        token=token,
                        confirm_form=ConfirmForm(initial={"token": token, "dayfirst": dayfirst}),
                        rejects_url=self._rejects_url(token) if result.rejected else None,
                        rejects_preview=_rejects_preview(result),
                        merged=[{"identity": m[result.identity], **m} for m in result.merged],
                        preview_rows=PREVIEW_ROWS,
                    )
                    request.current_app = self.admin_site.name
                    return TemplateResponse(request, [self.import_template_name], context)
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], self._context(request, form=form))

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ConfirmForm(request.POST)
        folder = self._upload_of(request, form.cleaned_data["token"]) if form.is_valid() else None
        source = folder / "source.csv" if folder else None
        if not source or not source.is_file():
            self.message_user(
                request, "This upload has expired or was already imported: upload the file again.", messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:%s_%s_import" % self.get_model_info()))
        token = form.cleaned_data["token"]
        try:
            result = self.import_service(path=source, dry_run=False, dayfirst=form.cleaned_data["dayfirst"])
        except RefusedFile as exc:
            self.message_user(request, str(exc).replace(str(source), "the file"), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:%s_%s_import" % self.get_model_info()))
        except OperationalError as exc:  # the upload is kept: the preview's Confirm button works again later
            if not is_lock_timeout(exc):
                raise
            self.message_user(request, f"Not imported. {lock_timeout_message()}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:%s_%s_import" % self.get_model_info()))
        source.unlink()
        result.write_rejects(folder / "rejects.csv")
        summary = (
            f"Imported: {result.rows} rows, {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.merged_duplicates} merged duplicates, "
            f"{result.rejected} rejected."
        )
        if result.rejected:
            self.message_user(
                request,
                format_html('{} <a href="{}">Download the rejected rows (CSV)</a>.', summary, self._rejects_url(token)),
                messages.WARNING,
            )
        else:
            self.message_user(request, summary, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:%s_%s_changelist" % self.get_model_info()))

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
        return reverse("admin:%s_%s_import_rejects" % self.get_model_info(), args=[token])

    def _owner(self, request) -> dict:
        return {"user": request.user.pk, "model": self.model._meta.label_lower}

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
        with open(source, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return token, source


def _rejects_preview(result) -> list[dict]:
    frame = result.rejects.head(PREVIEW_ROWS).reset_index()
    columns = [c for c in frame.columns if c not in ("line", "reason")]
    return [
        {
            "line": row["line"],
            "reason": row["reason"],
            "values": ", ".join(f"{c}={row[c]}" for c in columns if str(row[c]).strip()),
        }
        for row in frame.astype(object).where(frame.notna(), "").to_dict("records")
    ]


def _forget_old_uploads() -> None:
    folder = upload_folder()
    if not folder.is_dir():
        return
    # File ages: compared with the operating system's clock, the one that stamps st_mtime (not core.clock).
    cutoff = time.time() - KEEP_UPLOADS_SECONDS
    for child in folder.iterdir():
        if TOKEN.fullmatch(child.name) and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)
