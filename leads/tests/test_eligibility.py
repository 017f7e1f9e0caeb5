from datetime import timedelta
from decimal import Decimal

import pytest

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from core import clock
from leads.assignment.eligibility import ABSENT, AT_CAPACITY, AT_DAILY_CAP, INACTIVE, OFF_HOURS, read_eligibility
from leads.assignment.preview import where_would_it_go
from leads.loads import counted_loads
from leads.models import AssignmentRun, Lead, LeadAssignment, RoutingRule
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def eligibility(**kwargs):
    return read_eligibility({a.id: a for a in counted_loads()}, as_of=clock.now(), **kwargs)


def receive(agent, n, *, at, reason=LeadAssignment.Reason.ASSIGNED):
    run = AssignmentRun.objects.create(source="command", action="assign", as_of=at)
    for lead in LeadFactory.create_batch(n):
        LeadAssignment.objects.create(lead=lead, to_agent=agent, run=run, reason=reason, changed_at=at)


def test_it_says_why_each_agent_is_skipped():
    now = clock.now()  # Tuesday 24 November 2026, 12:00 UTC
    AgentFactory(email="off@x.test", is_active=False)
    away = AgentFactory(email="away@x.test")
    Absence.objects.create(
        agent=away, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=2), reason="holiday"
    )
    AgentFactory(email="tokyo@x.test", time_zone="Asia/Tokyo", working_hours="Mon-Fri 09:00-17:00")  # 21:00 there
    full = AgentFactory(email="full@x.test", capacity=1)
    LeadFactory(assigned_agent=full)
    capped = AgentFactory(email="capped@x.test", daily_cap=2)
    receive(capped, 2, at=now - timedelta(hours=3))
    AgentFactory(email="free@x.test")
    found = {a.email: a for a in eligibility().agents.values()}
    assert {e: a.skip for e, a in found.items()} == {
        "off@x.test": INACTIVE,
        "away@x.test": ABSENT,
        "tokyo@x.test": OFF_HOURS,
        "full@x.test": AT_CAPACITY,
        "capped@x.test": AT_DAILY_CAP,
        "free@x.test": "",
    }
    assert found["away@x.test"].until == now + timedelta(days=2)
    assert found["away@x.test"].absence_reason == "holiday"
    assert found["tokyo@x.test"].until.isoformat() == "2026-11-25T00:00:00+00:00"  # 09:00 in Tokyo
    assert found["capped@x.test"].until.isoformat() == "2026-11-25T00:00:00+00:00"  # midnight UTC
    assert found["free@x.test"].room is None


def test_a_daily_cap_counts_the_receipts_of_the_agents_own_day_and_not_manual_ones():
    now = clock.now()
    agent = AgentFactory(daily_cap=5, time_zone="America/New_York")  # 07:00 there: the day began at 05:00 UTC
    receive(agent, 1, at=now - timedelta(hours=7, minutes=1))  # 23:59 in New York the day before: not today
    receive(agent, 2, at=now - timedelta(hours=7))  # midnight in New York
    receive(agent, 3, at=now - timedelta(hours=1), reason=LeadAssignment.Reason.MANUAL)
    found = eligibility().agents[agent.id]
    assert found.received_today == 2
    assert found.room == 3


def test_received_balance_forgives_the_days_away():
    now = clock.now()
    back = AgentFactory(created_at=now - timedelta(days=100))
    stayed = AgentFactory(created_at=now - timedelta(days=100))
    Absence.objects.create(agent=back, starts_at=now - timedelta(days=15), ends_at=now - timedelta(days=1))
    Agent = type(back)
    Agent.objects.update(created_at=now - timedelta(days=100))
    receive(back, 8, at=now - timedelta(days=20))
    receive(stayed, 15, at=now - timedelta(days=10))
    found = eligibility(policy="received", window_days=30)
    b, s = found.agents[back.id], found.agents[stayed.id]
    assert (b.received_window, s.received_window) == (8, 15)
    assert b.present == pytest.approx(16 / 30)
    assert s.present == 1
    # 8 leads in 16 days is the same pace as 15 in 30: back from holiday, it is not owed a flood.
    assert abs(found.load(b) / found.share(b) - found.load(s) / found.share(s)) < Decimal("0.1")


def test_the_preview_names_the_rule_the_pool_and_the_agent():
    now = clock.now()
    emea = Team.objects.create(name="EMEA")
    busy = AgentFactory(email="busy@x.test")
    busy.teams.add(emea)
    half = AgentFactory(email="half@x.test", weight=Decimal("0.5"))
    half.teams.add(emea)
    AgentFactory(email="other@x.test")
    RoutingRule.objects.create(position=1, name="Europe", team=emea, country="France|Germany")
    LeadFactory.create_batch(2, assigned_agent=busy)
    LeadFactory(assigned_agent=half)
    preview = where_would_it_go(Lead(email="a@b.fr", country="france", status="new", created_at=now), as_of=now)
    assert preview.route.rule.name == "Europe"
    assert [row["email"] for row in preview.pool.eligible] == ["busy@x.test", "half@x.test"]
    # busy: (2 + 1) / 1 = 3; half: (1 + 1) / 0.5 = 4
    assert preview.agent["email"] == "busy@x.test"
    assert "rule 1" in preview.why and "EMEA" in preview.why
