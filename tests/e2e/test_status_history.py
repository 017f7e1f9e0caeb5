"""A lead's status history, in the browser: a manager moves a lead on in the admin and reads its history there."""

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadStatusChange
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_changes_a_status_and_reads_the_history_on_the_lead(page, screenshots):
    make_manager(password=PASSWORD)
    lead = LeadFactory(name="Jo Client", email="jo@client.test")

    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    page.get_by_role("link", name="Jo Client").click()
    section = page.locator("fieldset", has=page.get_by_role("heading", name="Status history"))
    expect(section).to_contain_text("No change of status recorded.")

    page.select_option("#id_status", "contacted")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rows = section.locator("#status-history-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("New → Contacted")
    expect(rows.first.locator("td").nth(2)).to_have_text("manager")
    expect(section.locator(".field-first_touched_at .readonly")).not_to_have_text("-")

    page.select_option("#id_status", "qualified")
    page.click("input[name=_continue]")
    expect(rows).to_have_count(2)
    expect(rows.locator("td:nth-child(2)")).to_have_text(["Contacted → Qualified", "New → Contacted"])
    page.screenshot(path=str(screenshots / "status-history.png"), full_page=True)

    lead.refresh_from_db()
    first = LeadStatusChange.objects.filter(lead=lead).order_by("changed_at", "id").first()
    assert lead.first_touched_at == first.changed_at  # the second change did not move it
    assert lead.last_activity_at >= lead.first_touched_at
    assert Lead.objects.get().status == "qualified"
