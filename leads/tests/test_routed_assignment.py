"""Assignment through routing: pools, weights, absences, working hours, daily caps, the received balance, waiting
leads and --reroute, on every engine; and hypothesis properties over random teams."""

import json
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.models import Absence, Agent, Team
from leads.assignment import assign_leads, assign_on_arrival
from leads.assignment.eligibility import local_day, receipts
from leads.assignment.service import FEW_ARRIVALS
from leads.models import AssignmentRun, Lead, LeadAssignment, LeadStatus, RoutingRule
from leads.tests.scenarios import AS_OF, loads

pytestmark = pytest.mark.django_db

# AS_OF is Tuesday 24 November 2026, 09:00 UTC.


def agent(email, *teams, **fields):
    found = Agent.objects.create(name=email.split("@")[0].title(), email=email, **fields)
    found.teams.set(teams)
    return found


def leads(n, *, country="", status=LeadStatus.NEW, agent=None, prefix="lead", age_days=1):
    Lead.objects.bulk_create(
        Lead(
            name=f"{prefix} {i}",
            name_key=f"{prefix} {i}",
            email=f"{prefix}{i}@example.org",
            country=country,
            status=status,
            created_at=AS_OF - timedelta(days=age_days, minutes=i),
            assigned_agent=agent,
        )
        for i in range(n)
    )
    return list(Lead.objects.filter(email__startswith=prefix).order_by("id"))


def held(by_email=True):
    current = loads()
    return {a.email: current[a.id] for a in Agent.objects.all()} if by_email else current


@pytest.fixture
def territories():
    emea, americas = Team.objects.create(name="EMEA"), Team.objects.create(name="Americas")
    RoutingRule.objects.create(position=1, name="Europe", team=emea, country="France|Germany")
    RoutingRule.objects.create(position=2, name="North America", team=americas, country="United States|Canada")
    return emea, americas


def test_each_lead_goes_to_the_pool_its_rule_names(territories):
    emea, americas = territories
    agent("ana@x.test", emea)
    agent("ben@x.test", emea)
    agent("cat@x.test", americas)
    agent("dan@x.test")  # in no team: only the leads no rule matches (the pool of every agent)
    leads(10, country="France", prefix="fr")
    leads(5, country="canada", prefix="ca")
    leads(4, country="Japan", prefix="jp")
    result = assign_leads(seed=1, as_of=AS_OF)
    assert result.assigned == 19 and result.waiting == {}
    by_agent = {
        email: sorted({lead.country for lead in Lead.objects.filter(assigned_agent__email=email)})
        for email in ("ana@x.test", "ben@x.test", "cat@x.test")
    }
    assert by_agent == {"ana@x.test": ["France"], "ben@x.test": ["France"], "cat@x.test": ["canada"]}
    current = held()
    assert current["ana@x.test"] == current["ben@x.test"] == 5
    assert current["cat@x.test"] == 5
    # Japan matches no rule: the pool of every agent, balanced over the four loads.
    assert current["dan@x.test"] == 4
    audit = LeadAssignment.objects.filter(lead__country="France")
    assert set(audit.values_list("pool", "rule")) == {("EMEA", "Europe")}
    assert set(LeadAssignment.objects.filter(lead__country="Japan").values_list("pool", "rule")) == {("", "")}
    # The lead remembers its pool (the SLA policy that applies to it).
    assert set(Lead.objects.filter(country="France").values_list("assigned_team__name", flat=True)) == {"EMEA"}
    assert set(Lead.objects.filter(country="Japan").values_list("assigned_team", flat=True)) == {None}
    run = AssignmentRun.objects.get(pk=result.run_id)
    assert run.as_of == AS_OF
    assert run.pools["EMEA"]["placed"] == 10
    assert [row["email"] for row in run.pools["EMEA"]["eligible"]] == ["ana@x.test", "ben@x.test"]
    assert sum(row["given"] for row in run.pools["every agent"]["eligible"]) == 4


def test_a_half_weight_new_hire_gets_half_a_share():
    team = Team.objects.create(name="Inside sales")
    agent("senior@x.test", team)
    agent("hire@x.test", team, weight=Decimal("0.5"))
    RoutingRule.objects.create(position=1, name="All", team=team)
    leads(30)
    assign_leads(seed=3, as_of=AS_OF)
    assert held() == {"senior@x.test": 20, "hire@x.test": 10}


def test_absent_and_off_hours_agents_receive_nothing_and_a_pool_with_nobody_eligible_waits(territories):
    emea, americas = territories
    away = agent("away@x.test", emea)
    agent("here@x.test", emea)
    Absence.objects.create(agent=away, starts_at=AS_OF - timedelta(days=2), ends_at=AS_OF + timedelta(days=5))
    # 04:00 in New York: outside Mon-Fri 09:00-17:00, back at 14:00 UTC.
    agent("ny@x.test", americas, time_zone="America/New_York", working_hours="Mon-Fri 09:00-17:00")
    leads(6, country="Germany", prefix="de")
    leads(3, country="United States", prefix="us")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("assign_leads", "--seed", "2", "--json", "--as-of", AS_OF.isoformat(), stdout=out, stderr=err)
    assert failed.value.returncode == 1
    data = json.loads(out.getvalue())
    assert data["waiting"] == {"Americas": 3}
    assert data["waiting_details"]["Americas"]["next_available"] == "2026-11-24T14:00:00+00:00"
    assert "off-hours" in data["waiting_details"]["Americas"]["why"]
    assert "Pool Americas: 3 leads wait" in err.getvalue()
    assert held()["away@x.test"] == 0 and held()["here@x.test"] == 6
    run = AssignmentRun.objects.get(pk=data["run"])
    assert run.pools["EMEA"]["skipped"][0]["skipped"] == "absent"
    # The next run, once New York is at work, places them.
    later = AS_OF.replace(hour=15)
    assign_leads(seed=2, as_of=later)
    assert held()["ny@x.test"] == 3


def test_a_daily_cap_holds_per_day_in_the_agents_time_zone():
    capped = agent("capped@x.test", daily_cap=3, time_zone="Asia/Tokyo")  # 18:00 in Tokyo
    agent("free@x.test")
    leads(10)
    assign_leads(seed=5, as_of=AS_OF)
    assert held()["capped@x.test"] == 3
    assert held()["free@x.test"] == 7
    leads(10, prefix="more")
    assign_leads(seed=5, as_of=AS_OF + timedelta(hours=2))  # 20:00 in Tokyo, same day: at cap
    assert held()["capped@x.test"] == 3
    leads(10, prefix="next")
    assign_leads(seed=5, as_of=AS_OF + timedelta(hours=16))  # 01:00 the next day in Tokyo
    assert held()["capped@x.test"] == 6
    start, end = local_day(AS_OF, capped.time_zone)
    assert receipts().filter(to_agent=capped, run__as_of__gte=start, run__as_of__lt=end).count() == 3


def test_the_received_balance_does_not_flood_a_rep_back_from_holiday(settings):
    settings.ROUTING_BALANCE = "received"
    back = agent("back@x.test")
    stayed = agent("stayed@x.test")
    Agent.objects.update(created_at=AS_OF - timedelta(days=90))
    Absence.objects.create(agent=back, starts_at=AS_OF - timedelta(days=30), ends_at=AS_OF - timedelta(days=15))
    # Over the last 30 days `stayed` received 30 leads (closed since); `back` was away half of them.
    run = AssignmentRun.objects.create(source="command", action="assign", as_of=AS_OF - timedelta(days=10))
    for lead in leads(30, status=LeadStatus.CONVERTED, agent=stayed, prefix="old"):
        LeadAssignment.objects.create(lead=lead, to_agent=stayed, run=run, reason="assigned")
    leads(20)
    assign_leads(seed=8, as_of=AS_OF)
    # By open load `back` would take all 20 (both hold nothing open). By leads received per day present: stayed had
    # 1 a day over 30 days, back 0 over 15: back catches up to stayed's pace, not to stayed's total.
    current = held()
    assert current["back@x.test"] + current["stayed@x.test"] == 20
    assert 10 <= current["back@x.test"] <= 19
    assert Fraction(current["back@x.test"], 15) <= Fraction(30 + current["stayed@x.test"] + 1, 30)


def test_reroute_moves_unworked_leads_to_the_pool_their_rule_now_names(territories):
    emea, americas = territories
    agent("eu@x.test", emea)
    us = agent("us@x.test", americas)
    fresh = leads(4, country="France", agent=us, prefix="moved")
    worked = leads(2, country="France", agent=us, status=LeadStatus.CONTACTED, prefix="worked")
    result = assign_leads(seed=1, reroute=True, as_of=AS_OF)
    assert result.moved == 4
    assert set(Lead.objects.filter(id__in=[f.id for f in fresh]).values_list("assigned_agent__email", flat=True)) == {
        "eu@x.test"
    }
    assert set(Lead.objects.filter(id__in=[w.id for w in worked]).values_list("assigned_agent__email", flat=True)) == {
        "us@x.test"
    }
    assert set(LeadAssignment.objects.filter(reason="rerouted").values_list("pool", flat=True)) == {"EMEA"}


def test_a_few_arrivals_are_routed_as_a_batch_of_arrivals_is(territories):
    # A few leads are routed in Python, more through the frame: the same pools and rules, classes included.
    emea, americas = territories
    RoutingRule.objects.create(position=3, name="Old ones", team=americas, classification="stale")
    agent("eu@x.test", emea)
    agent("us@x.test", americas)
    agent("other@x.test")
    shapes = [("Germany", 1), ("Germany", 40), ("Canada", 1), ("Japan", 1), ("Japan", 40), ("France", 2)]

    def arrive(prefix, copies):
        made = [
            lead
            for k, (country, days) in enumerate(shapes * copies)
            for lead in leads(1, country=country, age_days=days, prefix=f"{prefix}-{k}-")
        ]
        assign_on_arrival(lead_ids=[lead.id for lead in made], as_of=AS_OF, seed=3)
        rows = LeadAssignment.objects.filter(lead__in=made).order_by("lead_id").values_list("pool", "rule")
        return list(rows)[: len(shapes)]

    few = arrive("few", 1)
    assert len(shapes) <= FEW_ARRIVALS < len(shapes) * 4
    assert few == arrive("many", 4)
    expected = ["EMEA/Europe", "EMEA/Europe", "Americas/North America", "/", "Americas/Old ones", "EMEA/Europe"]
    assert [f"{pool}/{rule}" for pool, rule in few] == expected


def test_an_arrival_is_routed_and_audited_with_its_rule(territories):
    emea, _ = territories
    agent("eu@x.test", emea)
    agent("other@x.test")
    (lead,) = leads(1, country="Germany", prefix="arrival")
    result = assign_on_arrival(lead_ids=[lead.id], as_of=AS_OF, seed=4)
    assert result.assigned == 1
    row = LeadAssignment.objects.get(lead=lead)
    assert (row.to_agent.email, row.pool, row.rule, row.reason) == (
        "eu@x.test",
        "EMEA",
        "Europe",
        "assigned-on-arrival",
    )
    assert AssignmentRun.objects.get(pk=result.run_id).pools["EMEA"]["eligible"][0]["given"] == 1
    assert Lead.objects.get(pk=lead.pk).assigned_team == emea


def test_a_rebalance_with_weights_moves_new_leads_until_the_weighted_loads_balance():
    team = Team.objects.create(name="Desk")
    heavy = agent("heavy@x.test", team)
    agent("half@x.test", team, weight=Decimal("0.5"))
    agent("full@x.test", team)
    RoutingRule.objects.create(position=1, name="All", team=team)
    leads(25, agent=heavy)
    result = assign_leads(seed=6, rebalance=True, as_of=AS_OF)
    assert held() == {"heavy@x.test": 10, "half@x.test": 5, "full@x.test": 10}
    assert result.moved == 15
    assert set(LeadAssignment.objects.values_list("reason", flat=True)) == {"rebalanced"}


# --------------------------------------------------------------------------------------------------------------
# Properties


def weighted_ok(pool_members, lead_pool, as_of):
    """The weighted balance of every pool, as the issue words it, on the open load: for an agent i holding one of
    the pool's leads and an eligible j with room, (load_j + 1) / w_j >= load_i / w_i."""
    from leads.assignment.eligibility import read_eligibility
    from leads.loads import agent_loads

    eligibility = read_eligibility({a.id: a for a in agent_loads(everyone=True)}, as_of=as_of)
    for team_id, member_ids in pool_members.items():
        holders = {
            aid
            for lid, aid in Lead.objects.open().values_list("id", "assigned_agent_id")
            if lead_pool[lid] == team_id and aid is not None
        }
        for i in holders:
            for j in member_ids:
                a, b = eligibility.agents[i], eligibility.agents[j]
                if i == j or not b.eligible or not a.is_active:
                    continue
                if Fraction(a.open_leads) / Fraction(a.weight) > Fraction(b.open_leads + 1) / Fraction(b.weight):
                    return False
    return True


agents_strategy = st.lists(
    st.tuples(
        st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("2"), Decimal("1.5")]),  # weight
        st.one_of(st.none(), st.integers(0, 8)),  # capacity
        st.one_of(st.none(), st.integers(0, 5)),  # daily cap
        st.sampled_from(["", "Mon-Fri 08:00-10:00", "Sat-Sun 00:00-24:00"]),  # working hours (UTC)
        st.booleans(),  # absent now
        st.frozensets(st.integers(0, 2), max_size=2),  # teams
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=agents_strategy,
    countries=st.lists(st.sampled_from(["A", "B", "C", "D"]), max_size=30),
    seed=st.integers(0, 99),
)
def test_after_any_run_every_invariant_holds_and_the_seed_reproduces_it(specs, countries, seed):
    from django.db import transaction

    outcomes = []
    for _ in range(2):
        with transaction.atomic():  # each try starts from an empty database
            teams = [Team.objects.create(name=f"T{k}") for k in range(3)]
            for k, country in enumerate("ABC"):
                RoutingRule.objects.create(position=k + 1, name=f"R{k}", team=teams[k], country=country)
            made = []
            for n, (weight, capacity, cap, hours, absent, team_ids) in enumerate(specs):
                a = agent(
                    f"a{n}@x.test",
                    *[teams[t] for t in sorted(team_ids)],
                    weight=weight,
                    capacity=capacity,
                    daily_cap=cap,
                    working_hours=hours,
                )
                if absent:
                    Absence.objects.create(
                        agent=a, starts_at=AS_OF - timedelta(hours=1), ends_at=AS_OF + timedelta(hours=1)
                    )
                made.append(a)
            for k, country in enumerate(countries):
                leads(1, country=country, prefix=f"c{k}x")
            assign_leads(seed=seed, as_of=AS_OF)
            team_of = {"A": teams[0].id, "B": teams[1].id, "C": teams[2].id}
            lead_pool = {lid: team_of.get(c) for lid, c in Lead.objects.values_list("id", "country")}
            members = {t.id: [a.id for a in made if t in a.teams.all()] for t in teams}
            members[None] = [a.id for a in made]
            assert weighted_ok(members, lead_pool, AS_OF)
            away = {a.id for a in made if Absence.objects.filter(agent=a).exists()}
            # AS_OF is a Tuesday, 09:00 UTC: Mon-Fri 08:00-10:00 is open, Sat-Sun is not.
            off = {a.id for a in made if a.working_hours.startswith("Sat")}
            for lead_id, agent_id in Lead.objects.values_list("id", "assigned_agent_id"):
                if agent_id is None:
                    continue
                assert agent_id not in away and agent_id not in off
                assert agent_id in members[lead_pool[lead_id]]
            by_agent = {a.id: a for a in made}
            for agent_id, n in loads().items():
                a = by_agent[agent_id]
                assert a.capacity is None or n <= a.capacity
                assert a.daily_cap is None or n <= a.daily_cap
            outcomes.append(
                sorted((c, a or "") for c, a in Lead.objects.values_list("country", "assigned_agent__email"))
            )
            transaction.set_rollback(True)
    assert outcomes[0] == outcomes[1]


# --------------------------------------------------------------------------------------------------------------
# What a run records is what verification and the explanation read


def test_a_routed_run_verifies_and_explains_itself(territories):
    from leads.explanation import explain_assignment
    from leads.verification import verify_assignments

    emea, americas = territories
    away = agent("away@x.test", emea)
    agent("ana@x.test", emea)
    agent("ben@x.test", emea, weight=Decimal("0.5"))
    agent("cat@x.test", americas)
    Absence.objects.create(
        agent=away, starts_at=AS_OF - timedelta(days=1), ends_at=AS_OF + timedelta(days=3), reason="holiday"
    )
    leads(9, country="France", prefix="fr")
    leads(2, country="Canada", prefix="ca")
    result = assign_leads(seed=11, as_of=AS_OF)
    assert held()["ana@x.test"] == 6 and held()["ben@x.test"] == 3 and held()["away@x.test"] == 0

    report = verify_assignments(as_of=AS_OF)
    data = report.to_dict()
    assert data["ok"], data["problems"]
    assert set(data["pools"]) == {"EMEA", "Americas", "every agent"}
    assert all(pool["ok"] for pool in data["pools"].values())
    assert (data["misrouted"], data["received_while_away"], data["over_daily_cap"]) == (0, 0, [])

    lead = Lead.objects.filter(country="France", assigned_agent__email="ben@x.test").first()
    explanation = explain_assignment(lead)
    out = StringIO()
    call_command("explain_assignment", str(lead.id), "--json", stdout=out)
    explained = json.loads(out.getvalue())
    assert explanation.rule == "Europe"
    assert explained["seed"] == result.seed
    assert explained["rule"] == "Europe"
    assert explained["skipped"][0]["email"] == "away@x.test"
    assert "absent" in json.dumps(explained["skipped"][0])
    given = {row["email"]: row["given"] for row in explained["eligible"]}
    assert given == {"ana@x.test": 6, "ben@x.test": 3}


def test_verification_catches_a_lead_received_by_an_absent_agent(territories):
    from leads.verification import verify_assignments

    emea, _ = territories
    agent("other@x.test", emea)
    agent("ana@x.test", emea)
    leads(4, country="France")
    assign_leads(seed=1, as_of=AS_OF)
    # The absence was entered late, covering the run's moment: the proof must say so.
    Absence.objects.create(
        agent=Agent.objects.get(email="ana@x.test"),
        starts_at=AS_OF - timedelta(hours=1),
        ends_at=AS_OF + timedelta(hours=1),
    )
    data = verify_assignments(as_of=AS_OF + timedelta(hours=2)).to_dict()
    assert data["received_while_away"] == 2
    assert not data["ok"]


def test_the_explanation_says_when_an_agent_stopped_at_its_daily_cap():
    from leads.explanation import explain_assignment

    agent("capped@x.test", daily_cap=2)
    agent("free@x.test")
    leads(8)
    assign_leads(seed=1, as_of=AS_OF)
    lead = Lead.objects.filter(assigned_agent__email="capped@x.test").first()
    assert "no room left (today's daily cap of 2)" in explain_assignment(lead).why
    other = Lead.objects.filter(assigned_agent__email="free@x.test").first()
    assert "no room left" not in explain_assignment(other).why


def test_an_absence_entered_while_a_run_plans_makes_it_plan_again_under_the_lock(monkeypatch):
    from leads.assignment import service

    leaving = agent("leaving@x.test")
    agent("staying@x.test")
    leads(6)
    original, calls = service._plan, []

    def plan_then_leave(**kwargs):
        calls.append(kwargs)
        planned = original(**kwargs)
        if len(calls) == 1:  # another session records an absence before the run takes the lock
            Absence.objects.create(
                agent=leaving, starts_at=AS_OF - timedelta(hours=1), ends_at=AS_OF + timedelta(days=1)
            )
        return planned

    monkeypatch.setattr(service, "_plan", plan_then_leave)
    assign_leads(seed=1, as_of=AS_OF)
    assert len(calls) == 2
    assert held() == {"leaving@x.test": 0, "staying@x.test": 6}


def test_a_routed_pool_short_of_room_places_the_most_urgent_leads_first(territories):
    emea, _ = territories
    agent("eu@x.test", emea, capacity=3)
    leads(4, country="France", prefix="young", age_days=1)  # fresh
    urgent = leads(2, country="France", prefix="waiting", age_days=9)  # new and past the fresh window: urgent
    result = assign_leads(seed=1, as_of=AS_OF)
    assert result.assigned == 3 and result.waiting == {"EMEA": 3}
    placed = set(Lead.objects.filter(assigned_agent__isnull=False).values_list("id", flat=True))
    assert {lead.id for lead in urgent} <= placed
    # Of the fresh ones, the one waiting longest.
    assert Lead.objects.get(id=(placed - {lead.id for lead in urgent}).pop()).name == "young 3"


@pytest.mark.parametrize("condition", [{"email_domain": "example.org"}, {"country": "France"}])
def test_verification_counts_misrouted_leads_read_one_by_one_or_grouped(condition):
    from leads.verification import verify_assignments

    team = Team.objects.create(name="Key accounts")
    member = agent("key@x.test", team)
    outsider = agent("out@x.test")
    leads(3, country="France", agent=outsider, prefix="mis")  # emails @example.org, France: the rule's pool
    leads(2, country="France", agent=member, prefix="right")
    RoutingRule.objects.create(position=1, name="Key", team=team, **condition)
    data = verify_assignments(as_of=AS_OF).to_dict()
    assert (data["misrouted"], data["misrouted_new"]) == (3, 3)
    assert not data["ok"]


def test_weights_count_without_any_rule_and_on_arrival_too():
    agent("senior@x.test")
    agent("hire@x.test", weight=Decimal("0.5"))
    leads(12)
    assign_leads(seed=2, as_of=AS_OF)
    assert held() == {"senior@x.test": 8, "hire@x.test": 4}
    (arrival,) = leads(1, prefix="arrival")
    assign_on_arrival(lead_ids=[arrival.id], as_of=AS_OF, seed=1)
    # (8 + 1) / 1 = 9 against (4 + 1) / 0.5 = 10: the senior takes it.
    assert Lead.objects.get(id=arrival.id).assigned_agent.email == "senior@x.test"
