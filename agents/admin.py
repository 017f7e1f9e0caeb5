from django.contrib import admin

from agents.models import Agent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "is_active", "capacity", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    ordering = ["name", "email"]
    readonly_fields = ["created_at", "updated_at"]
    raw_id_fields = ["user"]
