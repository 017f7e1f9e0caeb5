"""Why this agent, in the browser: a manager opens a routed lead and reads the explanation from its run."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from agents.models import Team
from agents.tests.factories import AgentFactory
from core import clock
from leads.tests.factories import LeadFactory
from leads.tests.recorded_runs import eligible_row, pool_report, record_change, record_run, skipped_row
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_reads_why_the_lead_went_to_its_agent(page):
    make_manager(password=PASSWORD)
    emea = Team.objects.create(name="EMEA")
    ann, bob = AgentFactory(email="ann@sales.test"), AgentFactory(email="bob@sales.test", weight="0.5")
    away = AgentFactory(email="away@sales.test")
    report = pool_report(
        emea,
        eligible=[
            eligible_row(ann, load=3, given=1),
            eligible_row(bob, load=1, given=0, weight="0.50", share="1/2"),
        ],
        skipped=[skipped_row(away, skipped="absent", until=clock.now() + timedelta(days=2), absence="holiday")],
    )
    run = record_run(pools={"EMEA": report}, seed=42)
    lead = LeadFactory(name="Jo Client", email="jo@client.test")
    record_change(lead, run, to_agent=ann, pool="EMEA", rule="France")

    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    page.get_by_role("link", name="Jo Client").click()
    section = page.locator("fieldset", has=page.get_by_role("heading", name="Why this agent"))
    expect(section).to_be_visible()
    expect(section.locator(".why")).to_contain_text("Rule “France”: pool EMEA.")
    expect(section.locator(".why")).to_contain_text("reaching (3 + 1) / 1 = 4.")
    expect(section.locator(".why")).to_contain_text(
        "bob@sales.test stood at the same level with room for one more: agents at the same level tie and the "
        "seed (42) decided."
    )
    chosen = section.locator("#why-eligible tr.chosen td")
    expect(chosen).to_have_text(["ann@sales.test", "3", "1.00", "1", "-", "-", "0", "1", "chosen"])
    expect(section.locator("#why-eligible tbody tr").nth(1)).to_contain_text("tied")
    expect(section.locator("#why-skipped tbody td")).to_have_text(
        ["away@sales.test", "absent: holiday, until 2026-11-26 12:00 UTC"]
    )
    expect(section.locator(".run")).to_contain_text(f"Run {run.pk} (assign, by the command assign_leads): seed 42")
