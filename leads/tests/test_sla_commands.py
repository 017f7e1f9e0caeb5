"""`manage.py import_sla_policies FILE [--json]` and `export_sla_policies [--out FILE]`."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import Team
from leads.models import SlaPolicy

pytestmark = pytest.mark.django_db

HEADER = (
    "team,first_touch_hours,remind_at_hours,escalate_after_hours,reassign_after_hours,max_reassignments,"
    "recycle_stale_after_days\n"
)


@pytest.fixture(autouse=True)
def teams():
    return [Team.objects.create(name=n) for n in ("EMEA", "Key accounts", "Équipe Web")]


def import_policies(tmp_path, text: str, *, encoding="utf-8", json_out=True):
    path = tmp_path / "policies.csv"
    path.write_bytes(text.encode(encoding))
    out = StringIO()
    call_command("import_sla_policies", str(path), *(["--json"] if json_out else []), stdout=out)
    return json.loads(out.getvalue()) if json_out else out.getvalue()


def export_policies() -> str:
    out = StringIO()
    call_command("export_sla_policies", stdout=out)
    return out.getvalue()


def steps(policy: SlaPolicy) -> tuple:
    return tuple(getattr(policy, name) for name in (*SlaPolicy.HOURS, *SlaPolicy.COUNTS))


def test_it_replaces_the_policies_and_says_how_many(tmp_path, teams):
    SlaPolicy.objects.create(first_touch_hours=99)
    SlaPolicy.objects.create(team=teams[2], first_touch_hours=1)
    summary = import_policies(tmp_path, HEADER + ",4,3,8,16,2,30\nkey accounts,1.5,,,,,\n")
    assert summary == {"policies": 2, "replaced": 2}
    default = SlaPolicy.objects.get(team=None)
    assert steps(default) == (Decimal("4"), Decimal("3"), Decimal("8"), Decimal("16"), 2, 30)
    key = SlaPolicy.objects.get(team=teams[1])
    assert steps(key) == (Decimal("1.5"), None, None, None, None, None)
    assert not SlaPolicy.objects.filter(team=teams[2]).exists()


def test_without_json_it_prints_a_sentence(tmp_path):
    assert import_policies(tmp_path, HEADER + ",4,,,,,\n", json_out=False).strip() == (
        "1 SLA policies imported; 0 replaced."
    )


def test_columns_may_come_in_any_order_in_any_case_with_a_bom_and_semicolons(tmp_path):
    header = (
        "\ufeffFirst touch hours;Team;Remind at hours;Escalate-after-hours;REASSIGN_AFTER_HOURS;Max reassignments;"
        "Recycle stale after days\n"
    )
    assert import_policies(tmp_path, header + "4;equipe web;;;;;\n") == {"policies": 1, "replaced": 0}
    assert SlaPolicy.objects.get().team.name == "Équipe Web"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            HEADER + "Nowhere,4,,,,,\n",
            ["line 2, column team: no team 'Nowhere' (teams: EMEA, Key accounts, Équipe Web)"],
        ),
        (
            HEADER + ",4,,,,,\nemea,2,,,,,\n\n,8,,,,,\nEMEA,3,,,,,\n",
            [
                "line 5, column team: the default (no team) policy is also on line 2",
                "line 6, column team: the team 'EMEA' policy is also on line 3",
            ],
        ),
        (HEADER + ",four,,,,,\n", ["line 2, column first_touch_hours: 'four' is not a number of hours"]),
        (
            HEADER + ",0,-2,,,,\n",
            [
                "line 2, column first_touch_hours: 0 must be more than 0 hours",
                "line 2, column remind_at_hours: -2 must be more than 0 hours",
            ],
        ),
        (HEADER + ",1.255,,,,,\n", ["line 2, column first_touch_hours: 1.255 has more than 2 decimals"]),
        (HEADER + ",10000,,,,,\n", ["line 2, column first_touch_hours: 10000 is more than 9999.99 hours"]),
        (
            HEADER + ",4,5,,,,\n",
            ["line 2, column remind_at_hours: 5 is after the first touch deadline (4): remind before it"],
        ),
        (
            HEADER + ",4,3,2,3.5,,\n",
            [
                "line 2, column escalate_after_hours: 2 is before the first touch deadline (4)",
                "line 2, column reassign_after_hours: 3.5 is before the first touch deadline (4)",
            ],
        ),
        (
            HEADER + ",4,,,,0,1.5\n",
            [
                "line 2, column max_reassignments: '0' is not a whole number from 1",
                "line 2, column recycle_stale_after_days: '1.5' is not a whole number from 1",
            ],
        ),
        (
            HEADER.replace("recycle_stale_after_days", "recycle_stale_after_days,priority") + ",4,,,,,,1\n",
            [
                "line 1, column 8 ('priority'): unknown column (the columns: team, first_touch_hours, "
                "remind_at_hours, escalate_after_hours, reassign_after_hours, max_reassignments, "
                "recycle_stale_after_days)"
            ],
        ),
        (
            "team,first_touch_hours\n,4\n",
            [
                "line 1: missing column(s) remind_at_hours, escalate_after_hours, reassign_after_hours, "
                "max_reassignments, recycle_stale_after_days"
            ],
        ),
        (
            "team,team,first_touch_hours,remind_at_hours,escalate_after_hours,reassign_after_hours,"
            "max_reassignments,recycle_stale_after_days\n",
            ["line 1, column 2 ('team'): the team column comes twice"],
        ),
    ],
)
def test_a_bad_file_is_refused_with_each_line_and_column_and_nothing_changes(tmp_path, teams, text, problems):
    kept = SlaPolicy.objects.create(team=teams[0], first_touch_hours=4)
    with pytest.raises(CommandError) as error:
        import_policies(tmp_path, text)
    assert error.value.returncode == 2
    for problem in problems:
        assert problem in str(error.value)
    assert "no policy was changed" in str(error.value)
    assert list(SlaPolicy.objects.all()) == [kept]


def test_an_unreadable_file_is_refused_with_one_line(tmp_path):
    with pytest.raises(CommandError, match="no such file") as error:
        call_command("import_sla_policies", str(tmp_path / "missing.csv"))
    assert error.value.returncode == 2


def test_a_file_with_only_the_header_removes_every_policy(tmp_path):
    SlaPolicy.objects.create(first_touch_hours=4)
    assert import_policies(tmp_path, HEADER) == {"policies": 0, "replaced": 1}
    assert not SlaPolicy.objects.exists()


def test_export_then_import_round_trips_exactly(tmp_path, teams):
    SlaPolicy.objects.create(
        team=teams[1], first_touch_hours=Decimal("1.5"), remind_at_hours=1, reassign_after_hours=100
    )
    SlaPolicy.objects.create(team=teams[2], recycle_stale_after_days=14)
    SlaPolicy.objects.create(
        first_touch_hours=4,
        remind_at_hours=3,
        escalate_after_hours=Decimal("8.25"),
        reassign_after_hours=16,
        max_reassignments=2,
        recycle_stale_after_days=30,
    )
    exported = export_policies()
    assert exported == (HEADER + ",4,3,8.25,16,2,30\nÉquipe Web,,,,,,14\nKey accounts,1.5,1,,100,,\n")
    assert import_policies(tmp_path, exported) == {"policies": 3, "replaced": 3}
    assert export_policies() == exported


def test_export_writes_to_a_file(tmp_path, teams):
    SlaPolicy.objects.create(first_touch_hours=4)
    err = StringIO()
    call_command("export_sla_policies", "--out", str(tmp_path / "out.csv"), stderr=err)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == export_policies()
    assert "1 SLA policies written" in err.getvalue()
    with pytest.raises(CommandError, match="cannot be written") as error:
        call_command("export_sla_policies", "--out", str(tmp_path))
    assert error.value.returncode == 2
