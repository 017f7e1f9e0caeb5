"""A manager imports a file whose country column is `Country/Region`, then narrows the lead list by country."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from leads.tests.roles import make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_imported_countries_are_filters_on_the_lead_list(page, tmp_path, settings):
    settings.IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    make_manager(password=PASSWORD)
    upload = tmp_path / "export.csv"
    upload.write_text(
        "Full Name,Email,Created Date,Country/Region\n"
        "Ada Lovelace,ada@example.org,2026-11-20,United Kingdom\n"
        "Emmy Noether,emmy@example.org,2026-11-21,Germany\n"
        "Lise Meitner,lise@example.org,2026-11-22,Germany\n"
        "Hedy Lamarr,hedy@example.org,2026-11-23,\n",
        encoding="utf-8",
    )
    log_in(page, "manager")
    page.goto("/admin/leads/lead/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[type=submit][value=Preview]")
    expect(page.locator(".count-created")).to_have_text("4")
    expect(page.locator("body")).to_contain_text("Germany")  # the preview's sample rows show the country
    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_contain_text("4 created")
    assert sorted(Lead.objects.values_list("country", flat=True)) == ["", "Germany", "Germany", "United Kingdom"]

    page.goto("/admin/leads/lead/")
    country_filter = page.locator('#changelist-filter details[data-filter-title="country"]')
    country_filter.locator("a", has_text="Germany").click()
    expect(page).to_have_url(re.compile(r"[?&]country=Germany$"))
    rows = page.locator("#result_list tbody tr th a")
    expect(rows).to_have_count(2)
    assert sorted(rows.all_inner_texts()) == ["Emmy Noether", "Lise Meitner"]
    page.locator('#changelist-filter details[data-filter-title="country"]').locator("a", has_text="No country").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Hedy Lamarr")
