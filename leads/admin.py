from django.contrib import admin

from crm.admin_audit import ReadOnlyAdminMixin
from crm.admin_import import CleanImportExportMixin
from leads.actions import LeadAssignmentAdminMixin, run_changes_link
from leads.admin_classification import LeadClassificationAdminMixin
from leads.filters import AgentListFilter, LeadClassListFilter
from leads.importing import import_leads
from leads.models import AssignmentRun, Lead, LeadAssignment, VerificationRun
from leads.resources import LeadResource
from leads.scoping import AgentScopedAdminMixin


@admin.register(Lead)
class LeadAdmin(
    AgentScopedAdminMixin,
    CleanImportExportMixin,
    LeadClassificationAdminMixin,
    LeadAssignmentAdminMixin,
    admin.ModelAdmin,
):
    resource_classes = [LeadResource]
    import_service = staticmethod(import_leads)
    command_name = "import_leads"
    list_display = ["name", "email", "company", "status", "class_badge", "created_at", "assigned_agent"]
    list_filter = [LeadClassListFilter, "status", AgentListFilter]
    list_select_related = ["assigned_agent"]
    # Searched through the normalized name key and the exact email (see get_search_results).
    search_fields = ["name_key", "=email"]
    search_help_text = "Part of a name (accents and case ignored) or an exact email."
    date_hierarchy = "created_at"
    raw_id_fields = ["assigned_agent"]
    readonly_fields = ["classification_reason", "name_key", "assigned_at", "added_at", "updated_at"]
    show_full_result_count = False


@admin.register(AssignmentRun)
class AssignmentRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "started_at", "source", "action", "user", "seed", "assigned", "moved", "unassigned_left", run_changes_link
    ]
    list_filter = ["source", "action"]


@admin.register(LeadAssignment)
class LeadAssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["changed_at", "lead", "from_agent", "to_agent", "reason", "run"]
    list_filter = ["reason"]
    list_select_related = ["lead", "from_agent", "to_agent", "run"]
    raw_id_fields = ["lead", "from_agent", "to_agent", "run"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["checked_at", "ok", "source", "user"]
    list_filter = ["ok"]
