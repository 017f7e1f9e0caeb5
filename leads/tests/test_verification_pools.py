"""verify_assignments pool by pool: weighted balance, misrouted leads, receipts while away, daily caps."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from core import clock
from leads.models import AssignmentRun, LeadAssignment, LeadStatus, RoutingRule
from leads.tests.factories import LeadFactory
from leads.verification import verify_assignments

pytestmark = pytest.mark.django_db


def agent(email, *teams, **fields):
    found = AgentFactory(email=email, **fields)
    found.teams.set(teams)
    return found


def hold(agent, n, *, country="", status=LeadStatus.NEW):
    LeadFactory.create_batch(n, assigned_agent=agent, country=country, status=status)


def receive(agent, n, *, at, reason=LeadAssignment.Reason.ASSIGNED):
    """n receipts by one run deciding at `at`, of leads the agent has since converted (no open load)."""
    run = AssignmentRun.objects.create(source="command", action="assign", as_of=at, started_at=at)
    for lead in LeadFactory.create_batch(n, assigned_agent=agent, status=LeadStatus.CONVERTED):
        LeadAssignment.objects.create(lead=lead, to_agent=agent, run=run, reason=reason, changed_at=at)


@pytest.fixture
def two_teams():
    france, spain = Team.objects.create(name="France"), Team.objects.create(name="Spain")
    RoutingRule.objects.create(position=1, name="French leads", team=france, country="France")
    RoutingRule.objects.create(position=2, name="Spanish leads", team=spain, country="Spain")
    return france, spain


def test_a_balanced_two_team_setup_passes_though_the_teams_carry_different_loads(two_teams):
    france, spain = two_teams
    f1, f2 = agent("f1@x.test", france), agent("f2@x.test", france)
    s1, s2 = agent("s1@x.test", spain), agent("s2@x.test", spain)
    hold(f1, 5, country="France")
    hold(f2, 4, country="France")
    hold(s1, 1, country="Spain")
    report = verify_assignments(as_of=clock.now())
    assert report.problems == []
    assert report.spread == 5  # across teams: information, not a failure
    assert list(report.pools) == ["France", "Spain", "every agent"]
    assert report.pools["France"]["ok"] and report.pools["France"]["spread"] == 1.0
    assert report.pools["Spain"]["agents"] == {
        "s1@x.test": {"load": 1, "weight": "1.00", "eligible": True, "skipped": ""},
        "s2@x.test": {"load": 0, "weight": "1.00", "eligible": True, "skipped": ""},
    }
    assert report.pools["every agent"] == {"ok": True, "agents": report.pools["every agent"]["agents"], "spread": 5.0}
    assert set(report.pools["every agent"]["agents"]) == {a.email for a in (f1, f2, s1, s2)}


def test_an_unbalanced_team_fails_naming_the_pool_and_both_agents(two_teams):
    france, spain = two_teams
    f1, f2 = agent("f1@x.test", france), agent("f2@x.test", france)
    agent("s1@x.test", spain)
    hold(f1, 4, country="France")
    hold(f2, 2, country="France")
    report = verify_assignments(as_of=clock.now())
    assert not report.pools["France"]["ok"] and report.pools["Spain"]["ok"] and report.pools["every agent"]["ok"]
    assert report.problems == [
        "The loads are unbalanced in pool France: f1@x.test is at 4 / 1 = 4, above what f2@x.test would reach "
        "with one more lead, (2 + 1) / 1 = 3."
    ]


def test_a_half_weight_agent_with_half_the_leads_is_balanced():
    hold(agent("half@x.test", weight=Decimal("0.5")), 2)
    hold(agent("full@x.test"), 4)
    report = verify_assignments(as_of=clock.now())
    assert report.ok
    assert report.spread == 2  # the unweighted spread, as before
    assert report.pools["every agent"]["spread"] == 0.0  # 2 / 0.5 = 4 / 1
    assert report.pools["every agent"]["agents"]["half@x.test"]["weight"] == "0.50"


def test_a_half_weight_agent_with_three_against_four_is_unbalanced():
    half = agent("half@x.test", weight=Decimal("0.5"))
    full = agent("full@x.test")
    hold(half, 3)
    hold(full, 4)
    report = verify_assignments(as_of=clock.now())
    assert report.spread == 1  # unweighted it would pass
    assert not report.ok and not report.pools["every agent"]["ok"]
    assert report.pools["every agent"]["spread"] == 2.0  # 3 / 0.5 - 4 / 1
    assert report.problems == [
        "The loads are unbalanced in pool every agent: half@x.test is at 3 / 1/2 = 6, above what full@x.test "
        "would reach with one more lead, (4 + 1) / 1 = 5."
    ]


def test_agents_who_cannot_take_leads_now_are_not_what_a_holder_is_measured_against():
    busy, away = agent("busy@x.test"), agent("away@x.test")
    now = clock.now()
    Absence.objects.create(agent=away, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1))
    hold(busy, 3)
    report = verify_assignments(as_of=now)
    assert report.ok
    assert report.pools["every agent"]["agents"]["away@x.test"] == {
        "load": 0,
        "weight": "1.00",
        "eligible": False,
        "skipped": "absent",
    }
    assert report.pools["every agent"]["spread"] == 0  # a single eligible agent


def test_a_misrouted_new_lead_fails_and_asks_for_a_reroute(two_teams):
    france, spain = two_teams
    agent("f1@x.test", france)
    s1 = agent("s1@x.test", spain)
    hold(s1, 1, country="France")
    report = verify_assignments(as_of=clock.now())
    assert (report.misrouted, report.misrouted_new) == (1, 1)
    assert report.problems == [
        "1 open new leads sit with an agent outside the team their rule names: run assign_leads --reroute."
    ]


def test_a_misrouted_worked_lead_is_reported_but_is_not_a_failure(two_teams):
    france, spain = two_teams
    f1 = agent("f1@x.test", france)
    s1 = agent("s1@x.test", spain)
    hold(s1, 2, country="France", status=LeadStatus.CONTACTED)
    hold(f1, 1, country="Portugal")  # no rule and no default team: every agent's pool, never misrouted
    report = verify_assignments(as_of=clock.now())
    assert report.ok
    assert (report.misrouted, report.misrouted_new) == (2, 0)
    assert report.to_dict()["misrouted"] == 2


def test_a_default_team_replaces_the_pool_of_every_agent(two_teams, settings):
    france, spain = two_teams
    settings.ROUTING_DEFAULT_TEAM = "spain"
    agent("f1@x.test", france)
    s1 = agent("s1@x.test", spain)
    hold(s1, 1, country="Portugal")  # goes to Spain by default
    report = verify_assignments(as_of=clock.now())
    assert list(report.pools) == ["France", "Spain"]
    assert report.ok and report.misrouted == 0


def test_a_default_team_that_does_not_exist_is_a_problem(settings):
    settings.ROUTING_DEFAULT_TEAM = "Nowhere"
    agent("a@x.test")
    report = verify_assignments(as_of=clock.now())
    assert report.pools == {}
    assert report.problems[0].startswith("The pools cannot be checked: ROUTING_DEFAULT_TEAM is 'Nowhere'")


def test_receipts_during_an_absence_or_outside_working_hours_are_counted():
    now = clock.now()  # Tuesday 24 November 2026, 12:00 UTC
    holiday = agent("holiday@x.test")
    Absence.objects.create(agent=holiday, starts_at=now - timedelta(days=5), ends_at=now - timedelta(days=3))
    receive(holiday, 2, at=now - timedelta(days=4))  # away
    receive(holiday, 1, at=now - timedelta(days=2))  # back
    office = agent("office@x.test", time_zone="America/New_York", working_hours="Mon-Fri 09:00-17:00")
    monday_3am = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 03:00 in New York
    receive(office, 3, at=monday_3am)
    receive(office, 1, at=monday_3am + timedelta(hours=7))  # 10:00 in New York
    receive(office, 4, at=monday_3am, reason=LeadAssignment.Reason.MANUAL)  # a manager's decision
    receive(office, 5, at=monday_3am - timedelta(days=40))  # before the window (30 days)
    anytime = agent("anytime@x.test")
    receive(anytime, 2, at=monday_3am)
    report = verify_assignments(as_of=now)
    assert report.received_while_away == 5
    assert report.away_by_agent == {"holiday@x.test": 2, "office@x.test": 3}
    assert report.problems == [
        "5 leads were received while their agent was absent or outside its working hours "
        "(holiday@x.test 2, office@x.test 3)."
    ]


def test_daily_caps_count_each_agents_own_days_across_a_time_zone_boundary():
    before_midnight = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo on the 22nd
    after_midnight = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 00:30 in Tokyo on the 23rd
    next_utc_day = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 11:00 in Tokyo on the 23rd
    split = agent("split@x.test", daily_cap=2, time_zone="Asia/Tokyo")  # 2 on the 22nd, 1 on the 23rd
    receive(split, 2, at=before_midnight)
    receive(split, 1, at=after_midnight)
    utc = agent("utc@x.test", daily_cap=2)  # the same receipts are 3 on the 22nd in UTC
    receive(utc, 2, at=before_midnight)
    receive(utc, 1, at=after_midnight)
    tokyo = agent("tokyo@x.test", daily_cap=2, time_zone="Asia/Tokyo")  # 1 + 2 on its 23rd, two UTC days
    receive(tokyo, 1, at=after_midnight)
    receive(tokyo, 2, at=next_utc_day)
    receive(tokyo, 9, at=next_utc_day, reason=LeadAssignment.Reason.MANUAL)
    report = verify_assignments(as_of=clock.now())
    assert report.over_daily_cap == ["tokyo@x.test", "utc@x.test"]
    assert report.problems == [
        "tokyo@x.test received more leads than its daily cap of 2 on 2026-11-23 (3) (Asia/Tokyo).",
        "utc@x.test received more leads than its daily cap of 2 on 2026-11-22 (3) (UTC).",
    ]


def test_the_json_keys_are_exact(two_teams):
    france, _spain = two_teams
    agent("f1@x.test", france)
    out = StringIO()
    call_command("verify_assignments", "--json", stdout=out)
    data = json.loads(out.getvalue())
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
    assert set(data["pools"]) == {"France", "Spain", "every agent"}
    assert data["pools"]["Spain"] == {"ok": True, "agents": {}, "spread": 0}
    assert data["pools"]["France"] == {
        "ok": True,
        "agents": {"f1@x.test": {"load": 0, "weight": "1.00", "eligible": True, "skipped": ""}},
        "spread": 0,
    }
    assert (data["misrouted"], data["misrouted_new"], data["received_while_away"], data["over_daily_cap"]) == (
        0,
        0,
        0,
        [],
    )


def test_the_text_report_shows_the_pools_and_fails_on_a_misrouted_new_lead(two_teams):
    france, spain = two_teams
    agent("f1@x.test", france)
    hold(agent("s1@x.test", spain), 1, country="France")
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_assignments", stdout=out)
    assert failed.value.returncode == 1
    text = out.getvalue()
    assert "  France: ok, spread 0.0, 1 members, 1 eligible" in text
    assert "Open leads outside the team their rule names: 1 (1 new; worked ones are not a failure)." in text
    assert "PROBLEM: 1 open new leads sit with an agent outside the team" in text


def _world(teams: int, agents_per_team: int, tag: str):
    now = clock.now()
    start = RoutingRule.objects.count()
    for t in range(teams):
        team = Team.objects.create(name=f"{tag} team {t}")
        RoutingRule.objects.create(position=start + t + 1, name=f"{tag} {t}", team=team, country=f"{tag}{t}")
        for a in range(agents_per_team):
            member = agent(
                f"{tag}{t}.{a}@x.test",
                team,
                daily_cap=3,
                time_zone="Europe/Paris",
                working_hours="Mon-Fri 09:00-17:00",
            )
            Absence.objects.create(agent=member, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
            hold(member, 2, country=f"{tag}{t}")
            receive(member, 1, at=now - timedelta(days=1, hours=12))


def test_the_queries_do_not_grow_with_agents_or_teams():
    _world(2, 2, "a")
    with CaptureQueriesContext(connection) as few:
        verify_assignments(as_of=clock.now())
    _world(6, 5, "b")
    with CaptureQueriesContext(connection) as many:
        report = verify_assignments(as_of=clock.now())
    assert len(report.pools) == 9 and report.received_while_away == 34
    # the totals, the loads (2), the counters, the rules, the eligibility (memberships, absences, agents, today's
    # receipts of capped agents), the routed leads, the window's receipts
    assert len(many) == len(few) <= 12  # with the SLA policies, for sla_breached


def test_the_received_balance_weighs_what_each_agent_received_over_the_window(settings):
    settings.ROUTING_BALANCE = "received"
    busy, quiet = agent("busy@x.test"), agent("quiet@x.test")
    receive(busy, 4, at=clock.now() - timedelta(days=2))
    receive(quiet, 1, at=clock.now() - timedelta(days=2))
    hold(busy, 1)  # by open loads 1 against 0 would pass
    report = verify_assignments(as_of=clock.now())
    rows = report.pools["every agent"]["agents"]
    assert (rows["busy@x.test"]["load"], rows["quiet@x.test"]["load"]) == (4, 1)
    assert not report.pools["every agent"]["ok"]
    assert report.problems[0].startswith("The loads are unbalanced in pool every agent: busy@x.test is at 4 / ")
