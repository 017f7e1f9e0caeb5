"""The routing data in the browser: an absence added on the agent's form, a routing rule edited."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from leads.models import RoutingRule
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(db):
    return make_manager(password=PASSWORD)


def test_a_manager_adds_an_absence_on_the_agent_form_and_gives_a_half_weight(page, manager):
    agent = AgentFactory(name="Nina New", email="nina@sales.test")
    emea = Team.objects.create(name="EMEA")
    log_in(page, "manager")
    page.goto(f"/admin/agents/agent/{agent.pk}/change/")
    page.fill("#id_weight", "0.5")
    page.select_option("#id_teams_from", label="EMEA")
    page.click("#id_teams_add")
    page.click("#absences-group .add-row a")
    page.fill("#id_absences-0-starts_at_0", "2026-12-24")
    page.fill("#id_absences-0-starts_at_1", "00:00:00")
    page.fill("#id_absences-0-ends_at_0", "2027-01-04")
    page.fill("#id_absences-0-ends_at_1", "09:00:00")
    page.fill("#id_absences-0-reason", "Holiday")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#id_absences-0-reason")).to_have_value("Holiday")

    absence = Absence.objects.get()
    assert (absence.agent, absence.reason) == (agent, "Holiday")
    assert (absence.starts_at, absence.ends_at) == (
        datetime(2026, 12, 24, tzinfo=UTC),
        datetime(2027, 1, 4, 9, tzinfo=UTC),
    )
    agent.refresh_from_db()
    assert str(agent.weight) == "0.50"
    assert list(agent.teams.all()) == [emea]


def test_a_manager_edits_a_routing_rule_and_a_bad_class_is_shown_on_the_form(page, manager):
    emea, web = Team.objects.create(name="EMEA"), Team.objects.create(name="Web")
    rule = RoutingRule.objects.create(position=1, name="France", team=emea, country="France")
    log_in(page, "manager")
    page.goto("/admin/leads/routingrule/")
    page.get_by_role("link", name="France").click()
    page.fill("#id_country", "France|Belgique")
    page.fill("#id_classification", "hot")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("'hot' is not a lead class")
    page.fill("#id_classification", "fresh|urgent")
    page.select_option("#id_team", label="Web")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rule.refresh_from_db()
    assert (rule.team, rule.country, rule.classification) == (web, "France|Belgique", "fresh|urgent")
