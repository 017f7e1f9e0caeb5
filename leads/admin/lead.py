from django.contrib import admin

from core.admin_lists import NarrowListMixin, agent_column, date_column, text_column
from imports.admin import CleanImportExportMixin
from imports.admin_runs import import_history_links
from leads.admin.actions import LeadAssignmentAdminMixin
from leads.admin.classification import LeadClassificationAdminMixin
from leads.filters import AgentListFilter, CountryListFilter, LeadClassListFilter
from leads.importing import LEAD_SCHEMA
from leads.models import Lead
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
    import_schema = LEAD_SCHEMA
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
    list_filter = [LeadClassListFilter, "status", CountryListFilter, AgentListFilter]
    list_select_related = ["assigned_agent"]
    # Searched through the indexed keys (see get_search_results and leads.lookup.search_conditions).
    search_fields = ["name_key", "email", "company_key", "phone_key"]
    search_help_text = (
        "Part of a name, the beginning of an email or of a company (accents and case ignored), or a phone "
        "number by its last digits."
    )
    date_hierarchy = "created_at"
    raw_id_fields = ["assigned_agent"]
    readonly_fields = ["classification_reason", "name_key", "assigned_at", "added_at", "updated_at", "import_history"]
    show_full_result_count = False

    @admin.display(description="import history")
    def import_history(self, lead):
        return import_history_links(kind="lead", record_id=lead.pk)
