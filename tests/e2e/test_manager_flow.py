"""A sales-ops lead's whole job in the browser: import a dirty file, filter, assign, check the overview."""

import re
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone
from playwright.sync_api import expect

from agents.tests.factories import AgentFactory
from leads.models import Lead, VerificationRun
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def dirty_leads_csv(today) -> str:
    def day(n):
        return (today - timedelta(days=n)).isoformat()

    return (
        "\n".join(
            [
                "First Name,Last Name,Email,Phone,Company,Lead Status,Created Date",
                f"Ada,Lovelace, ADA@Example.com ,+44 20 7946 0018,Analytical Engines,New,{day(10)}",
                f"Grace,Hopper,grace@example.com,,US Navy,Open - Not Contacted,{day(12)}",
                f"Mary,Jackson,mary@example.com,,NACA,new,{day(9)}",
                f"Katherine,Johnson,katherine@example.com,,NACA,Working - Contacted,{day(12)}",
                f"Hedy,Lamarr,hedy@example.com,,,New,{day(2)}",
                f"Emmy,Noether,emmy@example.com,,,New,{day(40)}",
                f"Alan,Turing,alan@example.com,,,Closed Won,{day(12)}",
                f"Dorothy,Vaughan,not-an-email,,,New,{day(10)}",
                f"Annie,Easley,annie@example.com,,,Sleeping,{day(10)}",
                "Sophie,Germain,sophie@example.com,,,New,2999-01-01",
                f",,nameless@example.com,,,New,{day(10)}",
            ]
        )
        + "\n"
    )


def loads_on_the_overview(page) -> dict[int, int]:
    rows = page.locator("#open-leads-per-agent li[data-agent]")
    return {int(r.get_attribute("data-agent")): int(r.get_attribute("data-load")) for r in rows.all()}


def loads_in_the_database() -> dict[int, int]:
    return dict(
        Lead.objects.open().exclude(assigned_agent=None).order_by()
        .values_list("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n")
    )  # fmt: skip


def test_a_manager_imports_filters_assigns_and_checks_the_overview_and_an_agent_sees_only_theirs(
    page, screenshots, tmp_path, settings
):
    if hasattr(settings, "IMPORT_UPLOAD_DIR"):
        settings.IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    now = timezone.now()
    make_manager(password=PASSWORD)
    ann_agent = AgentFactory(name="Ann Agent", email="ann@sales.test", capacity=6)
    bob_agent = AgentFactory(name="Bob Agent", email="bob@sales.test", capacity=6)
    make_agent_login(ann_agent, "ann", password=PASSWORD)
    LeadFactory.create_batch(2, assigned_agent=ann_agent, created_at=now - timedelta(days=11))  # urgent, Ann's
    upload = tmp_path / "dirty leads.csv"
    upload.write_text(dirty_leads_csv(timezone.localdate()), encoding="utf-8")

    # Import: the preview shows the rejected rows with their reasons before anything is written.
    log_in(page, "manager")
    page.goto("/admin/leads/lead/")
    page.click("a.import_link")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[type=submit][value=Preview]")
    rejected = page.locator("#import-rejects tbody tr")
    expect(rejected).to_have_count(4)
    expect(page.locator("#import-rejects")).to_contain_text("not-an-email")
    expect(page.locator("#import-rejects")).to_contain_text("Sleeping")
    expect(page.locator(".count-created")).to_have_text("7")
    assert Lead.objects.count() == 2
    page.screenshot(path=screenshots / "import-preview.png", full_page=True)

    with page.expect_download() as download_info:
        page.click("a.rejects-download")
    rejects = download_info.value.path().read_text(encoding="utf-8-sig")
    header, *rows = rejects.strip().splitlines()
    assert "line" in header and "reason" in header
    assert len(rows) == 4
    for value in ("not-an-email", "Sleeping", "2999-01-01", "nameless@example.com"):
        assert sum(value in row for row in rows) == 1, value

    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_contain_text("7 created")
    assert Lead.objects.count() == 9
    assert Lead.objects.get(email="ada@example.com").phone == "+44 20 7946 0018"

    # The overview before assigning: Ann holds 2, the 6 imported open leads wait.
    page.goto("/admin/")
    page.click("text=Lead overview")
    expect(page.locator("#unassigned-open")).to_have_text("6")
    assert loads_on_the_overview(page) == {ann_agent.pk: 2, bob_agent.pk: 0}

    # Urgent leads: the 3 imported ones and Ann's 2; assign them evenly.
    page.click('#leads-by-class li[data-class="urgent"] a.bar')
    expect(page).to_have_url(re.compile(r"/admin/leads/lead/\?lead_class=urgent$"))
    expect(page.locator("#result_list tbody tr")).to_have_count(5)
    # Tick each row: the select-all box only works once the admin's actions script has run, which a loaded
    # machine may not have done yet when the table is there.
    for box in page.locator("#result_list input.action-select").all():
        box.check()
    page.select_option("select[name=action]", label="Assign evenly to active agents")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Assigned 3 leads evenly")

    # The overview follows: 5 urgent leads spread over two agents, 3 open leads still unassigned.
    page.goto("/admin/lead-overview/")
    expect(page.locator("#unassigned-open")).to_have_text("3")
    loads = loads_on_the_overview(page)
    assert loads == loads_in_the_database()
    assert sum(loads.values()) == 5 and max(loads.values()) - min(loads.values()) <= 1
    page.click("#verify-assignments")
    expect(page.locator(".messagelist")).to_contain_text("Assignments verified")
    run = VerificationRun.objects.get()
    assert (run.source, run.user.username) == ("admin", "manager")
    expect(page.locator("#last-verification")).to_contain_text(run.report["problems"][0] if not run.ok else "OK")
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)

    # Ann logs in: her leads only, and none of the overview.
    log_in(page, "ann")
    page.goto("/admin/leads/lead/")
    mine = set(Lead.objects.filter(assigned_agent=ann_agent).values_list("name", flat=True))
    shown = page.locator("#result_list tbody tr th a")
    expect(shown).to_have_count(len(mine))
    assert set(shown.all_inner_texts()) == mine
    assert page.goto("/admin/lead-overview/").status == 403
    assert page.goto("/admin/leads/lead/import/").status == 403
