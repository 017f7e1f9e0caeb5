"""The admin of teams and absences. The agent admin itself lives in leads/admin/agent.py (its columns are about
leads); it shows AbsenceInline on the agent's form."""

from django.contrib import admin
from django.db.models import Count

from agents.models import Absence, Team
from core.clock import request_as_of


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


class AbsencePeriodListFilter(admin.SimpleListFilter):
    """Away now, coming up, or over, at the request's moment."""

    title = "when"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("now", "Away now"), ("upcoming", "Coming up"), ("past", "Over")]

    def queryset(self, request, queryset):
        as_of = request_as_of(request)
        if self.value() == "now":
            return queryset.filter(starts_at__lte=as_of, ends_at__gt=as_of)
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=as_of)
        if self.value() == "past":
            return queryset.filter(ends_at__lte=as_of)
        return queryset


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["agent", "starts_at", "ends_at", "reason"]
    list_select_related = ["agent"]
    list_filter = [AbsencePeriodListFilter, "starts_at"]
    search_fields = ["agent__name", "agent__email", "reason"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]
    autocomplete_fields = ["agent"]
