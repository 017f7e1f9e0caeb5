"""A manager narrows the lead list to the leads breaching their SLA, then to those due soon."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from agents.models import Agent
from core import clock
from leads.models import Lead, LeadStatus, SlaPolicy
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_sla_filter_narrows_the_lead_list(page):
    make_manager(password=PASSWORD)
    ana = Agent.objects.create(
        name="Ana", email="ana@acme.example", time_zone="Europe/Paris", working_hours="Mon-Fri 09:00-17:00"
    )
    SlaPolicy.objects.create(first_touch_hours=Decimal(4), remind_at_hours=Decimal(3))
    now = clock.now()  # Tuesday 13:00 in Paris
    for name, ago in (
        ("Late Lead", timedelta(days=10)),
        ("Soon Lead", timedelta(hours=3, minutes=30)),
        ("New Lead", timedelta(minutes=30)),
    ):
        lead = Lead.objects.create(
            name=name,
            email=f"{name.split()[0].lower()}@client.example",
            status=LeadStatus.NEW,
            created_at=now - ago,
            assigned_agent=ana,
        )
        Lead.objects.filter(pk=lead.pk).update(assigned_at=now - ago)
    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    sla = page.locator('#changelist-filter details[data-filter-title="SLA"]')
    sla.locator("a", has_text="breached").click()
    expect(page).to_have_url(re.compile(r"[?&]sla=breached$"))
    rows = page.locator("#result_list tbody tr th a")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Late Lead")
    page.locator('#changelist-filter details[data-filter-title="SLA"]').locator("a", has_text="due soon").click()
    expect(page).to_have_url(re.compile(r"[?&]sla=due-soon$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Soon Lead")
    page.locator('#changelist-filter details[data-filter-title="SLA"]').locator("a", has_text="within").click()
    expect(rows.first).to_have_text("New Lead")


def test_the_overview_links_the_leads_breaching_their_sla(page):
    make_manager(password=PASSWORD)
    ana = Agent.objects.create(name="Ana", email="ana@acme.example")
    SlaPolicy.objects.create(first_touch_hours=Decimal(4))
    now = clock.now()
    for name, ago in (("Late Lead", timedelta(hours=30)), ("New Lead", timedelta(hours=1))):
        lead = Lead.objects.create(
            name=name,
            email=f"{name.split()[0].lower()}@client.example",
            status=LeadStatus.NEW,
            created_at=now - ago,
            assigned_agent=ana,
        )
        Lead.objects.filter(pk=lead.pk).update(assigned_at=now - ago)
    log_in(page, "manager")
    page.goto("/admin/lead-overview/")
    expect(page.locator("#sla-agents tr[data-agent] td.breaching")).to_have_text("1")
    page.locator("#sla-breaching a").click()
    expect(page).to_have_url(re.compile(r"[?&]sla=breached$"))
    rows = page.locator("#result_list tbody tr th a")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Late Lead")
