"""The admin's "Lead overview" page and its "Verify assignments" button.

The admin site (crm/admin_site.py) serves the views as `admin:lead_overview` and `admin:lead_overview_verify`
and links the page from the admin index for those who may see it.

Who sees it: managers, superusers and any other staff login with `leads.view_lead` that is not scoped to
its own leads. Agents get a 403 and no link: their lead list already is their summary. The button needs
`leads.assign_lead` as well: whoever answers for the assignments may check them.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from agents.roles import is_scoped_agent
from core.clock import request_as_of
from core.db_lock import is_lock_timeout, lock_timeout_message
from leads.classification import LeadClass
from leads.dashboard import lead_overview
from leads.team_overview import team_overview


def can_view_overview(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm("leads.view_lead") and not is_scoped_agent(user)


def can_verify_assignments(user) -> bool:
    return can_view_overview(user) and user.has_perm("leads.assign_lead")


def overview_view(request, *, site):
    from leads.sla_report import WINDOWS, sla_overview  # the SLA is its own service; the page only reads it

    if not can_view_overview(request.user):
        raise PermissionDenied
    overview = lead_overview(as_of=request_as_of(request))
    changelist = reverse("admin:leads_lead_changelist", current_app=site.name)
    agents = reverse("admin:agents_agent_changelist", current_app=site.name)
    context = {
        **site.each_context(request),
        "title": "Lead overview",
        "overview": overview,
        "class_bars": _class_bars(overview, changelist),
        "agent_bars": _agent_bars(overview, changelist),
        "unassigned_url": f"{changelist}?agent=none",
        "verification": overview.latest_verification,
        # The same loads as the chart, at the same moment: one set of numbers on the page.
        "teams": team_overview(as_of=overview.as_of, loads=overview.agents),
        "team_url": f"{agents}?teams__id__exact=",
        "agents_url": agents,
        "absences_now_url": reverse("admin:agents_absence_changelist", current_app=site.name) + "?when=now",
        "can_verify": can_verify_assignments(request.user),
        "sla": sla_overview(as_of=overview.as_of),
        "sla_windows": WINDOWS,
        "lead_list_url": changelist,
    }
    return TemplateResponse(request, "admin/leads/lead_overview.html", context)


@require_POST
def verify_view(request, *, site):
    if not can_verify_assignments(request.user):
        raise PermissionDenied
    # Imported here: the verification service belongs to the assignment work, the page only calls it.
    from leads.verification import record_verification, verify_assignments

    try:
        report = verify_assignments(as_of=request_as_of(request))
    except OperationalError as exc:
        if not is_lock_timeout(exc):
            raise
        messages.error(request, f"Assignments not verified. {lock_timeout_message()}")
        return redirect(reverse("admin:lead_overview", current_app=site.name))
    try:
        record_verification(report, source="admin", user=request.user, checked_at=request_as_of(request))
    except OperationalError as exc:  # the checks ran: say what they found, and that it could not be stored
        if not is_lock_timeout(exc):
            raise
        found = "every check holds" if report.ok else "; ".join(report.problems)
        messages.warning(request, f"Assignments verified: {found}. Not recorded: {lock_timeout_message()}")
        return redirect(reverse("admin:lead_overview", current_app=site.name))
    if report.ok:
        messages.success(request, "Assignments verified: every check holds.")
    else:
        messages.warning(request, f"Assignments verified: {len(report.problems)} problem(s), listed below.")
    return redirect(reverse("admin:lead_overview", current_app=site.name))


def _percent(value: int, scale: int) -> str:
    # A string with a dot whatever the locale, for inline CSS.
    return f"{100 * value / scale:.1f}" if scale else "0.0"


def _class_bars(overview, changelist: str) -> list[dict]:
    scale = max(overview.by_class.values(), default=0)
    return [
        {
            "key": lead_class.value,
            "label": lead_class.label,
            "count": overview.by_class[lead_class.value],
            "width": _percent(overview.by_class[lead_class.value], scale),
            "url": f"{changelist}?lead_class={lead_class.value}",
        }
        for lead_class in LeadClass
    ]


def _agent_bars(overview, changelist: str) -> list[dict]:
    # One scale for loads and capacities, so a capacity mark sits where that load would end.
    scale = max(
        [a.open_leads for a in overview.agents] + [a.capacity for a in overview.agents if a.capacity is not None],
        default=0,
    )
    return [
        {
            "agent": agent,
            "width": _percent(agent.open_leads, scale),
            "capacity_at": None if agent.capacity is None else _percent(agent.capacity, scale),
            "url": f"{changelist}?agent={agent.id}",
        }
        for agent in overview.agents
    ]
