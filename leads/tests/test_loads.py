"""One definition of an agent's load: the selector's numbers, and every page and service showing the same ones."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from agents.models import Agent
from leads.assignment import assign_leads, load_agents
from leads.dashboard import lead_overview
from leads.loads import agent_loads, team_loads
from leads.models import Lead, LeadStatus
from leads.tests.scenarios import AS_OF, make_leads
from leads.verification import verify_assignments

pytestmark = pytest.mark.django_db

LEAD_LIST = reverse("admin:leads_lead_changelist")

# The team's open leads, per agent shown (active, or inactive and still holding open leads).
TEAM = {"ann@sales.test": 3, "bob@sales.test": 2, "cy@sales.test": 3, "dee@sales.test": 0, "eve@sales.test": 1}


@pytest.fixture
def team():
    agents = {
        name: Agent.objects.create(name=name.title(), email=f"{name}@sales.test", is_active=active, capacity=capacity)
        for name, active, capacity in [
            ("ann", True, 5),  # below capacity
            ("bob", False, None),  # inactive, still holding leads
            ("cy", True, 1),  # above capacity
            ("dee", True, 0),  # capacity 0: takes nothing
            ("eve", True, None),  # no capacity: no limit
            ("gus", False, None),  # inactive, holding nothing
        ]
    }
    make_leads(2, agent=agents["ann"], age_days=1)  # fresh
    make_leads(1, agent=agents["ann"], age_days=10)  # urgent
    make_leads(1, agent=agents["ann"], status=LeadStatus.LOST)  # closed: no load
    make_leads(2, agent=agents["bob"], status=LeadStatus.CONTACTED, age_days=10)  # active
    make_leads(3, agent=agents["cy"], age_days=1)
    make_leads(1, agent=agents["eve"], status=LeadStatus.QUALIFIED, age_days=60)  # stale
    make_leads(2, age_days=1)  # open, without an agent
    make_leads(1, status=LeadStatus.CONVERTED)  # closed, without an agent
    return agents


def test_the_selector_counts_open_leads_room_and_eligibility(team):
    loads = {a.email: a for a in agent_loads()}
    assert list(loads) == ["ann@sales.test", "bob@sales.test", "cy@sales.test", "dee@sales.test", "eve@sales.test"]
    assert {email: a.open_leads for email, a in loads.items()} == TEAM
    assert {email: a.new_leads for email, a in loads.items()} == {
        "ann@sales.test": 3,
        "bob@sales.test": 0,
        "cy@sales.test": 3,
        "dee@sales.test": 0,
        "eve@sales.test": 0,
    }
    assert {email: a.room for email, a in loads.items()} == {
        "ann@sales.test": 2,
        "bob@sales.test": 0,  # inactive
        "cy@sales.test": 0,  # above capacity
        "dee@sales.test": 0,  # capacity 0
        "eve@sales.test": None,  # no limit
    }
    assert [email for email, a in loads.items() if a.eligible] == ["ann@sales.test", "eve@sales.test"]
    assert [email for email, a in loads.items() if a.over_capacity] == ["cy@sales.test"]
    assert all(a.by_class is None for a in loads.values())


def test_it_lists_idle_inactive_agents_only_when_asked_for_everyone(team):
    everyone = {a.email: a.open_leads for a in agent_loads(everyone=True)}
    assert everyone == {**TEAM, "gus@sales.test": 0}
    some = agent_loads(agent_ids=[team["gus"].pk, team["cy"].pk], everyone=True)
    assert [(a.email, a.open_leads) for a in some] == [("cy@sales.test", 3), ("gus@sales.test", 0)]


def test_it_counts_open_leads_by_class_and_the_unassigned_ones(team):
    loads = team_loads(by_class_as_of=AS_OF)
    assert loads.unassigned == 2
    by_class = {a.email: a.by_class for a in loads.agents}
    assert by_class["ann@sales.test"] == {"urgent": 1, "fresh": 2, "active": 0, "stale": 0}
    assert by_class["bob@sales.test"] == {"urgent": 0, "fresh": 0, "active": 2, "stale": 0}
    assert by_class["eve@sales.test"] == {"urgent": 0, "fresh": 0, "active": 0, "stale": 1}
    assert by_class["dee@sales.test"] == {"urgent": 0, "fresh": 0, "active": 0, "stale": 0}
    assert all(sum(a.by_class.values()) == a.open_leads for a in loads.agents)


def test_it_takes_two_queries_whatever_the_number_of_agents(team, django_assert_num_queries):
    with django_assert_num_queries(2):
        agent_loads(everyone=True, by_class_as_of=AS_OF)
    Agent.objects.bulk_create(Agent(name=f"More {i}", email=f"more{i}@sales.test") for i in range(30))
    with django_assert_num_queries(2):
        assert len(agent_loads(everyone=True, by_class_as_of=AS_OF)) == 36


def test_the_assignment_plans_from_the_same_loads(team):
    assert {a.email: a.open_leads for a in load_agents().values()} == {**TEAM, "gus@sales.test": 0}
    result = assign_leads(seed=1, dry_run=True, as_of=AS_OF)
    assert result.before == TEAM
    assert result.capacity == {
        "ann@sales.test": 5,
        "bob@sales.test": None,
        "cy@sales.test": 1,
        "dee@sales.test": 0,
        "eve@sales.test": None,
    }


def test_the_verification_reports_the_same_loads(team):
    report = verify_assignments(as_of=AS_OF)
    assert report.per_agent == TEAM
    assert report.over_capacity == ["cy@sales.test"]
    assert report.on_inactive == 2 and report.unassigned == 2
    assert {row.email: row.by_class for row in report.agents} == {
        a.email: a.by_class for a in agent_loads(by_class_as_of=AS_OF)
    }


def test_the_overview_bars_show_the_same_loads(team, admin_client):
    overview = lead_overview(as_of=AS_OF)
    assert {a.email: a.open_leads for a in overview.agents} == TEAM
    assert overview.unassigned_open == 2
    page = admin_client.get(reverse("admin:lead_overview")).content.decode()
    bars = {int(agent): int(load) for agent, load in re.findall(r'data-agent="(\d+)" data-load="(\d+)"', page)}
    assert bars == {Agent.objects.get(email=email).pk: n for email, n in TEAM.items()}


def test_the_assign_to_agent_page_shows_the_same_loads(team, admin_client):
    ids = [str(pk) for pk in Lead.objects.open().unassigned().values_list("pk", flat=True)]
    response = admin_client.post(LEAD_LIST, {"action": "assign_to_one_agent", ACTION_CHECKBOX_NAME: ids})
    page = response.content.decode()
    rows = re.findall(r'<label for="agent-(\d+)">.*?</label></td>\s*<td>[^<]*</td>\s*<td>(\d+)</td>', page)
    active = {email: n for email, n in TEAM.items() if email != "bob@sales.test"}
    assert {int(agent): int(load) for agent, load in rows} == {
        Agent.objects.get(email=email).pk: n for email, n in active.items()
    }


def test_the_agent_list_shows_the_same_loads(team, admin_client):
    page = admin_client.get(reverse("admin:agents_agent_changelist")).content.decode()
    for a in agent_loads(everyone=True, by_class_as_of=AS_OF):
        assert f'href="{LEAD_LIST}?agent={a.id}">{a.open_leads}</a>' in page
        for lead_class, n in a.by_class.items():
            assert f'href="{LEAD_LIST}?agent={a.id}&amp;lead_class={lead_class}">{lead_class} {n}</a>' in page
