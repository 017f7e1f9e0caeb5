"""Every clicked admin flow once in the browser: what the rendered forms post is what the database gets.

Each test clicks what a person clicks (row boxes, the action menu, a label, a drop-down), so a form that
renders the wrong value (an empty radio, a label tied to another row) fails here even when a test that
posts ids directly passes.
"""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from agents.models import Agent
from agents.roles import AGENTS
from agents.tests.factories import AgentFactory
from leads.models import AssignmentRun, Lead, LeadAssignment, VerificationRun
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager, make_user
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def tick_rows(page, *names: str) -> None:
    for name in names:
        page.locator("#result_list tbody tr", has_text=name).locator("input.action-select").check()


def run_action(page, label: str) -> None:
    page.select_option("select[name=action]", label=label)
    page.click("button[name=index]")


@pytest.fixture
def manager(db):
    return make_manager(password=PASSWORD)


def test_assign_to_agent_gives_the_ticked_leads_to_the_agent_whose_name_is_clicked(page, manager):
    AgentFactory(name="Ann Smith", email="ann@sales.test")
    bob = AgentFactory(name="Bob Jones", email="bob@sales.test")
    AgentFactory(name="Cid Moore", email="cid@sales.test")
    for name in ("Lead Alpha", "Lead Beta", "Lead Gamma", "Lead Delta"):
        LeadFactory(name=name)

    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    tick_rows(page, "Lead Beta", "Lead Delta")
    run_action(page, "Assign to agent...")
    expect(page.locator("h1")).to_contain_text("Assign the selected leads to one agent")
    # The name, not the radio: the label must tick Bob's own radio (Ann's is the first row).
    page.get_by_text("Bob Jones <bob@sales.test>").click()
    expect(page.locator(f"#agent-{bob.pk}")).to_be_checked()
    page.click("input[type=submit][value=Assign]")
    expect(page.locator(".messagelist")).to_contain_text("Gave 2 leads to Bob Jones")

    assert dict(Lead.objects.exclude(assigned_agent=None).values_list("name", "assigned_agent")) == {
        "Lead Beta": bob.pk,
        "Lead Delta": bob.pk,
    }
    run = AssignmentRun.objects.get()
    assert (run.action, run.user, run.flags) == ("assign-to-agent", manager, {"agent": "bob@sales.test"})
    history = LeadAssignment.objects.values_list("lead__name", "from_agent", "to_agent", "reason", "run")
    assert sorted(history) == [
        ("Lead Beta", None, bob.pk, "manual", run.pk),
        ("Lead Delta", None, bob.pk, "manual", run.pk),
    ]

    # The lead's page tells the story in words, and its form still saves beside the read-only history.
    page.goto("/admin/leads/lead/")
    page.locator("#result_list tbody tr", has_text="Lead Beta").locator("a").first.click()
    history = page.locator("#assignment-history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("assigned to Bob Jones")
    expect(history.first).to_contain_text("manager")
    expect(history.first).to_contain_text(f"run {run.pk}, manual")
    page.fill("#id_company", "Beta Corp")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert Lead.objects.get(name="Lead Beta").company == "Beta Corp"


def test_unassign_takes_only_the_ticked_leads_away(page, manager):
    ann = AgentFactory(name="Ann Smith")
    LeadFactory(name="Kept Lead", assigned_agent=ann)
    LeadFactory(name="Freed Lead", assigned_agent=ann)

    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    tick_rows(page, "Freed Lead")
    run_action(page, "Unassign")
    expect(page.locator(".messagelist")).to_contain_text("Took 1 open leads away")

    assert dict(Lead.objects.values_list("name", "assigned_agent")) == {"Kept Lead": ann.pk, "Freed Lead": None}
    assert list(LeadAssignment.objects.values_list("lead__name", "from_agent", "to_agent", "reason")) == [
        ("Freed Lead", ann.pk, None, "unassigned")
    ]
    assert AssignmentRun.objects.get().action == "unassign"


def test_the_verify_button_records_a_verification_by_the_logged_in_user(page, manager):
    ann = AgentFactory(name="Ann Smith")
    LeadFactory(assigned_agent=ann)
    LeadFactory()  # open, without an agent: the check fails

    log_in(page, "manager")
    page.goto("/admin/lead-overview/")
    page.click("#verify-assignments")
    expect(page.locator(".messagelist")).to_contain_text("Assignments verified: 1 problem(s)")

    run = VerificationRun.objects.get()
    assert (run.ok, run.source, run.user, run.report["unassigned"]) == (False, "admin", manager, 1)
    expect(page.locator("#last-verification")).to_contain_text("1 open leads are not assigned to any agent.")


def test_agents_are_deactivated_and_activated_through_the_actions(page, manager):
    AgentFactory(name="Ann Smith")
    AgentFactory(name="Bob Jones")
    AgentFactory(name="Cid Moore", is_active=False)

    log_in(page, "manager")
    page.goto("/admin/agents/agent/")
    tick_rows(page, "Bob Jones")
    run_action(page, "Deactivate the selected agents")
    expect(page.locator(".messagelist")).to_contain_text("Deactivated 1 agents")
    assert dict(Agent.objects.values_list("name", "is_active")) == {
        "Ann Smith": True,
        "Bob Jones": False,
        "Cid Moore": False,
    }

    tick_rows(page, "Cid Moore")
    run_action(page, "Activate the selected agents")
    expect(page.locator(".messagelist")).to_contain_text("Activated 1 agents")
    assert dict(Agent.objects.values_list("name", "is_active")) == {
        "Ann Smith": True,
        "Bob Jones": False,
        "Cid Moore": True,
    }


def test_a_login_is_linked_to_an_agent_on_its_change_form(page, manager):
    ann = AgentFactory(name="Ann Smith")
    make_user("aaron", password=PASSWORD)  # first in the list: a wrong value would pick him
    carol = make_user("carol", password=PASSWORD)

    log_in(page, "manager")
    page.goto("/admin/agents/agent/")
    page.locator("#result_list tbody tr", has_text="Ann Smith").locator("a").first.click()
    page.select_option("#id_user", label="carol")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    ann.refresh_from_db()
    assert ann.user == carol
    assert list(carol.groups.values_list("name", flat=True)) == [AGENTS]
    assert not Group.objects.get(name=AGENTS).user_set.filter(username="aaron").exists()

    # The link works: carol sees the lead list scoped to Ann (empty), and no Lead overview.
    log_in(page, "carol")
    assert page.goto("/admin/lead-overview/").status == 403
