"""The agents CSV's routing columns: teams, weight, daily cap, time zone, working hours."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from agents.models import Agent, Team
from agents.tests.factories import AgentFactory
from imports.models import ImportRun

pytestmark = pytest.mark.django_db


def run(tmp_path, text: str, *flags) -> dict:
    path = tmp_path / "agents.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import_agents", str(path), "--json", "--rejects", str(tmp_path / "rejects.csv"), *flags, stdout=out)
    return json.loads(out.getvalue())


def rejects(tmp_path) -> list[str]:
    import csv

    with open(tmp_path / "rejects.csv", encoding="utf-8-sig") as handle:
        return [row["reason"] for row in csv.DictReader(handle)]


def teams_of(email: str) -> list[str]:
    return sorted(Agent.objects.get(email=email).teams.values_list("name", flat=True))


def test_the_columns_are_read_under_their_aliases(tmp_path):
    summary = run(
        tmp_path,
        "E-mail,Name,Team,Share,Max per day,TZ,Working hours\n"
        'ann@x.test,Ann,"EMEA; Key accounts",0.5,10,europe/paris,Mon-Fri 09:00-17:30\n'
        'bob@x.test,Bob,emea,"1,25",,UTC,\n',
    )
    assert (summary["created"], summary["rejected"]) == (2, 0)
    ann = Agent.objects.get(email="ann@x.test")
    assert (ann.weight, ann.daily_cap, ann.time_zone, ann.working_hours) == (
        Decimal("0.50"),
        10,
        "Europe/Paris",
        "Mon-Fri 09:00-17:30",
    )
    bob = Agent.objects.get(email="bob@x.test")
    assert (bob.weight, bob.daily_cap, bob.time_zone, bob.working_hours) == (Decimal("1.25"), None, "UTC", "")
    assert teams_of("ann@x.test") == ["EMEA", "Key accounts"]
    assert teams_of("bob@x.test") == ["EMEA"]
    assert Team.objects.count() == 2  # "emea" is the team "EMEA" created on the line before


def test_a_new_agent_without_the_columns_gets_the_defaults(tmp_path, settings):
    run(tmp_path, "email,name\ncid@x.test,Cid\n")
    cid = Agent.objects.get(email="cid@x.test")
    assert (cid.weight, cid.daily_cap, cid.time_zone, cid.working_hours) == (Decimal("1"), None, settings.TIME_ZONE, "")


def test_team_names_match_existing_teams_ignoring_case_and_accents(tmp_path):
    Team.objects.create(name="Équipe Nord")
    run(tmp_path, 'email,name,teams\nann@x.test,Ann,"equipe  NORD , ; "\n')
    assert teams_of("ann@x.test") == ["Équipe Nord"]
    assert Team.objects.count() == 1


def test_a_teams_cell_replaces_the_teams_and_an_empty_one_keeps_them(tmp_path):
    ann = AgentFactory(email="ann@x.test")
    ann.teams.add(Team.objects.create(name="Old"), Team.objects.create(name="Kept"))
    AgentFactory(email="bob@x.test").teams.add(Team.objects.get(name="Old"))
    summary = run(tmp_path, "email,teams\nann@x.test,Kept;New\nbob@x.test,\n")
    assert teams_of("ann@x.test") == ["Kept", "New"]
    assert teams_of("bob@x.test") == ["Old"]
    assert (summary["updated"], summary["unchanged"]) == (1, 1)  # ann changed only by her teams


def test_the_same_values_again_leave_the_agent_unchanged(tmp_path):
    header = "email,name,teams,weight,daily cap,tz,hours\n"
    run(tmp_path, header + "ann@x.test,Ann,A;B,0.5,3,Europe/Paris,Mon 09:00-10:00\n")
    summary = run(tmp_path, header + "ann@x.test,Ann,b; a,0.50,3,europe/paris,Mon 09:00-10:00\n")
    assert (summary["updated"], summary["unchanged"]) == (0, 1)
    summary = run(tmp_path, header + "ann@x.test,Ann,b; a,0.75,3,Europe/Paris,Mon 09:00-10:00\n")
    assert (summary["updated"], summary["unchanged"]) == (1, 0)
    assert Agent.objects.get().weight == Decimal("0.75")


def test_a_dry_run_creates_no_team_and_changes_no_membership(tmp_path):
    summary = run(tmp_path, "email,name,teams\nann@x.test,Ann,Ghost\n", "--dry-run")
    assert summary["created"] == 1
    assert not Team.objects.exists() and not Agent.objects.exists()


def test_bad_values_are_rejected_row_by_row_naming_the_column(tmp_path):
    summary = run(
        tmp_path,
        "email,name,routing weight,daily limit,timezone,hours,teams\n"
        "a@x.test,A,0,3,UTC,,\n"
        "b@x.test,B,-1,x,Mars/Base,,\n"
        "c@x.test,C,1.255,2,UTC,Mun 09:00-10:00,\n"
        "d@x.test,D,10000,2,UTC,Mon 17:00-09:00,\n"
        f"e@x.test,E,1,2,UTC,,{'t' * 101}\n"
        "f@x.test,F,2.5,2,Asia/Tokyo,Sat 10:00-14:00,Tokyo\n",
    )
    assert (summary["created"], summary["rejected"]) == (1, 5)
    assert rejects(tmp_path) == [
        "routing weight: '0' is not a number above 0",
        "routing weight: '-1' is not a number above 0; daily limit: 'x' is not a whole number 0 or more; "
        "timezone: 'Mars/Base' is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)",
        "routing weight: '1.255' has more than 2 decimals; hours: 'Mun 09:00-10:00': 'Mun' is not a day "
        "(Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
        "routing weight: '10000' is larger than 9999; hours: 'Mon 17:00-09:00': '17:00-09:00' ends before it starts "
        "(ranges past midnight: split them)",
        f"teams: the name '{'t' * 101}' is longer than 100 characters",
    ]
    assert teams_of("f@x.test") == ["Tokyo"]


def test_reverting_an_import_that_created_agents_removes_their_memberships(tmp_path):
    summary = run(tmp_path, "email,name,teams\nann@x.test,Ann,EMEA\n")
    call_command("revert_import", str(summary["run"]), stdout=StringIO())
    assert not Agent.objects.exists()
    assert not Agent.teams.through.objects.exists()
    assert ImportRun.objects.get(pk=summary["run"]).status == ImportRun.Status.REVERTED


def test_the_export_writes_the_columns_the_import_reads(tmp_path):
    from agents.resources import AgentResource

    ann = AgentFactory(email="ann@x.test", weight=Decimal("0.5"), daily_cap=4, working_hours="Mon 09:00-10:00")
    ann.teams.add(Team.objects.create(name="B"), Team.objects.create(name="A"))
    exported = AgentResource().export().csv
    path = tmp_path / "export.csv"
    path.write_text(exported, encoding="utf-8")
    ann.teams.clear()
    call_command("import_agents", str(path), stdout=StringIO())
    assert teams_of("ann@x.test") == ["A", "B"]
    assert Agent.objects.get(email="ann@x.test").daily_cap == 4


def test_reverting_an_import_restores_the_routing_columns_it_overwrote(tmp_path):
    AgentFactory(email="ann@x.test", weight=Decimal("1.25"), daily_cap=None, time_zone="UTC", working_hours="")
    summary = run(tmp_path, "email,weight,daily cap,tz,hours\nann@x.test,0.5,7,Asia/Tokyo,Sat 10:00-14:00\n")
    assert summary["updated"] == 1
    call_command("revert_import", str(summary["run"]), stdout=StringIO())
    ann = Agent.objects.get()
    assert (ann.weight, ann.daily_cap, ann.time_zone, ann.working_hours) == (Decimal("1.25"), None, "UTC", "")


def test_the_routing_columns_clean_alike_in_a_separate_cleaning_process(tmp_path):
    # Big files are cleaned in a process without Django: the checks travel there pickled by reference.
    import pandas as pd

    from agents.importing import AGENT_SCHEMA
    from conftest import FROZEN_AT
    from imports import pipeline

    path = tmp_path / "agents.csv"
    path.write_text(
        "email,name,teams,weight,tz,hours\n"
        "a@x.test,A,EMEA;Web,0.5,europe/paris,Mon 09:00-10:00\n"
        "b@x.test,B,,0,Mars/Base,Mun 09:00-10:00\n",
        encoding="utf-8",
    )
    results = [
        list(pipeline.read_clean(path, AGENT_SCHEMA, now=FROZEN_AT, in_process=flag)[1]) for flag in (False, True)
    ]
    here, there = ([pd.concat([c.valid for c in r]), pd.concat([c.rejects for c in r])] for r in results)
    pd.testing.assert_frame_equal(here[0], there[0])
    pd.testing.assert_frame_equal(here[1], there[1])
    assert there[0]["teams"].tolist() == ["EMEA; Web"]
    assert there[0]["time_zone"].tolist() == ["Europe/Paris"]
    assert "tz: 'Mars/Base' is not an IANA time zone" in there[1]["reason"].iloc[0]
