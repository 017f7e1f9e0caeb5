"""The API keys' admin in the browser: a key revoked by ticking it and confirming stops working at once."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from leads.models import ApiKey
from leads.tests.roles import make_user
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def lookup_status(base_url: str, key: str) -> int:
    request = urllib.request.Request(f"{base_url}/api/v1/leads?email=nobody@example.org")
    request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        json.loads(error.read())  # the API answers in JSON
        return error.code


def test_a_revoked_key_is_refused_from_then_on(page, live_server):
    make_user("root", superuser=True, password=PASSWORD)
    ApiKey.issue(name="Keep form")
    _record, key = ApiKey.issue(name="Old partner", source="partner")
    assert lookup_status(live_server.url, key) == 404  # accepted: no such lead

    log_in(page, "root")
    page.goto("/admin/leads/apikey/")
    row = page.locator("#result_list tbody tr", has_text="Old partner")
    expect(row).to_contain_text("partner")
    expect(row.locator("td.field-requests")).to_have_text("1")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label="Revoke the selected keys...")
    page.click("button[name=index]")
    expect(page.locator("#keys-to-revoke")).to_contain_text("Old partner")
    page.click("input[type=submit][value=Revoke]")
    expect(page.locator(".messagelist")).to_contain_text("Revoked 1 key.")

    assert lookup_status(live_server.url, key) == 401
    assert list(ApiKey.objects.filter(revoked_at__isnull=False).values_list("name", flat=True)) == ["Old partner"]
