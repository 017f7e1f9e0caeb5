"""A long lead list in the browser: past ADMIN_EXACT_COUNT_UP_TO its count says it is an estimate, and it pages on."""

import re

import pytest
from django.contrib import admin
from playwright.sync_api import expect

from leads.models import Lead
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_reads_an_estimated_count_and_pages_through_the_list(page, screenshots, settings, monkeypatch):
    # A tiny threshold and pages of two leads stand in for ten million leads and pages of a hundred.
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    monkeypatch.setattr(admin.site._registry[Lead], "list_per_page", 2)
    make_manager(password=PASSWORD)
    for i in range(7):
        LeadFactory(name=f"Paged Lead {i}")

    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    paginator = page.locator("p.paginator")
    expect(paginator).to_contain_text("leads (estimated)")
    expect(paginator.locator(".estimated-count")).to_have_attribute("title", re.compile("ADMIN_EXACT_COUNT_UP_TO"))
    expect(page.locator("#changelist-search .small.quiet")).to_contain_text("results (estimated)")
    first = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(first) == 2

    paginator.get_by_role("link", name="2", exact=True).click()
    expect(page.locator("p.paginator .this-page")).to_have_text("2")
    second = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(second) == 2 and not set(first) & set(second)
    expect(page.locator("p.paginator")).to_contain_text("leads (estimated)")
    page.screenshot(path=str(screenshots / "estimated-count.png"), full_page=True)

    page.goto("/admin/leads/lead/?p=40")
    expect(page.locator("p.paginator")).to_contain_text("Page 40 is past the end of the list")
    page.get_by_role("link", name="back to page 1").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
