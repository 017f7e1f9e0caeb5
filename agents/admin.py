"""The admin of teams and absences. The agent admin itself lives in leads/admin/agent.py (its columns are about
leads); it shows AbsenceInline on the agent's form."""

from django.contrib import admin
from django.db.models import Count

from agents.models import Absence, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "members", "created_at"]
    search_fields = ["name", "name_key"]
    ordering = ["name"]
    filter_horizontal = ["managers"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("agents", distinct=True))

    @admin.display(description="members", ordering="_members")
    def members(self, team):
        return team._members


class AbsenceInline(admin.TabularInline):
    model = Absence
    fields = ["starts_at", "ends_at", "reason"]
    extra = 0
    ordering = ["-starts_at"]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["agent", "starts_at", "ends_at", "reason"]
    list_select_related = ["agent"]
    list_filter = ["starts_at"]
    search_fields = ["agent__name", "agent__email", "reason"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]
    autocomplete_fields = ["agent"]
