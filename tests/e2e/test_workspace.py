"""The admin workspace in a real browser: a manager's day, and what an agent sees."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.tests.factories import AgentFactory
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_sees_and_updates_only_their_own_leads(page):
    ann_agent = AgentFactory(name="Ann Agent", email="ann@sales.test")
    bob_agent = AgentFactory(name="Bob Agent", email="bob@sales.test")
    make_agent_login(ann_agent, "ann", password=PASSWORD)
    mine = LeadFactory(name="Mine Lead", assigned_agent=ann_agent)
    theirs = LeadFactory(name="Their Lead", assigned_agent=bob_agent)
    LeadFactory(name="Nobody's Lead")

    log_in(page, "ann")
    expect(page.locator("#content-main")).not_to_contain_text("Agents")
    page.goto("/admin/leads/lead/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Mine Lead")
    expect(page.locator("select[name=action]")).to_have_count(0)
    expect(page.locator("a.addlink")).to_have_count(0)

    rows.first.locator("a").first.click()
    expect(page.locator("#id_status")).to_be_visible()
    expect(page.locator("#id_assigned_agent")).to_have_count(0)
    expect(page.locator(".field-assigned_agent .readonly")).to_contain_text("Ann Agent")
    page.select_option("#id_status", LeadStatus.CONTACTED)
    page.fill("#id_phone", "+44 20 7946 0018")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    mine.refresh_from_db()
    assert (mine.status, mine.phone) == (LeadStatus.CONTACTED, "+44 20 7946 0018")

    assert page.goto(f"/admin/leads/lead/{theirs.pk}/change/").status == 404
    assert page.goto("/admin/lead-overview/").status == 403
    assert page.goto("/admin/agents/agent/").status == 403


def test_a_manager_opens_the_lead_overview_from_the_admin_index(page):
    now = timezone.now()
    make_manager(password=PASSWORD)
    agents = [AgentFactory(name=name, capacity=cap) for name, cap in [("Ann", 6), ("Bob", 4), ("Cleo", None)]]
    for agent, n in zip(agents, [5, 5, 2]):
        LeadFactory.create_batch(n, assigned_agent=agent, created_at=now - timedelta(days=10))
    LeadFactory.create_batch(3, created_at=now - timedelta(days=2))

    log_in(page, "manager")
    page.click("text=Lead overview")
    expect(page.locator("h1")).to_have_text("Lead overview")
    expect(page.locator("#unassigned-open")).to_have_text("3")
    bob_row = page.locator(f'li[data-agent="{agents[1].pk}"]')
    expect(bob_row.locator(".bar")).to_have_class("bar over")
    expect(bob_row.locator(".cap")).to_have_count(1)

    page.click('li[data-class="urgent"] .bar')
    expect(page).to_have_url(re.compile(r"/admin/leads/lead/\?lead_class=urgent$"))
    expect(page.locator("#result_list tbody tr")).to_have_count(12)
    assert Lead.objects.count() == 15
