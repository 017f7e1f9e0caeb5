from django.contrib import admin

from agents.actions import AgentLoadAdminMixin
from agents.models import Agent


@admin.register(Agent)
class AgentAdmin(AgentLoadAdminMixin, admin.ModelAdmin):
    list_display = ["name", "email", "is_active", "capacity", "open_leads", "open_leads_by_class", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    ordering = ["name", "email"]
    readonly_fields = ["created_at", "updated_at"]
    raw_id_fields = ["user"]
