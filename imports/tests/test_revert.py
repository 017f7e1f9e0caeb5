"""Reverting an import run (imports.reverting, manage.py revert_import): the database comes back row for row,
field for field, except for the records changed since, which are listed with the reason."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import Agent
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from core import clock
from imports.models import ImportChange, ImportRun
from leads.assignment.service import assign_leads
from leads.models import AssignmentRun, Lead, LeadAssignment
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LATER = FROZEN_AT + timedelta(hours=1)  # the import runs at LATER; edits and reverts after it
HEADER = "name,email,phone,company,source,status,created_at\n"


def write(tmp_path, text, name="leads.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_command(name, *args) -> dict:
    out = StringIO()
    call_command(name, *map(str, args), "--json", stdout=out)
    return json.loads(out.getvalue())


def revert(run_id, *args) -> dict:
    return run_command("revert_import", run_id, *args)


def revert_failing(run_id, *args) -> tuple[int, str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("revert_import", str(run_id), *args, stdout=out)
    return error.value.returncode, str(error.value), out.getvalue()


def rows(model=Lead):
    return list(model.objects.order_by("pk").values())


@pytest.fixture
def existing():
    """Leads and agents before the import: one assigned, one closed, one with every field filled."""
    agent = AgentFactory(email="ann@sales.test")
    leads = [
        LeadFactory(email="kept@example.org", name="Kept Asis", company="Same Co", phone="+1 555 0100"),
        LeadFactory(email="edit@example.org", name="Eve Before", company="Old Co", source="Web", country="France"),
        LeadFactory(email="won@example.org", name="Will Before", status="converted", company="Won Co"),
        LeadFactory(email="held@example.org", name="Held Before", assigned_agent=agent, assigned_at=FROZEN_AT),
    ]
    return agent, leads


IMPORT = HEADER + (
    "Kept Asis,kept@example.org,+1 555 0100,Same Co,,,\n"  # unchanged
    "Eve After,edit@example.org,+44 20 7946 0000,New Co,Fair,contacted,2026-10-01T08:30:00Z\n"  # updated
    "Will After,won@example.org,,Won Co,,lost,\n"  # updated (status)
    "Held After,held@example.org,,,,,\n"  # updated (name)
    "Ada New,ada@example.org,+1 555 0111,Acme,Web,new,2026-11-20T10:00:00Z\n"  # created
    "Bo New,bo@example.org,,Bo Inc,,qualified,2026-11-21\n"  # created
)


def do_import(tmp_path, text=IMPORT, *, at=LATER, name="leads.csv") -> int:
    with time_machine.travel(at, tick=False):
        return run_command("import_leads", write(tmp_path, text, name))["run"]


def test_a_revert_brings_every_row_back_field_for_field(tmp_path, existing):
    before_leads, before_agents = rows(), rows(Agent)
    run_id = do_import(tmp_path)
    assert ImportRun.objects.get(pk=run_id).updated == 3
    assert Lead.objects.get(email="edit@example.org").company == "New Co"
    with time_machine.travel(LATER + timedelta(minutes=5), tick=False):
        summary = revert(run_id)
    assert summary == {
        "run": run_id,
        "deleted": 2,
        "restored": 3,
        "skipped": 0,
        "skipped_records": [],
        "dry_run": False,
    }
    assert rows() == before_leads  # updated_at and the search keys included
    assert rows(Agent) == before_agents
    run = ImportRun.objects.get(pk=run_id)
    assert (run.status, run.reverted_at, run.revert_source) == (
        "reverted",
        LATER + timedelta(minutes=5),
        "revert_import",
    )
    assert run.revert_report["deleted"] == 2 and run.revert_report["restored"] == 3


def test_a_revert_dry_run_says_what_it_would_do_and_changes_nothing(tmp_path, existing):
    run_id = do_import(tmp_path)
    after_import = rows()
    summary = revert(run_id, "--dry-run")
    assert (summary["deleted"], summary["restored"], summary["skipped"], summary["dry_run"]) == (2, 3, 0, True)
    assert rows() == after_import
    assert ImportRun.objects.get(pk=run_id).status == "done"
    assert revert(run_id)["deleted"] == 2  # and it can still be reverted


def test_records_changed_after_the_import_are_left_as_they_are_and_listed_with_exit_1(tmp_path, existing):
    agent, _ = existing
    before = {lead["email"]: lead for lead in rows()}
    run_id = do_import(tmp_path)
    with time_machine.travel(LATER + timedelta(minutes=1), tick=False):
        edited = Lead.objects.get(email="edit@example.org")  # updated by the import, then edited in the admin
        edited.phone = "+33 1 00 00 00 00"
        edited.save()
        Lead.objects.get(email="bo@example.org").delete()  # created by the import, then deleted
        # created by the import, then assigned: assignment writes updated_at in its set-based UPDATE
        assign_leads(lead_ids=Lead.objects.filter(email="ada@example.org").values("pk"), seed=1, as_of=clock.now())
    assert Lead.objects.get(email="ada@example.org").assigned_agent == agent
    after_changes = {lead["email"]: lead for lead in rows()}
    with time_machine.travel(LATER + timedelta(minutes=2), tick=False):
        code, message, out = revert_failing(run_id, "--json")
    assert code == 1 and message == "3 records were left as they were (changed or deleted after the import)."
    summary = json.loads(out)
    assert summary["deleted"] == 0 and summary["restored"] == 2 and summary["skipped"] == 3
    assert summary["skipped_records"] == [
        {"email": "ada@example.org", "reason": "changed after the import"},
        {"email": "bo@example.org", "reason": "deleted after the import"},
        {"email": "edit@example.org", "reason": "changed after the import"},
    ]
    now = {lead["email"]: lead for lead in rows()}
    assert now["edit@example.org"] == after_changes["edit@example.org"]
    assert now["ada@example.org"] == after_changes["ada@example.org"]
    assert now["won@example.org"] == before["won@example.org"]
    assert now["held@example.org"] == before["held@example.org"]
    assert ImportRun.objects.get(pk=run_id).status == "reverted"


def import_again(tmp_path) -> int:
    return do_import(
        tmp_path, HEADER + "Ada Again,ada@example.org,,,,,\n", at=LATER + timedelta(minutes=1), name="again.csv"
    )


def test_a_record_imported_again_later_is_left_to_the_later_import(tmp_path, existing):
    first = do_import(tmp_path)
    import_again(tmp_path)
    code, _, out = revert_failing(first, "--json")
    assert code == 1
    assert json.loads(out)["skipped_records"] == [{"email": "ada@example.org", "reason": "changed after the import"}]
    assert Lead.objects.get(email="ada@example.org").name == "Ada Again"


def test_reverting_the_later_import_first_lets_the_earlier_one_revert_fully(tmp_path, existing):
    before = rows()
    first = do_import(tmp_path)
    second = import_again(tmp_path)
    assert revert(second)["restored"] == 1
    assert Lead.objects.get(email="ada@example.org").name == "Ada New"
    assert revert(first)["skipped"] == 0
    assert rows() == before


def test_the_assignment_history_of_a_deleted_lead_goes_with_it(tmp_path, existing):
    run_id = do_import(tmp_path)
    ada = Lead.objects.get(email="ada@example.org")
    # An audit row of the new lead that left the lead itself as the import wrote it (the assignment service
    # always touches updated_at too, which would make the revert keep the lead).
    audit_run = AssignmentRun.objects.create(source="command", action="assign")
    LeadAssignment.objects.create(lead=ada, to_agent=existing[0], run=audit_run, reason="assigned")
    held_history = LeadAssignment.objects.create(
        lead=existing[1][3], to_agent=existing[0], run=audit_run, reason="assigned"
    )
    assert revert(run_id)["deleted"] == 2
    assert list(LeadAssignment.objects.all()) == [held_history]
    assert AssignmentRun.objects.filter(pk=audit_run.pk).exists()


def test_a_new_agent_that_holds_leads_is_kept_and_listed(tmp_path):
    path = write(tmp_path, "name,email,capacity\nNew Agent,new@sales.test,5\nIdle Agent,idle@sales.test,\n", "a.csv")
    with time_machine.travel(LATER, tick=False):
        run_id = run_command("import_agents", path)["run"]
    LeadFactory(email="x@example.org", assigned_agent=Agent.objects.get(email="new@sales.test"))
    code, _, out = revert_failing(run_id, "--json")
    assert code == 1
    summary = json.loads(out)
    assert summary["deleted"] == 1
    assert summary["skipped_records"] == [
        {"email": "new@sales.test", "reason": "still referenced by leads (agent)"},
    ]
    assert list(Agent.objects.values_list("email", flat=True)) == ["new@sales.test"]


def test_an_agent_import_reverts_booleans_and_numbers(tmp_path):
    AgentFactory(email="ann@sales.test", name="Ann", is_active=True, capacity=None)
    AgentFactory(email="bob@sales.test", name="Bob", is_active=False, capacity=3)
    before = rows(Agent)
    path = write(tmp_path, "name,email,active,capacity\nAnn B,ann@sales.test,no,7\nBob,bob@sales.test,yes,\n", "a.csv")
    with time_machine.travel(LATER, tick=False):
        run_id = run_command("import_agents", path)["run"]
    assert list(Agent.objects.order_by("email").values_list("is_active", "capacity")) == [(False, 7), (True, 3)]
    assert revert(run_id)["restored"] == 2
    assert rows(Agent) == before


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("dry", "Import #{id} was a dry run: it wrote nothing to revert."),
        ("failed", "Import #{id} is failed: nothing of it was written, nothing to revert."),
        ("running", "Import #{id} is running: only a finished import can be reverted."),
    ],
)
def test_runs_that_cannot_be_reverted_are_refused_with_exit_2(tmp_path, setup, message):
    if setup == "dry":
        run_id = run_command("import_leads", write(tmp_path, IMPORT), "--dry-run")["run"]
    else:
        run_id = ImportRun.objects.create(kind="lead", source="admin", status=setup).pk
    code, text, out = revert_failing(run_id, "--json")
    assert (code, text, out) == (2, message.format(id=run_id), "")


def test_an_unknown_run_is_refused_with_exit_2():
    assert revert_failing(404)[:2] == (2, "No import run #404.")


def test_a_bad_argument_exits_2():
    with pytest.raises(CommandError, match="invalid int value"):
        call_command("revert_import", "seven")


def test_reverting_twice_is_refused(tmp_path, existing):
    run_id = do_import(tmp_path)
    with time_machine.travel(LATER + timedelta(minutes=5), tick=False):
        revert(run_id)
    after_first = rows()
    code, text, _ = revert_failing(run_id)
    assert (code, text) == (
        2,
        f"Import #{run_id} was already reverted on {LATER + timedelta(minutes=5):%Y-%m-%d %H:%M} UTC.",
    )
    assert rows() == after_first


def test_the_changes_of_a_run_name_each_record_once(tmp_path, existing):
    run_id = do_import(tmp_path)
    changes = ImportChange.objects.filter(run_id=run_id)
    assert changes.count() == 5
    assert sorted(changes.values_list("identity", "action")) == [
        ("ada@example.org", "created"),
        ("bo@example.org", "created"),
        ("edit@example.org", "updated"),
        ("held@example.org", "updated"),
        ("won@example.org", "updated"),
    ]
