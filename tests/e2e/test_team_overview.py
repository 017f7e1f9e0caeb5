"""The Lead overview's teams in the browser: the loads per team, weighted, and who is away now."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOW = FROZEN_AT  # the server's clock starts here and ticks: Tuesday 12:00 UTC, 07:00 in New York


def cells(row) -> list[str]:
    return [" ".join(text.split()) for text in row.locator("th, td").all_inner_texts()]


def test_a_manager_reads_the_loads_per_team_and_who_is_away(page, screenshots, settings):
    settings.ROUTING_DEFAULT_TEAM = ""
    make_manager(password=PASSWORD)
    emea, americas = Team.objects.create(name="EMEA"), Team.objects.create(name="Americas")
    ann = AgentFactory(name="Ann", email="ann@sales.test")
    nina = AgentFactory(name="Nina", email="nina@sales.test", weight=Decimal("0.5"))
    abe = AgentFactory(name="Abe", email="abe@sales.test")
    olga = AgentFactory(
        name="Olga", email="olga@sales.test", time_zone="America/New_York", working_hours="Mon-Fri 09:00-17:00"
    )
    for agent in (ann, nina, abe):
        agent.teams.add(emea)
    olga.teams.add(americas)
    LeadFactory.create_batch(3, assigned_agent=ann)
    LeadFactory.create_batch(2, assigned_agent=nina)
    LeadFactory.create_batch(1, assigned_agent=abe)
    Absence.objects.create(
        agent=abe, starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=2), reason="Holiday"
    )

    log_in(page, "manager")
    page.goto("/admin/lead-overview/")
    teams = page.locator("#team-loads")
    # Ann 3, Nina 2 at half weight = 4, Abe 1 (absent): the spread of those available is 4 - 3.
    expect(teams.locator(f'tbody[data-team="{emea.pk}"] tr.pool')).to_contain_text("EMEA")
    assert cells(teams.locator(f'tbody[data-team="{emea.pk}"] tr.pool')) == [
        "EMEA", "3", "6", "1.00", "4.00", "1.00", "1"
    ]  # fmt: skip
    assert cells(teams.locator(f'tbody[data-team="{americas.pk}"] tr.pool')) == [
        "Americas", "1", "0", "0.00", "0.00", "-", "1"
    ]  # fmt: skip
    assert cells(teams.locator('tbody[data-team="every-agent"] tr.pool')) == [
        "every agent (leads no rule matches)", "4", "6", "0.00", "4.00", "1.00", "2"
    ]  # fmt: skip

    members = teams.locator(f'tbody[data-team="{emea.pk}"] details')
    expect(members.locator(f'tr[data-agent="{nina.pk}"]')).to_be_hidden()
    members.locator("summary").click()
    assert cells(members.locator(f'tr[data-agent="{nina.pk}"]')) == ["Nina", "0.50", "2", "4.00", "available"]
    assert cells(members.locator(f'tr[data-agent="{abe.pk}"]')) == ["Abe", "1", "1", "1.00", "absent"]

    away = page.locator("#away-list tbody tr")
    expect(away).to_have_count(2)
    assert cells(away.nth(0)) == [
        "Olga", "off hours (Mon-Fri 09:00-17:00, America/New_York)", "",
        "Tue 24 Nov 2026 14:00 (Tue 09:00 America/New_York)",
    ]  # fmt: skip
    assert cells(away.nth(1)) == ["Abe", "absent: Holiday", "Thu 26 Nov 2026 12:00", "Thu 26 Nov 2026 12:00"]
    page.screenshot(path=str(screenshots / "overview_teams.png"), full_page=True)

    # A team's name lists its members; an agent's name opens its form.
    teams.get_by_role("link", name="Americas").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Olga")
    page.go_back()
    page.locator("#away-list").get_by_role("link", name="Abe").click()
    expect(page.locator("#id_name")).to_have_value("Abe")
