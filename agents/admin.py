from django.contrib import admin

from agents.actions import AgentLoadAdminMixin
from agents.admin_login import AgentLoginAdminMixin
from agents.importing import import_agents
from agents.models import Agent
from agents.resources import AgentResource
from core.admin_lists import NarrowListMixin, text_column
from imports.admin import CleanImportExportMixin

AGENT_NAME = text_column("name", "name", "10em")


@admin.register(Agent)
class AgentAdmin(AgentLoginAdminMixin, CleanImportExportMixin, AgentLoadAdminMixin, NarrowListMixin, admin.ModelAdmin):
    resource_classes = [AgentResource]
    import_service = staticmethod(import_agents)
    command_name = "import_agents"
    # Narrow columns (core/admin_lists.py), so that the loads fit at 1366 px.
    list_display = [
        AGENT_NAME,
        text_column("email", "email", "12em"),
        "is_active",
        "capacity",
        "open_leads",
        "open_leads_by_class",
    ]
    list_display_links = [AGENT_NAME]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    ordering = ["name", "email"]
    readonly_fields = ["created_at", "updated_at"]

    def get_search_results(self, request, queryset, search_term):
        # Emails are stored lower-cased and compare exactly (binary on MariaDB/MySQL), so the term is lower-cased
        # too; names compare ignoring case on every engine anyway.
        return super().get_search_results(request, queryset, search_term.lower())
