from django.contrib import admin

from core.admin_audit import ReadOnlyAdminMixin
from core.admin_lists import NarrowListMixin, agent_column, date_column, text_column
from imports.admin import CleanImportExportMixin
from leads.actions import LeadAssignmentAdminMixin, run_changes_link
from leads.admin_classification import LeadClassificationAdminMixin
from leads.filters import AgentListFilter, LeadClassListFilter
from leads.importing import import_leads
from leads.models import AssignmentRun, Lead, LeadAssignment, VerificationRun
from leads.resources import LeadResource
from leads.scoping import AgentScopedAdminMixin

LEAD_NAME = text_column("name", "name", "9em")


@admin.register(Lead)
class LeadAdmin(
    AgentScopedAdminMixin,
    CleanImportExportMixin,
    LeadClassificationAdminMixin,
    LeadAssignmentAdminMixin,
    NarrowListMixin,
    admin.ModelAdmin,
):
    resource_classes = [LeadResource]
    import_service = staticmethod(import_leads)
    command_name = "import_leads"
    # Narrow columns (core/admin_lists.py), so that the agent column fits at 1366 px.
    list_display = [
        LEAD_NAME,
        text_column("email", "email", "11em"),
        text_column("company", "company", "7em"),
        "status",
        "class_badge",
        date_column("created_at", "created"),
        agent_column("assigned_agent", "agent", "7em"),
    ]
    list_display_links = [LEAD_NAME]
    list_filter = [LeadClassListFilter, "status", AgentListFilter]
    list_select_related = ["assigned_agent"]
    # Searched through the indexed keys (see get_search_results and leads.lookup.search_conditions).
    search_fields = ["name_key", "email", "company_key", "phone_key"]
    search_help_text = (
        "Part of a name, the beginning of an email or of a company (accents and case ignored), or a phone "
        "number by its last digits."
    )
    date_hierarchy = "created_at"
    raw_id_fields = ["assigned_agent"]
    readonly_fields = ["classification_reason", "name_key", "assigned_at", "added_at", "updated_at"]
    show_full_result_count = False


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
    raw_id_fields = ["lead", "from_agent", "to_agent", "run"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["checked_at", "ok", "source", "user"]
    list_filter = ["ok"]
