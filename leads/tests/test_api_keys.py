"""API keys: made by `create_api_key` (shown once, only a hash stored), listed and revoked in the admin."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core import clock
from leads.models import ApiKey
from leads.tests.roles import make_user

pytestmark = pytest.mark.django_db


def create(*args) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_key_once_as_json_and_stores_only_its_hash():
    printed = json.loads(create("Web form", "--source", "website", "--json"))
    assert set(printed) == {"name", "key", "source"}
    assert (printed["name"], printed["source"]) == ("Web form", "website")
    record = ApiKey.objects.get()
    assert record.key_hash == ApiKey.hash_of(printed["key"])
    assert printed["key"] not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert record.key_start == printed["key"][:10]
    assert (record.requests, record.last_used_at, record.revoked_at) == (0, None, None)


def test_it_prints_the_key_as_text_by_default():
    lines = create("Zapier").splitlines()
    assert lines[0] == "API key for Zapier:"
    assert ApiKey.objects.get().key_hash == ApiKey.hash_of(lines[1])


def test_two_keys_of_one_name_differ():
    first, second = (json.loads(create("Form", "--json"))["key"] for _ in range(2))
    assert first != second
    assert ApiKey.objects.count() == 2


@pytest.mark.parametrize(("args", "message"), [(["  "], "NAME is empty"), (["x" * 101], "NAME is longer than 100")])
def test_a_bad_name_exits_2_and_makes_no_key(args, message):
    with pytest.raises(CommandError, match=message) as failure:
        create(*args)
    assert failure.value.returncode == 2
    assert not ApiKey.objects.exists()


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("root", superuser=True))
    return client


def test_the_admin_lists_keys_with_their_use(admin_client):
    record, _ = ApiKey.issue(name="Web form", source="website")
    ApiKey.objects.filter(pk=record.pk).update(requests=12, last_used_at=clock.now())
    page = admin_client.get("/admin/leads/apikey/").content.decode()
    for text in ("Web form", "website", record.key_start, "2026-11-24 12:00", ">12<"):
        assert text in page
    assert admin_client.get("/admin/leads/apikey/add/").status_code == 403  # keys come from the command


def test_revoking_asks_first_then_revokes_the_selected_keys(admin_client):
    keep, _ = ApiKey.issue(name="Keep")
    drop, _ = ApiKey.issue(name="Drop")
    form = {"action": "revoke_keys", "_selected_action": [drop.pk]}
    page = admin_client.post("/admin/leads/apikey/", form)
    assert page.status_code == 200
    assert "Requests with this key will be refused" in page.content.decode()
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()
    done = admin_client.post("/admin/leads/apikey/", {**form, "post": "yes"}, follow=True)
    assert "Revoked 1 key." in done.content.decode()
    assert list(ApiKey.objects.filter(revoked_at__isnull=False)) == [drop]
    assert ApiKey.objects.get(pk=drop.pk).revoked_at == clock.now()
    assert ApiKey.objects.get(pk=keep.pk).revoked_at is None
