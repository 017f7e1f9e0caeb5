"""The SLA data in the browser: a holiday added for a team, a policy edited in the policies list."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from agents.models import Holiday, Team
from leads.models import SlaPolicy
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(db):
    return make_manager(password=PASSWORD)


def test_a_manager_adds_a_teams_holiday_and_finds_it_under_its_year(page, manager):
    emea = Team.objects.create(name="EMEA")
    Holiday.objects.create(date=date(2026, 12, 25), name="Christmas")
    Holiday.objects.create(date=date(2027, 1, 1), name="New year")
    log_in(page, "manager")
    page.goto("/admin/agents/holiday/")
    page.get_by_role("link", name="Add holiday").click()
    page.fill("#id_date", "2026-12-26")
    page.fill("#id_name", "Boxing day")
    page.select_option("#id_team", label="EMEA")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#result_list")).to_contain_text("Boxing day")
    expect(page.locator("#result_list")).to_contain_text("Everyone")

    page.locator("#changelist-filter").get_by_role("link", name="EMEA", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Boxing day")
    page.locator("#changelist-filter").get_by_role("link", name="All").first.click()
    page.locator("#changelist-filter").get_by_role("link", name="2026", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).not_to_contain_text("New year")
    holiday = Holiday.objects.get(name="Boxing day")
    assert (holiday.date, holiday.team) == (date(2026, 12, 26), emea)


def test_a_manager_edits_a_policy_in_the_list_and_a_reminder_after_the_deadline_is_refused(page, manager):
    emea = Team.objects.create(name="EMEA")
    SlaPolicy.objects.create(first_touch_hours=4, remind_at_hours=3)
    mine = SlaPolicy.objects.create(team=emea, first_touch_hours=2)
    log_in(page, "manager")
    page.goto("/admin/leads/slapolicy/")
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_contain_text("Default (every pool without its own)")
    expect(rows.nth(1)).to_contain_text("EMEA")

    page.fill("#id_form-1-remind_at_hours", "5")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("5 is after the first touch deadline (2.00)")
    page.fill("#id_form-1-remind_at_hours", "1.5")
    page.fill("#id_form-1-escalate_after_hours", "8")
    page.fill("#id_form-1-max_reassignments", "2")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    mine.refresh_from_db()
    assert (mine.remind_at_hours, mine.escalate_after_hours, mine.max_reassignments) == (
        Decimal("1.50"),
        Decimal("8.00"),
        2,
    )
