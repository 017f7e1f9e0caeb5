import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import LeadStatus, VerificationRun
from leads.tests.scenarios import AS_OF, make_agents, make_leads
from leads.verification import record_verification, verify_assignments

pytestmark = pytest.mark.django_db


def test_a_complete_balanced_assignment_passes():
    first, second = make_agents([(True, None), (True, 5)])
    make_leads(3, agent=first)
    make_leads(2, agent=second)
    make_leads(2, status=LeadStatus.CONVERTED, agent=first)
    report = verify_assignments(as_of=AS_OF)
    assert report.ok and report.problems == []
    assert report.to_dict() == {
        "ok": True,
        "total_leads": 7,
        "open_leads": 5,
        "unassigned": 0,
        "on_inactive": 0,
        "over_capacity": [],
        "spread": 1,
        "per_agent": {first.email: 3, second.email: 2},
        "pools": {
            "every agent": {
                "ok": True,
                "agents": {
                    first.email: {"load": 3, "weight": "1.00", "eligible": True, "skipped": ""},
                    second.email: {"load": 2, "weight": "1.00", "eligible": True, "skipped": ""},
                },
                "spread": 1.0,
            }
        },
        "misrouted": 0,
        "misrouted_new": 0,
        "received_while_away": 0,
        "over_daily_cap": [],
        "sla_breached": 0,
        "problems": [],
        "counters_ok": True,
    }


def test_it_fails_on_unassigned_open_leads_and_lists_the_first_ones():
    make_agents([(True, None)])
    make_leads(12)
    report = verify_assignments(as_of=AS_OF)
    assert not report.ok
    assert report.unassigned == 12
    assert len(report.first_unassigned) == 10
    assert report.problems == ["12 open leads are not assigned to any agent."]


def test_unassigned_closed_leads_are_reported_but_are_not_a_failure():
    (agent,) = make_agents([(True, None)])
    make_leads(1, agent=agent)
    make_leads(4, status=LeadStatus.LOST)
    report = verify_assignments(as_of=AS_OF)
    assert report.ok and report.unassigned_closed == 4 and report.unassigned == 0


def test_it_fails_on_leads_held_by_inactive_agents_and_lists_those_agents():
    active, gone, _idle = make_agents([(True, None), (False, None), (False, None)])
    make_leads(2, agent=active)
    make_leads(3, agent=gone)
    report = verify_assignments(as_of=AS_OF)
    assert report.on_inactive == 3
    assert report.per_agent == {active.email: 2, gone.email: 3}  # the idle inactive agent is left out
    assert not report.ok and "3 open leads are held by inactive agents" in report.problems[0]


def test_it_fails_above_capacity_and_when_unbalanced():
    small, big, empty = make_agents([(True, 1), (True, None), (True, None)])
    make_leads(2, agent=small)
    make_leads(4, agent=big)
    report = verify_assignments(as_of=AS_OF)
    assert report.over_capacity == [small.email]
    assert report.spread == 4  # 4 (big) - 0 (empty); small is not below capacity
    assert report.per_agent[empty.email] == 0
    assert len(report.problems) == 2


def test_the_spread_ignores_agents_at_capacity():
    _full, other = make_agents([(True, 0), (True, None)])
    make_leads(5, agent=other)
    report = verify_assignments(as_of=AS_OF)
    assert report.spread == 0 and report.ok


def test_loads_are_broken_down_by_class():
    (agent,) = make_agents([(True, None)])
    make_leads(2, agent=agent, age_days=1)
    make_leads(1, agent=agent, age_days=10)
    make_leads(3, agent=agent, status=LeadStatus.CONTACTED, age_days=60)
    (row,) = verify_assignments(as_of=AS_OF).agents
    assert row.by_class == {"urgent": 1, "fresh": 2, "active": 0, "stale": 3}
    assert row.load == 6


def test_it_needs_a_handful_of_queries_whatever_the_number_of_agents():
    agents = make_agents([(True, None)] * 30)
    for agent in agents:
        make_leads(2, agent=agent)
    with CaptureQueriesContext(connection) as queries:
        verify_assignments(as_of=AS_OF)
    # The totals, the agents, their loads, the counters, the rules, and the eligibility (memberships, absences,
    # routing data); the first unassigned only when some are.
    assert len(queries) <= 9  # and the SLA policies, for sla_breached


def test_recording_stores_the_json_shape():
    make_agents([(True, None)])
    make_leads(1)
    report = verify_assignments(as_of=AS_OF)
    run = record_verification(report, source="admin")
    run.refresh_from_db()
    assert run.ok is False and run.source == "admin"
    assert run.report == report.to_dict()
    assert VerificationRun.objects.latest() == run
