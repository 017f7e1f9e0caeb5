"""The admin of teams, absences and holidays. The agent admin itself lives in leads/admin/agent.py (its columns
are about leads); it shows AbsenceInline on the agent's form."""

from django.contrib import admin
from django.db.models import Count

from agents.models import Absence, Holiday, Team
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


class HolidayTeamListFilter(admin.SimpleListFilter):
    """Everyone's holidays, or one team's."""

    title = "team"
    parameter_name = "team"

    def lookups(self, request, model_admin):
        return [("everyone", "Everyone"), *((str(pk), name) for pk, name in Team.objects.values_list("pk", "name"))]

    def queryset(self, request, queryset):
        if self.value() == "everyone":
            return queryset.filter(team__isnull=True)
        if self.value() and self.value().isdigit():
            return queryset.filter(team=self.value())
        return queryset


class HolidayYearListFilter(admin.SimpleListFilter):
    """The years that have holidays, latest first."""

    title = "year"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        return [(str(day.year), str(day.year)) for day in Holiday.objects.dates("date", "year", order="DESC")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(date__year=int(self.value()))
        return queryset


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "applies_to"]
    list_select_related = ["team"]
    list_filter = [HolidayTeamListFilter, HolidayYearListFilter]
    search_fields = ["name", "team__name"]
    date_hierarchy = "date"
    ordering = ["-date", "team__name"]
    fields = ["date", "name", "team"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["empty_label"] = "Everyone"
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="for", ordering="team__name")
    def applies_to(self, holiday):
        return holiday.team.name if holiday.team_id else "Everyone"
