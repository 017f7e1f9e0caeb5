"""The status history of every lead, read-only (leads.status_history writes it; core.admin_audit)."""

from django.contrib import admin

from core.admin_audit import ReadOnlyAdminMixin
from core.admin_counts import EstimatedCountPaginator
from core.admin_dates import ProbedDatesChangeList
from core.admin_lists import NarrowListMixin, date_column, text_column
from leads.models import LeadStatusChange


@admin.register(LeadStatusChange)
class LeadStatusChangeAdmin(ReadOnlyAdminMixin, NarrowListMixin, admin.ModelAdmin):
    list_display = [
        date_column("changed_at", "changed", with_time=True),
        text_column("lead__name", "lead", "12em"),
        "from_status",
        "to_status",
        "source",
        "by",
    ]
    list_filter = ["source", "to_status", "from_status"]
    list_select_related = ["lead", "user", "api_key"]
    raw_id_fields = ["lead", "user", "api_key", "import_run"]
    date_hierarchy = "changed_at"
    # A row per change of status: millions of them are counted by estimate (core/admin_counts.py).
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_changelist(self, request, **kwargs):
        return ProbedDatesChangeList

    @admin.display(description="by")
    def by(self, change):
        return change.by_text
