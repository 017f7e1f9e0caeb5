"""Where each role lands after logging in, in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.tests.factories import AgentFactory
from leads.models import LeadStatus
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_lands_on_my_leads_most_urgent_first(page, screenshots):
    now = timezone.now()
    ann = AgentFactory(name="Ann Agent")
    make_agent_login(ann, "ann", password=PASSWORD)
    LeadFactory(name="Stale one", assigned_agent=ann, created_at=now - timedelta(days=45))
    LeadFactory(name="Fresh one", assigned_agent=ann, created_at=now - timedelta(days=1))
    LeadFactory(name="Urgent one", assigned_agent=ann, created_at=now - timedelta(days=12))
    LeadFactory(name="Worked one", assigned_agent=ann, status=LeadStatus.QUALIFIED, created_at=now - timedelta(days=8))
    LeadFactory(name="Bob's lead", assigned_agent=AgentFactory(name="Bob"), created_at=now - timedelta(days=12))

    log_in(page, "ann")
    expect(page).to_have_url(re.compile(r"/admin/my-leads/$"))
    expect(page.locator("h1")).to_have_text("My leads")
    rows = page.locator("#my-leads tbody tr")
    expect(rows).to_have_count(4)
    assert rows.locator("th a").all_inner_texts() == ["Urgent one", "Fresh one", "Worked one", "Stale one"]
    expect(rows.first.locator(".lead-class")).to_have_text("urgent")
    expect(rows.first.locator(".next-change")).to_contain_text("stale on")
    expect(page.locator("#nav-sidebar")).to_contain_text("My leads")
    page.screenshot(path=screenshots / "my-leads.png", full_page=True)
    rows.first.locator("th a").click()
    expect(page.locator("#id_status")).to_be_visible()


def test_a_manager_lands_on_the_lead_overview(page):
    make_manager(password=PASSWORD)
    LeadFactory.create_batch(3)
    log_in(page, "manager")
    expect(page).to_have_url(re.compile(r"/admin/lead-overview/$"))
    expect(page.locator("h1")).to_have_text("Lead overview")
    expect(page.locator("#total-leads")).to_have_text("3")
    expect(page.locator("#nav-sidebar .app-workspace")).to_contain_text("Lead overview")
    page.click(".breadcrumbs a:text('Home')")
    expect(page.locator("#content-main .app-leads")).to_be_visible()
