"""The import history in the admin: read-only runs, the revert action, links from leads and agents."""

import json
import socket
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse

from agents.models import Agent
from conftest import FROZEN_AT
from imports.models import ImportRun
from imports.runs import ABANDONED
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LATER = FROZEN_AT + timedelta(hours=1)
CHANGELIST = "admin:imports_importrun_changelist"


def import_file(tmp_path, text, command="import_leads") -> int:
    path = tmp_path / "file.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    with time_machine.travel(LATER, tick=False):
        call_command(command, str(path), "--json", stdout=out)
    return json.loads(out.getvalue())["run"]


@pytest.fixture
def run_id(tmp_path):
    LeadFactory(email="old@example.org", company="Before")
    return import_file(
        tmp_path, "name,email,company,created_at\nAda,ada@example.org,Acme,2026-11-01\nOld,old@example.org,After,\n"
    )


def test_runs_are_listed_and_shown_but_nobody_may_add_change_or_delete_them(admin_client, run_id):
    page = admin_client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert f"Import #{run_id} of file.csv (Done)" in page.content.decode()
    assert admin_client.get(reverse("admin:imports_importrun_add")).status_code == 403
    detail = admin_client.get(reverse("admin:imports_importrun_change", args=[run_id]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin_client.post(reverse("admin:imports_importrun_delete", args=[run_id])).status_code == 403


def test_the_list_shows_a_run_whose_process_died_as_failed(admin_client):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    run = ImportRun.objects.create(
        kind="lead", source="admin", status="running", worker=f"{socket.gethostname()}:{process.pid}"
    )
    assert admin_client.get(reverse(CHANGELIST)).status_code == 200
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", ABANDONED)


def test_the_revert_action_asks_first_then_reverts(admin_client, run_id):
    url = reverse(CHANGELIST)
    data = {"action": "revert_runs", "_selected_action": [run_id]}
    confirm = admin_client.post(url, data)
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "1 leads would be deleted" in text and "1 would be restored" in text and "Yes, revert" in text
    assert Lead.objects.count() == 2 and ImportRun.objects.get(pk=run_id).status == "done"
    with time_machine.travel(LATER + timedelta(minutes=1), tick=False):
        done = admin_client.post(url, {**data, "post": "yes"}, follow=True)
    assert f"Import #{run_id} reverted: 1 deleted, 1 restored, 0 left as they were" in done.content.decode()
    assert list(Lead.objects.values_list("email", "company")) == [("old@example.org", "Before")]
    run = ImportRun.objects.get(pk=run_id)
    assert (run.status, run.revert_source, run.reverted_by.username) == ("reverted", "admin", "admin")


def test_the_confirmation_says_why_a_run_cannot_be_reverted(admin_client, run_id):
    ImportRun.objects.filter(pk=run_id).update(dry_run=True)
    page = admin_client.post(reverse(CHANGELIST), {"action": "revert_runs", "_selected_action": [run_id]})
    text = page.content.decode()
    assert "was a dry run: it wrote nothing to revert" in text and "Yes, revert" not in text


def test_only_those_allowed_to_revert_see_the_action(client, run_id):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_importrun"))
    client.force_login(user)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200 and "revert_runs" not in page.content.decode()
    user.user_permissions.add(Permission.objects.get(codename="revert_importrun"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    assert "revert_runs" in client.get(reverse(CHANGELIST)).content.decode()


def test_a_lead_and_an_agent_link_to_the_runs_that_created_or_changed_them(admin_client, run_id, tmp_path):
    second = import_file(tmp_path, "name,email,company,created_at\nOld,old@example.org,Again,\n")
    old = Lead.objects.get(email="old@example.org")
    page = admin_client.get(reverse("admin:leads_lead_change", args=[old.pk])).content.decode()
    assert page.index(f"updated by import #{second}") < page.index(f"updated by import #{run_id}")
    assert reverse("admin:imports_importrun_change", args=[run_id]) in page
    ada = Lead.objects.get(email="ada@example.org")
    assert (
        f"created by import #{run_id}"
        in admin_client.get(reverse("admin:leads_lead_change", args=[ada.pk])).content.decode()
    )
    agent_run = import_file(tmp_path, "name,email\nAnn,ann@sales.test\n", command="import_agents")
    agent = Agent.objects.get()
    page = admin_client.get(reverse("admin:agents_agent_change", args=[agent.pk])).content.decode()
    assert f"created by import #{agent_run}" in page
