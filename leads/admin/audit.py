"""The audit trail, read-only: assignment runs, the changes of each lead's agent, verification runs."""

from django.contrib import admin

from core.admin_audit import ReadOnlyAdminMixin
from core.admin_counts import EstimatedCountPaginator
from core.admin_lists import NarrowListMixin, agent_column, date_column, text_column
from leads.admin.actions import run_changes_link
from leads.models import AssignmentRun, LeadAssignment, VerificationRun


@admin.register(AssignmentRun)
class AssignmentRunAdmin(ReadOnlyAdminMixin, NarrowListMixin, admin.ModelAdmin):
    list_display = [
        "id",
        date_column("started_at", "started", with_time=True),
        "source",
        "action",
        "user",
        "seed",
        "assigned",
        "moved",
        "not_placed",
        run_changes_link,
    ]
    list_filter = ["source", "action"]

    @admin.display(description="not placed", ordering="unassigned_left")
    def not_placed(self, run):
        return run.unassigned_left


@admin.register(LeadAssignment)
class LeadAssignmentAdmin(ReadOnlyAdminMixin, NarrowListMixin, admin.ModelAdmin):
    list_display = [
        date_column("changed_at", "changed", with_time=True),
        text_column("lead__name", "lead", "12em"),
        agent_column("from_agent", "from", "8em"),
        agent_column("to_agent", "to", "8em"),
        "reason",
        text_column("run__id", "run", "5em"),
    ]
    list_filter = ["reason"]
    list_select_related = ["lead", "from_agent", "to_agent", "run"]
    # A row per change of agent: millions of them are counted by estimate (core/admin_counts.py).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    raw_id_fields = ["lead", "from_agent", "to_agent", "run"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["checked_at", "ok", "source", "user"]
    list_filter = ["ok"]
