"""'Where would a lead go?' in the browser: from the rules list to the form, a typed lead and a picked one."""

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from agents.models import Team
from agents.tests.factories import AgentFactory
from leads.models import RoutingRule
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rules(db):
    """Each typed value changes the answer: a closed German lead goes to Carl, a Globex one to Kim, another German
    one to Ann, anything else to every agent (Bob has the fewest leads there)."""
    make_manager(password=PASSWORD)
    teams = {name: Team.objects.create(name=name) for name in ("Closed desk", "Key accounts", "EMEA")}
    for name, team in (("Carl", "Closed desk"), ("Kim", "Key accounts"), ("Ann", "EMEA")):
        agent = AgentFactory(name=name, email=f"{name.lower()}@sales.test")
        agent.teams.add(teams[team])
        LeadFactory(assigned_agent=agent)
    AgentFactory(name="Bob", email="bob@sales.test")
    RoutingRule.objects.create(
        position=1, name="Won back", team=teams["Closed desk"], country="Germany", classification="closed"
    )
    RoutingRule.objects.create(
        position=2, name="Globex", team=teams["Key accounts"], country="Germany", company_contains="globex"
    )
    RoutingRule.objects.create(position=3, name="Germany", team=teams["EMEA"], country="Germany")


def test_a_manager_asks_where_a_typed_lead_and_a_picked_lead_would_go(page, rules):
    log_in(page, "manager")
    page.goto("/admin/leads/routingrule/")
    page.get_by_role("link", name="Where would a lead go?").click()
    expect(page.locator("h1")).to_have_text("Where would a lead go?")

    page.fill("#id_email", "jo@globex.de")
    page.fill("#id_company", "Globex GmbH")
    page.fill("#id_country", "germany")
    page.select_option("#id_status", label="Contacted")
    page.click("#where-submit")
    expect(page.locator("#where-rule")).to_have_text("rule 2 “Globex”")
    expect(page.locator("#where-pool")).to_have_text("Key accounts")
    expect(page.locator("#where-agent")).to_have_text("Kim <kim@sales.test>")
    expect(page.locator("#eligible-agents tbody tr")).to_have_count(1)
    sent = parse_qs(urlparse(page.url).query)  # a GET: the answer's address can be shared
    assert (sent["company"], sent["country"], sent["status"]) == (["Globex GmbH"], ["germany"], ["contacted"])

    page.select_option("#id_status", label="Lost")
    page.click("#where-submit")
    expect(page.locator("#where-rule")).to_have_text("rule 1 “Won back”")
    expect(page.locator("#where-agent")).to_have_text("Carl <carl@sales.test>")

    page.fill("#id_created_at", "last week")
    page.click("#where-submit")
    expect(page.locator(".field-created_at .errorlist")).to_contain_text("Enter a valid date/time")
    expect(page.locator("#where-result")).to_have_count(0)

    LeadFactory(email="known@example.de", country="Germany")
    page.goto("/admin/leads/routingrule/where/")
    page.fill("#id_lead", "known@example.de")
    page.click("#where-submit")
    expect(page.locator("#where-result h2")).to_contain_text("known@example.de")
    expect(page.locator("#where-rule")).to_have_text("rule 3 “Germany”")
    expect(page.locator("#where-agent")).to_have_text("Ann <ann@sales.test>")
    expect(page.locator("#where-why")).to_contain_text("ann@sales.test has the lowest weighted load")
