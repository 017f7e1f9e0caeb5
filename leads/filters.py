"""List filters for the lead changelist. Their URL parameters are part of the interface other pages link to:

?lead_class=fresh|urgent|active|stale|closed     LeadClassListFilter
?agent=<agent id> | ?agent=none                   AgentListFilter ("none" = unassigned)
?country=<country as stored> | ?country=-         CountryListFilter ("-" = no country)
"""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters

from agents.models import Agent
from core.clock import request_as_of
from leads.classification import LeadClass


class LeadClassListFilter(admin.SimpleListFilter):
    title = "class"
    parameter_name = "lead_class"

    def lookups(self, request, model_admin):
        return LeadClass.choices

    def queryset(self, request, queryset):
        # A bad value sends the admin back to the unfiltered list with "?e=1".
        value = self.value()
        if value is None:
            return queryset
        if value not in LeadClass.values:
            raise IncorrectLookupParameters(f"unknown class {value!r}")
        return queryset.of_class(value, as_of=request_as_of(request))


class SlaStateListFilter(admin.SimpleListFilter):
    """By SLA state (leads.sla.sla_state_condition): untouched assigned leads within their first-touch time, due
    soon, or breached, at the request's moment; in SQL."""

    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        from leads.sla_states import STATES

        return list(STATES.items())

    def queryset(self, request, queryset):
        from leads.sla_states import STATES, sla_state_condition

        value = self.value()
        if value is None:
            return queryset
        if value not in STATES:
            raise IncorrectLookupParameters(f"unknown SLA state {value!r}")
        return queryset.filter(sla_state_condition(value, as_of=request_as_of(request)))


class AgentListFilter(admin.SimpleListFilter):
    """By assigned agent; the choices come from the agents table, never from the leads."""

    title = "agent"
    parameter_name = "agent"
    UNASSIGNED = "none"

    def lookups(self, request, model_admin):
        agents = Agent.objects.order_by("name", "email").values_list("pk", "name", "email", "is_active")
        return [(self.UNASSIGNED, "Unassigned")] + [
            (str(pk), f"{name} <{email}>" + ("" if active else " (inactive)")) for pk, name, email, active in agents
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == self.UNASSIGNED:
            return queryset.filter(assigned_agent__isnull=True)
        if not value.isdigit():
            raise IncorrectLookupParameters(f"agent must be an agent id or {self.UNASSIGNED!r}, not {value!r}")
        return queryset.filter(assigned_agent_id=int(value))


class CountryListFilter(admin.SimpleListFilter):
    """By country as stored; the choices are the countries of the leads the user may see (LeadQuerySet.countries)."""

    title = "country"
    parameter_name = "country"
    NO_COUNTRY = "-"  # never a stored country: the import reads "-" as a missing value

    def lookups(self, request, model_admin):
        countries = model_admin.get_queryset(request).countries()
        return [(country, country) for country in countries] + [(self.NO_COUNTRY, "No country")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(country="" if value == self.NO_COUNTRY else value)
