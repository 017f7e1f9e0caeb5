"""A manager reverts an import from the import history: the confirmation page first, then the revert."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import expect

from conftest import FROZEN_AT
from imports.models import ImportRun
from leads.models import Lead
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def imported_run(tmp_path) -> int:
    """An import that created Ada and changed Old's company (an hour after Old was stored)."""
    LeadFactory(email="old@example.org", company="Before")
    path = tmp_path / "leads.csv"
    path.write_text("name,email,company,created_at\nAda,ada@example.org,Acme,2026-11-01\nOld,old@example.org,After,\n")
    out = StringIO()
    with time_machine.travel(FROZEN_AT + timedelta(hours=1), tick=False):
        call_command("import_leads", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())["run"]


def choose_revert(page, run_id: int) -> None:
    page.goto("/admin/imports/importrun/")
    page.check(f"input[name=_selected_action][value='{run_id}']")
    page.select_option("select[name=action]", "revert_runs")
    page.click("button[name=index]")


def test_a_manager_reverts_an_import_after_seeing_what_it_would_do(page, tmp_path):
    run_id = imported_run(tmp_path)
    make_manager("manager", password=PASSWORD)
    log_in(page, "manager")

    # Asked first, then taken back: nothing changes.
    choose_revert(page, run_id)
    expect(page.locator("#content")).to_contain_text("1 leads would be deleted")
    expect(page.locator("#content")).to_contain_text("1 would be restored to their values before the import")
    page.click("text=No, take me back")
    expect(page).to_have_url(re.compile(r"/admin/imports/importrun/$"))
    assert Lead.objects.filter(email="ada@example.org").exists()
    assert ImportRun.objects.get(pk=run_id).status == ImportRun.Status.DONE

    # Asked again and confirmed: the created lead goes, the changed one gets its value back.
    choose_revert(page, run_id)
    page.click("input[type=submit][value='Yes, revert']")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Import #{run_id} reverted: 1 deleted, 1 restored, 0 left as they were"
    )
    assert not Lead.objects.filter(email="ada@example.org").exists()
    assert Lead.objects.get(email="old@example.org").company == "Before"
    assert ImportRun.objects.get(pk=run_id).status == ImportRun.Status.REVERTED
    expect(page.locator("#result_list tbody")).to_contain_text("reverted", ignore_case=True)
