"""Where each role lands in the admin, the "Workspace" section of the navigation, and an agent's "My leads".

What the admin site (crm/admin_site.py) does with the functions and the view here:

- the navigation (the index and the sidebar) starts with a "Workspace" section: the Lead overview for those
  who may see it (managers, superusers), My leads for logins that hold leads;
- after logging in without an explicit destination (`next` left at the admin index), managers land on the
  Lead overview and agents on My leads; the index itself stays reachable as Home;
- My leads (`admin:my_leads`) lists the login's open leads, most urgent first (the assignment's priority:
  urgent, fresh, active, stale; the longest waiting first), with class, reason and next change;
- a login linked to an agent switches that agent's arrival emails on My leads (`admin:my_arrival_emails`, a
  POST): only its own agent, whatever it posts.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from agents.models import Agent
from agents.roles import agent_id_of, is_scoped_agent
from core.clock import request_as_of
from leads.admin.classification import class_badge_html
from leads.admin.overview import can_view_overview
from leads.classification import explain, most_urgent_first
from leads.models import Lead

# My leads shows this many; the rest are one click away in the lead list.
MY_LEADS_SHOWN = 100


def holds_leads(user) -> bool:
    """My leads is for logins scoped to their own leads, and for any login linked to an agent."""
    return user.is_active and user.is_staff and (is_scoped_agent(user) or agent_id_of(user) is not None)


def landing_url(user, site) -> str:
    if can_view_overview(user):
        return reverse("admin:lead_overview", current_app=site.name)
    if holds_leads(user):
        return reverse("admin:my_leads", current_app=site.name)
    return reverse("admin:index", current_app=site.name)


def workspace_app(user, site) -> dict | None:
    """The navigation's first section, in the shape of an entry of AdminSite.get_app_list()."""
    pages = []
    if can_view_overview(user):
        pages.append(("Lead overview", "LeadOverview", reverse("admin:lead_overview", current_app=site.name)))
    if holds_leads(user):
        pages.append(("My leads", "MyLeads", reverse("admin:my_leads", current_app=site.name)))
    if not pages:
        return None
    models = [
        {"name": name, "object_name": object_name, "admin_url": url, "add_url": None, "view_only": True}
        for name, object_name, url in pages
    ]
    return {
        "name": "Workspace",
        "app_label": "workspace",
        "app_url": models[0]["admin_url"],
        "has_module_perms": True,
        "models": models,
    }


def my_leads_view(request, *, site):
    if not holds_leads(request.user):
        raise PermissionDenied
    as_of = request_as_of(request)
    mine = Lead.objects.open().filter(assigned_agent__user=request.user)
    leads = list(most_urgent_first(mine, as_of).only("id", "name", "company", "status", "created_at")[:MY_LEADS_SHOWN])
    total = len(leads) if len(leads) < MY_LEADS_SHOWN else mine.count()
    rows = []
    for lead in leads:
        why = explain(lead.status, lead.created_at, as_of)
        rows.append(
            {
                "lead": lead,
                "badge": class_badge_html(why.lead_class.value),
                "reason": why.reason,
                "next_change_at": why.next_change_at,
                "next_class": why.next_class,
                "url": reverse("admin:leads_lead_change", args=[lead.pk], current_app=site.name),
            }
        )
    context = {
        **site.each_context(request),
        "title": "My leads",
        "rows": rows,
        "total": total,
        "all_url": reverse("admin:leads_lead_changelist", current_app=site.name),
        "agent": Agent.objects.filter(user=request.user).only("id", "arrival_emails").first(),
        "arrival_emails_url": reverse("admin:my_arrival_emails", current_app=site.name),
    }
    return TemplateResponse(request, "admin/leads/my_leads.html", context)


@require_POST
def my_arrival_emails_view(request, *, site):
    """Turn the login's own agent's arrival emails on or off (the checkbox posts `arrival_emails=on` when on)."""
    if not holds_leads(request.user):
        raise PermissionDenied
    wanted = request.POST.get("arrival_emails") == "on"
    if not Agent.objects.filter(user=request.user).update(arrival_emails=wanted):
        raise Http404("No agent is linked to this login.")
    messages.success(
        request,
        "You will get an email for each lead assigned to you on arrival."
        if wanted
        else "You will no longer get an email for each lead assigned to you on arrival (digests still come).",
    )
    return HttpResponseRedirect(reverse("admin:my_leads", current_app=site.name))
