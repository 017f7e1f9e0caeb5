from django.contrib import admin

from crm.admin_import import CleanImportExportMixin
from leads.importing import import_leads
from leads.models import AssignmentRun, Lead, LeadAssignment, VerificationRun
from leads.resources import LeadResource


@admin.register(Lead)
class LeadAdmin(CleanImportExportMixin, admin.ModelAdmin):
    resource_classes = [LeadResource]
    import_service = staticmethod(import_leads)
    command_name = "import_leads"
    list_display = ["name", "email", "company", "status", "created_at", "assigned_agent"]
    list_filter = ["status"]
    list_select_related = ["assigned_agent"]
    search_fields = ["name_key", "=email"]
    raw_id_fields = ["assigned_agent"]
    readonly_fields = ["name_key", "assigned_at", "added_at", "updated_at"]
    show_full_result_count = False


@admin.register(AssignmentRun)
class AssignmentRunAdmin(admin.ModelAdmin):
    list_display = ["id", "started_at", "source", "action", "user", "seed", "assigned", "moved", "unassigned_left"]
    list_filter = ["source", "action"]


@admin.register(LeadAssignment)
class LeadAssignmentAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "lead", "from_agent", "to_agent", "reason", "run"]
    list_filter = ["reason"]
    list_select_related = ["lead", "from_agent", "to_agent", "run"]
    raw_id_fields = ["lead", "from_agent", "to_agent", "run"]


@admin.register(VerificationRun)
class VerificationRunAdmin(admin.ModelAdmin):
    list_display = ["checked_at", "ok", "source", "user"]
    list_filter = ["ok"]
