import re
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.models import Agent
from leads.models import AssignmentRun, Lead, LeadAssignment, LeadStatus
from leads.tests.scenarios import loads, make_agents, make_leads

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:leads_lead_changelist")


def post_action(client, action, ids, **extra):
    return client.post(
        CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [str(i) for i in ids], **extra}, follow=True
    )


def staff(client, *codenames):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def test_assign_evenly_uses_the_service_and_records_an_admin_run(admin_client, admin_user):
    first, second = make_agents([(True, None), (True, None)])
    make_leads(4)
    make_leads(1, status=LeadStatus.LOST)
    ids = list(Lead.objects.values_list("id", flat=True))
    response = post_action(admin_client, "assign_evenly", ids)
    assert b"Assigned 4 leads evenly to active agents" in response.content
    assert b"1 selected leads were already assigned or closed" in response.content
    assert loads() == {first.id: 2, second.id: 2}
    run = AssignmentRun.objects.get()
    assert (run.source, run.action, run.user, run.assigned) == ("admin", "assign", admin_user, 4)
    assert set(run.changes.values_list("reason", flat=True)) == {"assigned"}


def test_assign_evenly_only_touches_the_selected_leads(admin_client):
    make_agents([(True, None)])
    make_leads(3)
    chosen = Lead.objects.order_by("id").first()
    post_action(admin_client, "assign_evenly", [chosen.pk])
    assert list(Lead.objects.filter(assigned_agent__isnull=False).values_list("id", flat=True)) == [chosen.pk]


def test_assign_evenly_explains_when_no_agent_is_active(admin_client):
    make_agents([(False, None)])
    make_leads(1)
    response = post_action(admin_client, "assign_evenly", Lead.objects.values_list("id", flat=True))
    assert b"No active agent" in response.content
    assert not AssignmentRun.objects.exists()


def test_assign_to_agent_asks_for_the_agent_and_warns_about_capacity_and_balance(admin_client):
    make_agents([(True, 1), (True, None)])
    make_leads(3)
    ids = list(Lead.objects.values_list("id", flat=True))
    response = post_action(admin_client, "assign_to_one_agent", ids)
    content = response.content.decode()
    assert "Assign the selected leads to one agent" in content
    assert "Exceeds its capacity of 1 by 2." in content
    # Either choice leaves a spread of 3: said once, above the list, not on every row.
    assert content.count("unbalanced") == 1
    assert "Whichever agent you choose, the team is left unbalanced: spread 3 after the move" in content
    assert all(f'value="{i}"' in content for i in ids)  # the selection is re-posted
    assert Lead.objects.unassigned().count() == 3  # nothing happens on the first POST


def test_assign_to_agent_acts_on_the_second_post_and_records_manual_changes(admin_client, admin_user):
    small, other = make_agents([(True, 1), (True, None)])
    make_leads(2)
    ids = list(Lead.objects.values_list("id", flat=True))
    response = post_action(admin_client, "assign_to_one_agent", ids, post="yes", agent=str(small.pk))
    assert b"Gave 2 leads to" in response.content
    assert b"above its capacity of 1" in response.content
    assert loads() == {small.id: 2, other.id: 0}
    run = AssignmentRun.objects.get()
    assert (run.action, run.user, run.flags) == ("assign-to-agent", admin_user, {"agent": small.email})
    assert set(LeadAssignment.objects.values_list("reason", "to_agent")) == {("manual", small.pk)}


def warning_cells(content: str) -> dict[str, str]:
    """Agent name -> the text of its row's warning cell."""
    cell = r"<td>.*?</td>\s*"
    row = r'<label for="[^"]*">([^<&]*) &lt;.*?</td>\s*' + 3 * cell + r"<td>(.*?)</td>"
    rows = re.findall(row, content, re.S)
    return {name: re.sub(r"<[^>]+>", "", cell).strip() for name, cell in rows}


def test_assign_to_agent_marks_only_the_rows_that_differ(admin_client):
    small, roomy, third = make_agents([(True, 1), (True, None), (True, None)])
    make_leads(1, agent=roomy)
    make_leads(1, agent=third)
    make_leads(2)
    ids = list(Lead.objects.unassigned().values_list("id", flat=True))
    content = post_action(admin_client, "assign_to_one_agent", ids).content.decode()
    # Small (0 -> 2, capacity 1) ends above capacity; to roomy or third: loads 3/1/0, spread 3; to small:
    # 2/1/1 with small full, spread 1: balance differs per row, so only the rows that unbalance say so.
    assert 'id="assign-notices"' not in content
    assert warning_cells(content) == {
        small.name: "Exceeds its capacity of 1 by 1.",
        roomy.name: "Leaves the team unbalanced (spread 3).",
        third.name: "Leaves the team unbalanced (spread 3).",
    }


def test_assign_to_agent_says_a_shared_warning_once_and_marks_the_worse_rows(admin_client):
    light, heavy = make_agents([(True, None), (True, None)])
    make_leads(2, agent=heavy)
    make_leads(4)
    ids = list(Lead.objects.unassigned().values_list("id", flat=True))
    content = post_action(admin_client, "assign_to_one_agent", ids).content.decode()
    # To light: 4/2, spread 2; to heavy: 0/6, spread 6.
    assert content.count("Whichever agent you choose") == 1
    assert "the team is left unbalanced: spread 2 to 6 after the move" in content
    assert warning_cells(content) == {light.name: "", heavy.name: "Spread 6."}


def test_assign_to_agent_posts_the_agent_its_form_renders(admin_client):
    first, second = make_agents([(True, None), (True, None)])
    make_leads(2)
    ids = list(Lead.objects.values_list("id", flat=True))
    content = post_action(admin_client, "assign_to_one_agent", ids).content.decode()
    radios = dict(re.findall(r'<input type="radio" name="agent" value="([^"]*)" id="([^"]*)"', content))
    labels = dict(re.findall(r'<label for="([^"]*)">([^<&]*) &lt;', content))
    assert radios == {str(first.pk): f"agent-{first.pk}", str(second.pk): f"agent-{second.pk}"}
    assert labels == {f"agent-{first.pk}": first.name, f"agent-{second.pk}": second.name}
    value = next(v for v, radio_id in radios.items() if labels[radio_id] == second.name)
    post_action(admin_client, "assign_to_one_agent", ids, post="yes", agent=value)
    assert loads() == {first.id: 0, second.id: 2}


def test_assign_to_agent_refuses_an_inactive_agent(admin_client):
    (gone,) = make_agents([(False, None)])
    make_leads(1)
    response = post_action(
        admin_client, "assign_to_one_agent", Lead.objects.values_list("id", flat=True), post="yes", agent=str(gone.pk)
    )
    assert b"Choose an active agent" in response.content
    assert Lead.objects.unassigned().count() == 1


def test_assign_to_agent_keeps_a_select_across_selection(admin_client):
    (agent,) = make_agents([(True, None)])
    make_leads(3)
    ticked = Lead.objects.first().pk  # the page's boxes are ticked, then "select all 3" is clicked
    response = admin_client.post(
        CHANGELIST,
        {"action": "assign_to_one_agent", "index": "0", "select_across": "1", ACTION_CHECKBOX_NAME: [ticked]},
    )
    assert b"3 leads selected" in response.content
    assert b'name="select_across" value="1"' in response.content
    admin_client.post(
        CHANGELIST,
        {
            "action": "assign_to_one_agent",
            "select_across": "1",
            ACTION_CHECKBOX_NAME: [ticked],
            "post": "yes",
            "agent": agent.pk,
        },
    )
    assert loads() == {agent.id: 3}


def test_unassign_takes_the_leads_away_and_records_it(admin_client):
    (agent,) = make_agents([(True, None)])
    make_leads(2, agent=agent)
    response = post_action(admin_client, "unassign", Lead.objects.values_list("id", flat=True))
    assert b"Took 2 open leads away" in response.content
    assert loads() == {agent.id: 0}
    assert AssignmentRun.objects.get().action == "unassign"
    assert set(LeadAssignment.objects.values_list("reason", flat=True)) == {"unassigned"}


def test_the_actions_need_the_assign_permission(client):
    (agent,) = make_agents([(True, None)])
    make_leads(2)
    staff(client, "view_lead", "change_lead")
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"assign_evenly" not in page.content and b"unassign" not in page.content
    for action in ("assign_evenly", "assign_to_one_agent", "unassign"):
        response = post_action(client, action, Lead.objects.values_list("id", flat=True), post="yes", agent=agent.pk)
        assert response.status_code == 200
    assert Lead.objects.unassigned().count() == 2
    assert not AssignmentRun.objects.exists()


def test_a_user_with_the_assign_permission_sees_and_uses_the_actions(client):
    make_agents([(True, None)])
    make_leads(2)
    staff(client, "view_lead", "change_lead", "assign_lead")
    page = client.get(CHANGELIST)
    assert b"Assign evenly to active agents" in page.content and b"Assign to agent..." in page.content
    post_action(client, "assign_evenly", Lead.objects.values_list("id", flat=True))
    assert Lead.objects.unassigned().count() == 0


def test_a_lead_shows_its_assignment_history(admin_client):
    first, second = make_agents([(True, None), (True, None)])
    make_leads(1)
    lead = Lead.objects.get()
    post_action(admin_client, "assign_to_one_agent", [lead.pk], post="yes", agent=first.pk)
    post_action(admin_client, "assign_to_one_agent", [lead.pk], post="yes", agent=second.pk)
    post_action(admin_client, "unassign", [lead.pk])
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "Assignment history" in page
    history = re.search(r'<table id="assignment-history">.*?</table>', page, re.S).group(0)
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", history.split("<tbody>")[1], re.S)
    ]
    runs = list(AssignmentRun.objects.order_by("-id").values_list("id", flat=True))
    assert rows == [  # newest first, in words
        ["24 Nov 2026 12:00", f"taken from {second.name}, now without an agent", "admin", f"run {runs[0]}, unassigned"],
        ["24 Nov 2026 12:00", f"moved from {first.name} to {second.name}", "admin", f"run {runs[1]}, manual"],
        ["24 Nov 2026 12:00", f"assigned to {first.name}", "admin", f"run {runs[2]}, manual"],
    ]
    assert ": None -> " not in page and "->" not in history


def test_the_history_names_the_command_behind_a_run(admin_client):
    make_agents([(True, None)])
    make_leads(1)
    call_command("assign_leads", "--seed", "3", stdout=StringIO())
    lead = Lead.objects.get()
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    run = AssignmentRun.objects.get()
    assert f"assigned to {lead.assigned_agent.name}" in page
    assert "the command assign_leads" in page
    assert f"run {run.pk}</a>, evenly" in page
    assert str(LeadAssignment.objects.get()) == (
        f"24 Nov 2026 12:00 — assigned to {lead.assigned_agent.name} by the command assign_leads (run {run.pk}, evenly)"
    )


def test_assignment_runs_are_read_only_and_link_to_their_changes(admin_client):
    make_agents([(True, None)])
    make_leads(2)
    post_action(admin_client, "assign_evenly", Lead.objects.values_list("id", flat=True))
    run = AssignmentRun.objects.get()
    page = admin_client.get(reverse("admin:leads_assignmentrun_changelist")).content.decode()
    link = reverse("admin:leads_leadassignment_changelist") + f"?run__id__exact={run.pk}"
    assert link in page
    assert admin_client.get(link).status_code == 200
    assert admin_client.get(reverse("admin:leads_assignmentrun_add")).status_code == 403
    detail = admin_client.get(reverse("admin:leads_assignmentrun_change", args=[run.pk])).content.decode()
    assert 'name="_save"' not in detail


def test_the_agent_changelist_shows_loads_by_class_with_links_in_a_few_queries(admin_client):
    agents = make_agents([(True, 5), (False, None)] * 10)
    for agent in agents:
        make_leads(2, agent=agent, age_days=1)
        make_leads(1, agent=agent, age_days=10)
        make_leads(1, agent=agent, status=LeadStatus.LOST)
    url = reverse("admin:agents_agent_changelist")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url).content.decode()
    assert len(queries) < 15
    agent = agents[0]
    lead_list = reverse("admin:leads_lead_changelist")
    assert f'href="{lead_list}?agent={agent.pk}">3</a>' in page
    assert f'href="{lead_list}?agent={agent.pk}&amp;lead_class=fresh">fresh 2</a>' in page
    assert f'href="{lead_list}?agent={agent.pk}&amp;lead_class=urgent">urgent 1</a>' in page
    assert admin_client.get(url, {"o": "5"}).status_code == 200  # sortable by load


def test_agents_can_be_deactivated_and_activated_in_bulk(admin_client):
    agents = make_agents([(True, None), (True, None)])
    ids = [str(a.pk) for a in agents]
    url = reverse("admin:agents_agent_changelist")
    admin_client.post(url, {"action": "deactivate", ACTION_CHECKBOX_NAME: ids})
    assert not Agent.objects.filter(is_active=True).exists()
    response = admin_client.post(url, {"action": "activate", ACTION_CHECKBOX_NAME: ids}, follow=True)
    assert b"Activated 2 agents" in response.content
    assert Agent.objects.filter(is_active=True).count() == 2


def test_the_change_form_does_not_change_the_agent_behind_the_audit_trail(admin_client):
    first, second = make_agents([(True, None), (True, None)])
    make_leads(1, agent=first)
    lead = Lead.objects.get()
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="assigned_agent"' not in page
    data = {
        "name": "Renamed",
        "email": lead.email,
        "phone": "",
        "company": "",
        "source": "",
        "status": "new",
        "created_at_0": "2026-11-20",
        "created_at_1": "10:00:00",
        "assigned_agent": second.pk,
        "assignment_history-TOTAL_FORMS": "0",
        "assignment_history-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.name, lead.assigned_agent) == ("Renamed", first)
