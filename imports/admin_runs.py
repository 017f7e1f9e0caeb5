"""The import history in the admin: runs seen, never edited (core.admin_audit), and the revert action.

Registered from imports.apps.ImportsConfig.ready() (imports/admin.py is the upload and preview mixin). The
revert action follows django.contrib.admin.actions.delete_selected: the first POST shows what a revert would do
(a dry run of each selected run), the confirming POST reverts, then back to the list. The lead and agent pages
link to the runs that created or changed them (import_history_links).
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import OperationalError
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin_audit import ReadOnlyAdminMixin
from core.clock import request_as_of
from core.db_lock import is_lock_timeout, lock_timeout_message
from imports.models import ImportChange, ImportRun

SHOWN_SKIPPED = 50

# Inline: imports/templates belongs to the upload pages; this one page is small.
CONFIRMATION = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">Home</a> &rsaquo;
<a href="{% url 'admin:imports_importrun_changelist' %}">Import runs</a> &rsaquo; Revert</div>{% endblock %}
{% block content %}
<p>Reverting deletes the records an import created and restores the values it overwrote. Records changed or
deleted since the import are left as they are.</p>
{% for row in rows %}
<h2>{{ row.run }}</h2>
{% if row.refused %}<p class="errornote">{{ row.refused }}</p>{% else %}
<ul>
  <li>{{ row.result.deleted }} {{ row.run.kind }}s would be deleted</li>
  <li>{{ row.result.restored }} would be restored to their values before the import</li>
  <li>{{ row.result.skipped }} would be left as they are{% if row.result.skipped %}:{% endif %}</li>
</ul>
{% if row.skipped %}<table><thead><tr><th>record</th><th>why</th></tr></thead><tbody>
{% for record in row.skipped %}<tr><td>{{ record.email }}</td><td>{{ record.reason }}</td></tr>{% endfor %}
</tbody></table>{% if row.more %}<p>... and {{ row.more }} more.</p>{% endif %}{% endif %}
{% endif %}{% endfor %}
<form method="post">{% csrf_token %}
{% for obj in queryset %}<input type="hidden" name="{{ action_checkbox_name }}" value="{{ obj.pk }}">{% endfor %}
<input type="hidden" name="action" value="revert_runs"><input type="hidden" name="post" value="yes">
{% if revertable %}<input type="submit" value="Yes, revert">{% endif %}
<a href="{% url 'admin:imports_importrun_changelist' %}" class="button cancel-link">No, take me back</a>
</form>
{% endblock %}"""
)


@admin.action(description="Revert the selected imports", permissions=["revert"])
def revert_runs(modeladmin, request, queryset):
    from imports.reverting import CannotRevert, revert_run  # the engine (pandas): not at the admin's start-up

    as_of = request_as_of(request)
    runs = list(queryset.order_by("-pk"))
    if request.POST.get("post") != "yes":
        rows = []
        for run in runs:
            try:
                result = revert_run(run=run, dry_run=True, user=request.user, source="admin", as_of=as_of)
            except CannotRevert as exc:
                rows.append({"run": run, "refused": str(exc)})
                continue
            skipped = result.skipped_records[:SHOWN_SKIPPED]
            rows.append({"run": run, "result": result, "skipped": skipped, "more": result.skipped - len(skipped)})
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Revert imports?",
            "rows": rows,
            "revertable": any("result" in row for row in rows),
            "queryset": runs,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        }
        request.current_app = modeladmin.admin_site.name
        return TemplateResponse(request, CONFIRMATION, context)
    for run in runs:
        try:
            result = revert_run(run=run, user=request.user, source="admin", as_of=as_of)
        except CannotRevert as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
            continue
        except OperationalError as exc:
            if not is_lock_timeout(exc):
                raise
            modeladmin.message_user(
                request, f"Import #{run.pk} was not reverted. {lock_timeout_message()}", messages.ERROR
            )
            continue
        level = messages.WARNING if result.skipped else messages.SUCCESS
        modeladmin.message_user(
            request,
            f"Import #{run.pk} reverted: {result.deleted} deleted, {result.restored} restored, "
            f"{result.skipped} left as they were (changed or deleted since).",
            level,
        )
    return None


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "kind",
        "status",
        "dry_run",
        "source",
        "user",
        "rows",
        "created",
        "updated",
        "rejected",
        "queued_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "dry_run", "source"]
    search_fields = ["file_name"]
    list_select_related = ["user"]
    actions = [revert_runs]

    def has_revert_permission(self, request):
        return request.user.has_perm("imports.revert_importrun")

    def changelist_view(self, request, extra_context=None):
        from imports.runs import fail_abandoned_runs  # the engine (pandas): not at the admin's start-up

        fail_abandoned_runs(request_as_of(request))  # a run whose process died shows as failed after a restart
        return super().changelist_view(request, extra_context)


def import_history_links(*, kind: str, record_id: int | None):
    """Links to the runs that created or changed one record, newest first (one query)."""
    if record_id is None:
        return "-"
    changes = (
        ImportChange.objects.filter(record_id=record_id, run__kind=kind)
        .select_related("run")
        .order_by("-run__queued_at", "-run_id")
    )
    links = format_html_join(
        ", ",
        '<a href="{}">{} by import #{} ({}{})</a>',
        (
            (
                reverse("admin:imports_importrun_change", args=[c.run_id]),
                c.action,
                c.run_id,
                f"{timezone.localtime(c.run.queued_at):%Y-%m-%d %H:%M}",
                ", reverted" if c.run.status == ImportRun.Status.REVERTED else "",
            )
            for c in changes
        ),
    )
    return links or format_html("{}", "-")
