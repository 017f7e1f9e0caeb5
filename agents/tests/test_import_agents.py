"""`manage.py import_agents` and the import_agents service, on the real database."""

import csv
import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from agents.models import Agent
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from imports.models import ImportRun

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = FROZEN_AT


def run(*args) -> dict:
    """The command's --json summary, without its "run" (the id of the import run it recorded)."""
    out = StringIO()
    call_command("import_agents", *map(str, args), "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert ImportRun.objects.filter(pk=summary.pop("run")).exists()
    return summary


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "agents.csv"
    path.write_text(text, encoding="utf-8")
    return path


def agents():
    return sorted(Agent.objects.values_list("email", "name", "is_active", "capacity"))


def test_it_imports_the_tab_separated_sample(tmp_path):
    summary = run(FIXTURES / "agents_tabs.tsv", "--rejects", tmp_path / "rejects.csv")
    assert (summary["rows"], summary["created"], summary["rejected"]) == (5, 3, 2)
    assert agents() == [
        ("june@sales.test", "June Agent", True, None),
        ("kai@sales.test", "Kai Agent", False, 10),
        ("lee@sales.test", "Lee Agent", True, 3),
    ]
    assert set(Agent.objects.values_list("created_at", "updated_at")) == {(NOW, NOW)}
    with open(tmp_path / "rejects.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [(r["line"], r["E-mail"], r["reason"]) for r in rows] == [
        ("5", "noname@sales.test", "Agent Name: missing (a new record needs a name)"),
        (
            "6",
            "mo@sales.test",
            "Enabled: 'maybe' is not yes/no, true/false, y/n, 1/0, active/inactive, enabled/disabled",
        ),
    ]


def test_a_row_without_a_name_updates_an_existing_agent(tmp_path):
    AgentFactory(email="noname@sales.test", name="Known Name", is_active=True, capacity=5)
    summary = run(FIXTURES / "agents_tabs.tsv")
    assert (summary["created"], summary["updated"], summary["rejected"]) == (3, 0, 1)
    assert Agent.objects.get(email="noname@sales.test").name == "Known Name"


def test_a_later_duplicate_can_give_a_new_agent_its_name(tmp_path):
    summary = run(write(tmp_path, "email,name,capacity\nnew@sales.test,,4\nNEW@sales.test,New Agent,\n"))
    assert (summary["created"], summary["merged_duplicates"], summary["rejected"]) == (1, 1, 0)
    assert agents() == [("new@sales.test", "New Agent", True, 4)]


def test_duplicates_of_a_nameless_new_agent_are_all_rejected(tmp_path):
    summary = run(write(tmp_path, "email,capacity\nnew@sales.test,4\nNEW@sales.test,5\n"))
    assert (summary["rows"], summary["created"], summary["merged_duplicates"], summary["rejected"]) == (2, 0, 0, 2)


def test_empty_cells_keep_stored_values_and_the_login_is_never_touched(tmp_path):
    user = User.objects.create_user("kai")
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        AgentFactory(email="kai@sales.test", name="Kai", is_active=False, capacity=7, user=user)
    summary = run(write(tmp_path, "Full Name,Email Address,Is Active,Max Open Leads\n,KAI@sales.test,,N/A\n"))
    assert summary["unchanged"] == 1
    kai = Agent.objects.get()
    assert (kai.name, kai.is_active, kai.capacity, kai.user, kai.updated_at) == (
        "Kai",
        False,
        7,
        user,
        NOW - timedelta(days=1),
    )
    summary = run(write(tmp_path, "Full Name,Email Address,Is Active,Max Open Leads\n,KAI@sales.test,enabled,0\n"))
    assert summary["updated"] == 1
    kai.refresh_from_db()
    assert (kai.is_active, kai.capacity, kai.user, kai.updated_at) == (True, 0, user, NOW)


def test_the_fixture_agents_load_with_their_dirty_rows_rejected_and_reload_unchanged():
    first = run(FIXTURES / "agents.csv")
    assert (first["created"], first["rejected"]) == (9, 2)
    assert Agent.objects.get(email="agent9@sales.example").name == "Priya Patel"
    again = run(FIXTURES / "agents.csv")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 9)


def test_a_dry_run_writes_nothing():
    summary = run(FIXTURES / "agents.csv", "--dry-run")
    assert summary["created"] == 9 and summary["dry_run"] is True
    assert Agent.objects.count() == 0


def test_a_file_without_an_email_column_is_refused_with_exit_2(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("import_agents", str(write(tmp_path, "Agent Name,Enabled\nA,yes\n")), stdout=StringIO())
    assert error.value.returncode == 2
    assert "missing required column(s): email (found headers: Agent Name, Enabled)" in str(error.value)
    assert Agent.objects.count() == 0


def test_a_row_with_more_cells_than_the_header_is_rejected_and_the_others_import(tmp_path):
    path = write(
        tmp_path, "Name;Email;Active\nAda;ada@sales.test;yes\nBo;bo@sales.test;no;Team; B\nCy;cy@sales.test;no\n"
    )
    rejects = tmp_path / "rejects.csv"
    summary = run(path, "--rejects", rejects)
    assert (summary["rows"], summary["created"], summary["rejected"]) == (3, 2, 1)
    assert agents() == [("ada@sales.test", "Ada", True, None), ("cy@sales.test", "Cy", False, None)]
    with open(rejects, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert rows == [
        {
            "Name": "Bo",
            "Email": "bo@sales.test",
            "Active": "no",
            "extra_cells": "Team; B",
            "line": "3",
            "reason": 'line has 5 cells, the header has 3 (an unquoted ";" inside a value?)',
        }
    ]


def test_emails_differing_only_by_an_accent_are_two_agents_on_every_engine(tmp_path):
    run(write(tmp_path, "name,email\nPlain,agent@example.com\n"))
    summary = run(write(tmp_path, "name,email\nAccent,agént@example.com\nGrave,agènt@example.com\n"))
    assert (summary["created"], summary["updated"]) == (2, 0)
    assert sorted(Agent.objects.values_list("email", "name")) == [
        ("agent@example.com", "Plain"),
        ("agènt@example.com", "Grave"),
        ("agént@example.com", "Accent"),
    ]
