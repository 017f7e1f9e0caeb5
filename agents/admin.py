from django.contrib import admin

from agents.actions import AgentLoadAdminMixin
from agents.admin_login import AgentLoginAdminMixin
from agents.importing import import_agents
from agents.models import Agent
from agents.resources import AgentResource
from crm.admin_import import CleanImportExportMixin


@admin.register(Agent)
class AgentAdmin(AgentLoginAdminMixin, CleanImportExportMixin, AgentLoadAdminMixin, admin.ModelAdmin):
    resource_classes = [AgentResource]
    import_service = staticmethod(import_agents)
    command_name = "import_agents"
    list_display = ["name", "email", "is_active", "capacity", "open_leads", "open_leads_by_class", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    ordering = ["name", "email"]
    readonly_fields = ["created_at", "updated_at"]
