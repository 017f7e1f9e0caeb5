"""Admin pieces for assignment: the lead actions, the lead's assignment history, the runs' links.

The actions only translate between the admin and leads.assignment (the same service as the command);
each is gated by the `leads.assign_lead` permission and recorded as an AssignmentRun.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from agents.models import Agent
from core.admin_audit import ReadOnlyAdminMixin
from core.clock import request_as_of
from core.db_lock import busy_as_message
from leads import assignment  # its names are read when an action runs: the service loads numpy and pandas
from leads.models import AssignmentRun, LeadAssignment


@admin.action(description="Assign evenly to active agents", permissions=["assign"])
@busy_as_message("Nothing was assigned.")
def assign_evenly(modeladmin, request, queryset):
    selected = queryset.count()
    try:
        result = assignment.assign_leads(
            lead_ids=queryset.values("id"),
            source=AssignmentRun.Source.ADMIN,
            user=request.user,
            as_of=request_as_of(request),
        )
    except assignment.AssignmentError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    skipped = selected - result.assigned - result.unassigned_left
    text = f"Assigned {result.assigned} leads evenly to active agents (run {result.run_id}, seed {result.seed})."
    if skipped:
        text += f" {skipped} selected leads were already assigned or closed and were left alone."
    modeladmin.message_user(request, text, messages.SUCCESS)
    if result.unassigned_left:
        modeladmin.message_user(
            request,
            f"{result.unassigned_left} leads could not be placed: no active agent has room left.",
            messages.WARNING,
        )
    for note in result.notes:
        modeladmin.message_user(request, note, messages.WARNING)
    return


@admin.action(description="Assign to agent...", permissions=["assign"])
@busy_as_message("Nothing was assigned.")
def assign_to_one_agent(modeladmin, request, queryset):
    """Two steps, like delete_selected: the first POST shows the choice of agent, the second acts."""
    if request.POST.get("post") == "yes":
        agent = Agent.objects.active().filter(pk=request.POST.get("agent") or None).first()
        if agent is None:
            modeladmin.message_user(request, "Choose an active agent.", messages.ERROR)
        else:
            result = assignment.assign_to_agent(lead_ids=queryset.values("id"), agent=agent, user=request.user)
            text = f"Gave {result.assigned + result.moved} leads to {agent} (run {result.run_id})."
            if result.skipped:
                text += f" {result.skipped} selected leads were closed or already theirs and were left alone."
            modeladmin.message_user(request, text, messages.SUCCESS)
            capacity = agent.capacity
            after = result.after.get(agent.email, 0)
            if capacity is not None and after > capacity:
                modeladmin.message_user(
                    request,
                    f"{agent.email} now holds {after} open leads, above its capacity of {capacity}.",
                    messages.WARNING,
                )
            return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Assign the selected leads to one agent",
        "opts": opts,
        "queryset": queryset,
        "count": queryset.count(),
        "open_count": queryset.open().count(),
        **said_once(assignment.preview_assign_to_agent(lead_ids=queryset.values("id"))),
        # Re-post what the changelist posted: the ticked ids, and select_across for "all N leads".
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across") == "1",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/leads/lead/assign_to_agent.html", context)


def said_once(rows: list[dict]) -> dict:
    """The confirmation page's warnings: what holds whichever agent is chosen is said once, above the list
    (`notices`); a row is marked (`marks`) only where it differs from the others."""
    unbalanced = bool(rows) and all(row["spread"] > 1 for row in rows)
    over = bool(rows) and all(row["over_by"] for row in rows)
    notices = []
    lowest = min((row["spread"] for row in rows), default=0)
    if unbalanced:
        highest = max(row["spread"] for row in rows)
        spreads = f"{lowest}" if lowest == highest else f"{lowest} to {highest}"
        notices.append(
            f"Whichever agent you choose, the team is left unbalanced: spread {spreads} after the move "
            "(balanced is at most 1)."
        )
    if over:
        notices.append("Whichever agent you choose, the agent ends above its capacity (see load after).")
    for row in rows:
        marks = []
        if row["over_by"] and not over:
            marks.append(f"exceeds its capacity of {row['agent'].capacity} by {row['over_by']}")
        if row["spread"] > 1 and not unbalanced:
            marks.append(f"leaves the team unbalanced (spread {row['spread']})")
        elif unbalanced and row["spread"] > lowest:
            marks.append(f"spread {row['spread']}")
        row["marks"] = marks
    return {"rows": rows, "notices": notices}


@admin.action(description="Unassign", permissions=["assign"])
@busy_as_message("Nothing was unassigned.")
def unassign(modeladmin, request, queryset):
    result = assignment.unassign_leads(lead_ids=queryset.values("id"), user=request.user)
    text = f"Took {result.unassigned} open leads away from their agents (run {result.run_id})."
    if result.skipped:
        text += f" {result.skipped} selected leads were closed or unassigned and were left alone."
    modeladmin.message_user(request, text, messages.SUCCESS)


class LeadAssignmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A lead's assignment history, newest first, in words: when, from whom to whom, by whom, why."""

    model = LeadAssignment
    fk_name = "lead"
    template = "admin/leads/lead/assignment_history.html"
    fields = ["changed_at", "from_agent", "to_agent", "reason", "run"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]
    extra = 0
    verbose_name_plural = "assignment history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_agent", "to_agent", "run", "run__user")


class LeadAssignmentAdminMixin:
    """Wire into LeadAdmin: the assignment actions, the permission behind them, the history inline, and the
    agent made read-only on the form."""

    actions = [assign_evenly, assign_to_one_agent, unassign]
    inlines = [LeadAssignmentInline]

    def get_readonly_fields(self, request, obj=None):
        # The agent changes only through the actions, so that every change is audited (LeadAssignment).
        return [*super().get_readonly_fields(request, obj), "assigned_agent"]

    def has_assign_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('assign', opts)}")


@admin.display(description="changes")
def run_changes_link(run: AssignmentRun) -> str:
    url = reverse("admin:leads_leadassignment_changelist") + f"?run__id__exact={run.pk}"
    return format_html('<a href="{}">changes</a>', url)
