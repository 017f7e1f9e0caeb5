import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import AssignmentRun, Lead, LeadStatus, VerificationRun
from leads.tests.scenarios import AS_OF, loads, make_agents, make_leads

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_assign_leads_prints_the_json_shape_and_exits_zero():
    first, second = make_agents([(True, None), (True, None)])
    make_leads(5)
    code, out, _ = run("assign_leads", "--seed", "9", "--json", "--as-of", AS_OF.isoformat())
    data = json.loads(out)
    assert code == 0
    assert set(data) == {
        "assigned",
        "moved",
        "unassigned_left",
        "seed",
        "per_agent",
        "run",
        "waiting",
        "waiting_details",
    }
    assert data["waiting"] == {}
    assert (data["assigned"], data["moved"], data["unassigned_left"], data["seed"]) == (5, 0, 0, 9)
    assert sorted(data["per_agent"].values()) == [2, 3] and set(data["per_agent"]) == {first.email, second.email}
    assert data["run"] == AssignmentRun.objects.get().pk


def test_assign_leads_exits_one_when_leads_cannot_be_placed():
    make_agents([(True, 1)])
    make_leads(3)
    code, out, err = run("assign_leads", "--seed", "1", "--json")
    assert code == 1
    assert json.loads(out)["unassigned_left"] == 2
    assert "2 open leads could not be placed" in err


def test_assign_leads_exits_one_without_an_active_agent_and_changes_nothing():
    make_agents([(False, None)])
    make_leads(3)
    code, _, err = run("assign_leads")
    assert code == 1 and "No active agent" in err
    assert Lead.objects.unassigned().count() == 3 and not AssignmentRun.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--classification", "closed"],
        ["--classification", "warm"],
        ["--limit", "0"],
        ["--seed", "-1"],
        ["--as-of", "yesterday"],
        ["--as-of", "2026-02-30"],
    ],
)
def test_assign_leads_exits_two_on_bad_arguments(args):
    make_agents([(True, None)])
    code, _, err = run("assign_leads", *args)
    assert code == 2 and err


def test_a_dry_run_prints_the_plan_and_writes_nothing():
    agent, other = make_agents([(True, None), (True, None)])
    make_leads(4, agent=agent)
    make_leads(4)
    code, out, _ = run("assign_leads", "--seed", "2", "--dry-run")
    assert code == 0
    assert "dry run" in out and agent.email in out and "after" in out
    assert Lead.objects.unassigned().count() == 4 and not AssignmentRun.objects.exists()
    lines = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    assert lines[other.email][-3:] == ["0", "4", "4"]  # taken, added, after


def test_a_dry_run_with_json_has_no_run():
    make_agents([(True, None)])
    make_leads(1)
    code, out, _ = run("assign_leads", "--dry-run", "--json", "--seed", "4")
    assert code == 0 and json.loads(out)["run"] is None and json.loads(out)["assigned"] == 1


def test_rebalance_through_the_command_reports_moves_and_impossibility():
    busy, idle = make_agents([(True, None), (True, None)])
    make_leads(5, agent=busy, status=LeadStatus.CONTACTED)
    make_leads(1, agent=busy)
    code, out, err = run("assign_leads", "--rebalance", "--seed", "3", "--json")
    assert code == 0
    assert json.loads(out)["moved"] == 1
    assert "impossible" in err
    assert loads() == {busy.id: 5, idle.id: 1}
    assert AssignmentRun.objects.get().action == "rebalance"


def test_limit_and_classification_flags_select_leads():
    make_agents([(True, None)])
    make_leads(3, age_days=1)  # fresh
    make_leads(3, age_days=10)  # urgent
    code, out, _ = run(
        "assign_leads", "--classification", "fresh,urgent", "--limit", "4", "--json", "--as-of", AS_OF.isoformat()
    )
    assert code == 0 and json.loads(out)["assigned"] == 4
    placed = Lead.objects.filter(assigned_agent__isnull=False).with_classification(AS_OF)
    assert sorted(placed.values_list("lead_class", flat=True)) == ["fresh", "urgent", "urgent", "urgent"]
    assert AssignmentRun.objects.get().flags["limit"] == 4


def test_verify_assignments_exits_zero_when_everything_holds_and_records_it():
    (agent,) = make_agents([(True, None)])
    make_leads(2, agent=agent)
    make_leads(1, status=LeadStatus.LOST)
    code, out, _ = run("verify_assignments", "--as-of", AS_OF.isoformat())
    assert code == 0
    assert agent.email in out and "OK" in out and "Closed leads without an agent" in out
    assert VerificationRun.objects.get().ok is True


def test_verify_assignments_json_shape_and_exit_one_on_problems():
    make_agents([(True, None), (False, None)])
    make_leads(2)
    code, out, err = run("verify_assignments", "--json")
    data = json.loads(out)
    assert code == 1 and "Verification failed" in err
    assert set(data) == {
        "ok",
        "total_leads",
        "open_leads",
        "unassigned",
        "on_inactive",
        "over_capacity",
        "spread",
        "per_agent",
        "pools",
        "misrouted",
        "misrouted_new",
        "received_while_away",
        "over_daily_cap",
        "sla_breached",
        "problems",
        "counters_ok",
    }
    assert data["ok"] is False and data["unassigned"] == 2 and len(data["per_agent"]) == 1
    assert VerificationRun.objects.get().report == data


def test_verify_lists_the_first_unassigned_open_leads():
    make_agents([(True, None)])
    make_leads(3)
    code, out, _ = run("verify_assignments")
    assert code == 1
    assert "Unassigned open leads: 3" in out
    first = Lead.objects.order_by("created_at", "id").first()
    assert first.email in out


def test_assign_then_verify_passes():
    make_agents([(True, 3), (True, None), (False, None), (True, 0)])
    make_leads(20)
    assert run("assign_leads", "--seed", "1")[0] == 0
    assert run("verify_assignments")[0] == 0


def test_as_of_accepts_a_bare_date_as_midnight():
    make_agents([(True, None)])
    make_leads(1, age_days=7.2)  # fresh until 2026-11-24 04:12, urgent at 09:00 (AS_OF)
    code, out, _ = run("assign_leads", "--classification", "fresh", "--as-of", "2026-11-24", "--json")
    assert code == 0 and json.loads(out)["assigned"] == 1
