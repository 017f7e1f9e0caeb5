"""The agent admin: the agents, their load and open leads by class on the changelist, (de)activation.

It lives with the leads because its columns and actions are about leads. The load is an annotation (sortable);
the per-class counts come from leads.loads over the agents shown on the page (one grouped query and the
agents), so the changelist costs the same few queries whatever the page size.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from agents.admin import AbsenceInline
from agents.admin_login import AgentLoginAdminMixin
from agents.models import Agent
from agents.resources import AgentResource
from core.admin_lists import NarrowListMixin, text_column
from core.clock import request_as_of
from core.db_lock import busy_as_message
from imports.admin import CleanImportExportMixin
from imports.admin_runs import import_history_links
from leads.assignment.locking import lock_assignments
from leads.classification import PRIORITY
from leads.loads import agent_loads, open_leads_count

AGENT_NAME = text_column("name", "name", "10em")


@admin.action(description="Activate the selected agents", permissions=["change"])
@busy_as_message("No agent was activated.")
def activate(modeladmin, request, queryset):
    with lock_assignments():  # not in the middle of an assignment run
        changed = queryset.filter(is_active=False).update(is_active=True, updated_at=request_as_of(request))
    modeladmin.message_user(
        request, f"Activated {changed} agents. Run the assignment to give them leads.", messages.SUCCESS
    )


@admin.action(description="Deactivate the selected agents", permissions=["change"])
@busy_as_message("No agent was deactivated.")
def deactivate(modeladmin, request, queryset):
    with lock_assignments():  # not in the middle of an assignment run
        changed = queryset.filter(is_active=True).update(is_active=False, updated_at=request_as_of(request))
    modeladmin.message_user(
        request,
        f"Deactivated {changed} agents. They get no new leads; `assign_leads --rebalance` takes back the open "
        "leads they hold.",
        messages.SUCCESS,
    )


def lead_list_url(**params) -> str:
    """The lead changelist filtered by agent and class (query parameters shared with the lead filters)."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("admin:leads_lead_changelist") + f"?{query}"


@admin.register(Agent)
class AgentAdmin(AgentLoginAdminMixin, CleanImportExportMixin, NarrowListMixin, admin.ModelAdmin):
    resource_classes = [AgentResource]
    import_kind = "agent"
    command_name = "import_agents"
    # Narrow columns (core/admin_lists.py), so that the loads fit at 1366 px.
    list_display = [
        AGENT_NAME,
        text_column("email", "email", "12em"),
        "is_active",
        "capacity",
        "routing",
        "open_leads",
        "open_leads_by_class",
    ]
    list_display_links = [AGENT_NAME]
    list_filter = ["is_active", "teams"]
    filter_horizontal = ["teams"]
    inlines = [AbsenceInline]
    search_fields = ["name", "email"]
    ordering = ["name", "email"]
    readonly_fields = ["created_at", "updated_at", "import_history"]
    fieldsets = [
        (None, {"fields": ["name", "email", "is_active", "capacity", "user", "arrival_emails"]}),
        (
            "Routing",
            {
                "fields": ["teams", "weight", "daily_cap", "time_zone", "working_hours"],
                "description": "Which pools the agent is in, its share of their leads, and when it takes them "
                "(absences below).",
            },
        ),
        ("History", {"fields": ["created_at", "updated_at", "import_history"]}),
    ]
    actions = [activate, deactivate]

    @admin.display(description="import history")
    def import_history(self, agent):
        return import_history_links(kind="agent", record_id=agent.pk)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_load=open_leads_count())

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        agents = list(changelist.result_list)  # evaluates (and caches) the page the template will show
        loads = agent_loads(agent_ids=[a.pk for a in agents], everyone=True, by_class_as_of=request_as_of(request))
        by_agent = {load.id: load.by_class for load in loads}
        for agent in agents:
            agent._by_class = by_agent.get(agent.pk, {})
        return changelist

    def get_search_results(self, request, queryset, search_term):
        # Emails are stored lower-cased and compare exactly (binary on MariaDB/MySQL), so the term is lower-cased
        # too; names compare ignoring case on every engine anyway.
        return super().get_search_results(request, queryset, search_term.lower())

    @admin.display(description="weight, cap", ordering="weight")
    def routing(self, agent):
        """The routing weight and, when set, the daily cap: `0.5 · 20/day` (one narrow column, to fit 1366 px)."""
        weight = f"{agent.weight.normalize():f}"
        return weight if agent.daily_cap is None else f"{weight} · {agent.daily_cap}/day"

    @admin.display(description="load", ordering="_load")
    def open_leads(self, agent):
        return format_html('<a href="{}">{}</a>', lead_list_url(agent=agent.pk), agent._load)

    @admin.display(description="open leads by class")
    def open_leads_by_class(self, agent):
        counts = getattr(agent, "_by_class", {})
        return format_html_join(
            " · ",
            '<a href="{}">{} {}</a>',
            ((lead_list_url(agent=agent.pk, lead_class=c.value), c.value, counts.get(c.value, 0)) for c in PRIORITY),
        )
