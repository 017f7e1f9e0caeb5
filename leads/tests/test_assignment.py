from datetime import timedelta

import numpy as np
import pytest
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from leads.assignment import (
    AgentLoad,
    AssignmentError,
    NoActiveAgentError,
    assign_leads,
    assign_to_agent,
    fill_counts,
    plan_counts,
    unassign_leads,
)
from leads.classification import PRIORITY, classify
from leads.models import AssignmentRun, Lead, LeadAssignment, LeadStatus
from leads.tests.scenarios import AS_OF, holders, loads, make_agents, make_leads, spread
from leads.verification import verify_assignments

pytestmark = pytest.mark.django_db

WORKED = [LeadStatus.CONTACTED, LeadStatus.QUALIFIED]

agent_specs = st.lists(
    st.tuples(
        st.booleans(),  # active
        st.one_of(st.none(), st.integers(0, 12)),  # capacity
        st.integers(0, 10),  # new leads held
        st.integers(0, 6),  # worked leads held
    ),
    min_size=1,
    max_size=6,
)
property_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def build(specs, unassigned: int, closed: int = 0):
    agents = make_agents([(active, capacity) for active, capacity, _, _ in specs])
    for agent, (_, _, new, worked) in zip(agents, specs):
        make_leads(new, agent=agent)
        make_leads(worked, agent=agent, status=LeadStatus.CONTACTED)
    make_leads(unassigned)
    make_leads(closed, status=LeadStatus.LOST)
    return agents


def in_rollback(function):
    """Run function inside a transaction that is always rolled back (one hypothesis example)."""
    with transaction.atomic():
        try:
            return function()
        finally:
            transaction.set_rollback(True)


def room_for(agents, before, n) -> bool:
    rooms = [None if a.capacity is None else max(0, a.capacity - before[a.id]) for a in agents if a.is_active]
    return any(r is None for r in rooms) or sum(rooms) >= n


def balance_reachable(agents, before, n) -> bool:
    """Can adding n leads (without taking any away) leave a spread of at most 1?"""
    active = [a for a in agents if a.is_active]
    if not active:
        return False
    top = max(before[a.id] for a in active)
    needed = sum(
        max(0, min(top - 1 - before[a.id], 10**9 if a.capacity is None else a.capacity - before[a.id])) for a in active
    )
    return n >= needed


# ---------------------------------------------------------------------------------------------- properties


@property_settings
@given(specs=agent_specs, unassigned=st.integers(0, 40), seed=st.integers(0, 2**31 - 1))
def test_assignment_is_balanced_within_capacity_and_skips_inactive_agents(specs, unassigned, seed):
    def example():
        agents = build(specs, unassigned, closed=2)
        before = loads()
        if not any(a.is_active for a in agents):
            with pytest.raises(NoActiveAgentError):
                assign_leads(seed=seed, as_of=AS_OF)
            assert loads() == before
            return
        result = assign_leads(seed=seed, as_of=AS_OF)
        after = loads()
        for agent in agents:
            gained = after[agent.id] - before[agent.id]
            assert gained >= 0
            if not agent.is_active:
                assert gained == 0, "an inactive agent gained a lead"
            if agent.capacity is not None and gained:
                assert after[agent.id] <= agent.capacity, "capacity exceeded"
        left = Lead.objects.open().unassigned().count()
        assert left == result.unassigned_left
        if room_for(agents, before, unassigned):
            assert left == 0, "open leads left although capacity allowed them"
        if balance_reachable(agents, before, unassigned):
            assert spread(agents) <= 1
        # Water-filling: every agent that gained ends at most one above the least loaded agent with room.
        active_below = [after[a.id] for a in agents if a.is_active and (a.capacity is None or after[a.id] < a.capacity)]
        for agent in agents:
            if after[agent.id] > before[agent.id] and active_below:
                assert after[agent.id] <= min(active_below) + 1
        assert result.assigned == unassigned - left
        clean_start = all(
            before[a.id] == 0 if not a.is_active else a.capacity is None or before[a.id] <= a.capacity for a in agents
        )
        if clean_start and room_for(agents, before, unassigned) and balance_reachable(agents, before, unassigned):
            assert verify_assignments(as_of=AS_OF).ok
        assert LeadAssignment.objects.filter(run_id=result.run_id, reason="assigned").count() == result.assigned

    in_rollback(example)


@property_settings
@given(specs=agent_specs, unassigned=st.integers(0, 25), seed=st.integers(0, 2**31 - 1))
def test_the_same_seed_gives_the_same_assignment(specs, unassigned, seed):
    specs = [(True, capacity, new, worked) for _, capacity, new, worked in specs]

    def example():
        build(specs, unassigned)
        runs = []
        for _ in range(2):
            point = transaction.savepoint()
            assign_leads(seed=seed, as_of=AS_OF)
            runs.append(holders())
            transaction.savepoint_rollback(point)
        assert runs[0] == runs[1]
        plan = assign_leads(seed=seed, dry_run=True, as_of=AS_OF)
        assign_leads(seed=seed, as_of=AS_OF)
        assert holders() == runs[0]
        assert plan.assigned == sum(1 for v in runs[0].values() if v is not None) - sum(
            new + worked for _, _, new, worked in specs
        )

    in_rollback(example)


@property_settings
@given(specs=agent_specs, unassigned=st.integers(0, 25), seed=st.integers(0, 2**31 - 1))
def test_rebalance_reclaims_moves_only_new_leads_and_balances_when_possible(specs, unassigned, seed):
    def example():
        agents = build(specs, unassigned)
        if not any(a.is_active for a in agents):
            return
        status_before = dict(Lead.objects.values_list("id", "status"))
        held_before = holders()
        result = assign_leads(seed=seed, rebalance=True, as_of=AS_OF)
        after = loads()
        by_id = {a.id: a for a in agents}
        for agent in agents:
            if not agent.is_active:
                assert after[agent.id] == 0, "an inactive agent still holds open leads"
            elif agent.capacity is not None:
                assert after[agent.id] <= agent.capacity, "an agent is above capacity"
        for lead_id, agent_id in holders().items():
            old = held_before[lead_id]
            if old is not None and agent_id != old and by_id[old].is_active:
                # Taken from an active agent: only above capacity, or a `new` lead moved to balance.
                change = LeadAssignment.objects.get(run_id=result.run_id, lead_id=lead_id)
                assert change.reason in {"rebalanced", "reclaimed-over-capacity"}
                if change.reason == "rebalanced":
                    assert status_before[lead_id] == LeadStatus.NEW
        new_now = dict(
            Lead.objects.filter(status=LeadStatus.NEW, assigned_agent__isnull=False)
            .values_list("assigned_agent_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        final_spread = spread(agents)
        impossible = any("impossible" in note for note in result.notes)
        if final_spread > 1:
            assert impossible
            # Nothing more could be moved: the most loaded agents hold only worked leads.
            top = max(after[a.id] for a in agents if a.is_active)
            assert all(new_now.get(a.id, 0) == 0 for a in agents if a.is_active and after[a.id] == top)
        else:
            assert not impossible
        assert result.unassigned_left == Lead.objects.open().unassigned().count()

    in_rollback(example)


# ---------------------------------------------------------------------------------------------- planning


def test_fill_counts_raises_the_lowest_agents_first():
    gives, ties, rest = fill_counts([5, 0, 2], [None, None, None], 6)
    assert gives == [0, 4, 2] and rest == 0
    gives, ties, rest = fill_counts([5, 0, 2], [None, None, None], 7)
    assert list(gives) == [0, 4, 2] and rest == 1 and ties == [1, 2]


def test_fill_counts_never_goes_beyond_capacity():
    gives, _, _ = fill_counts([0, 0], [3, None], 10)
    assert gives == [3, 7]
    gives, _, rest = fill_counts([0, 0], [3, 4], 10)
    assert gives == [3, 4] and rest == 0


def test_ties_are_broken_by_the_seed():
    agents = [AgentLoad(i, f"a{i}", "", True, None) for i in range(10)]
    first = plan_counts(agents, 3, np.random.default_rng(7))
    assert first == plan_counts(agents, 3, np.random.default_rng(7))
    assert sum(first) == 3 and max(first) == 1
    draws = {tuple(plan_counts(agents, 3, np.random.default_rng(s))) for s in range(20)}
    assert len(draws) > 1


# ---------------------------------------------------------------------------------------------- service


def test_it_assigns_every_open_lead_and_records_the_run():
    agents = make_agents([(True, None), (True, None)])
    make_leads(7)
    make_leads(3, status=LeadStatus.CONVERTED)
    result = assign_leads(seed=3, as_of=AS_OF)
    assert result.assigned == 7 and result.unassigned_left == 0
    assert sorted(loads()[a.id] for a in agents) == [3, 4]
    assert Lead.objects.closed().unassigned().count() == 3
    assert not Lead.objects.open().filter(assigned_at__isnull=True).exists()
    run = AssignmentRun.objects.get(pk=result.run_id)
    assert (run.source, run.action, run.seed, run.assigned, run.unassigned_left) == ("command", "assign", 3, 7, 0)
    assert run.finished_at is not None
    assert run.changes.count() == 7
    assert set(run.changes.values_list("from_agent", flat=True)) == {None}


def test_an_unseeded_run_reports_the_seed_that_replays_it():
    make_agents([(True, None)] * 3)
    make_leads(10)
    point = transaction.savepoint()
    first = assign_leads(as_of=AS_OF)
    state = holders()
    transaction.savepoint_rollback(point)
    assign_leads(seed=first.seed, as_of=AS_OF)
    assert holders() == state


def test_it_refuses_to_run_without_an_active_agent_and_changes_nothing():
    make_agents([(False, None)])
    make_leads(3)
    with pytest.raises(NoActiveAgentError, match="No active agent"):
        assign_leads(seed=1, as_of=clock.now())
    assert AssignmentRun.objects.count() == 0
    assert Lead.objects.unassigned().count() == 3


def test_leads_that_find_no_room_stay_unassigned_and_are_reported():
    agent, full = make_agents([(True, 2), (True, 0)])
    make_leads(5)
    result = assign_leads(seed=1, as_of=AS_OF)
    assert (result.assigned, result.unassigned_left) == (2, 3)
    assert loads()[agent.id] == 2 and loads()[full.id] == 0


def test_when_capacity_is_short_the_most_urgent_leads_are_placed_first():
    make_agents([(True, 3)])
    make_leads(2, status=LeadStatus.CONTACTED, age_days=40)  # stale
    make_leads(2, status=LeadStatus.NEW, age_days=1)  # fresh
    make_leads(2, status=LeadStatus.NEW, age_days=10)  # urgent
    assign_leads(seed=1, as_of=AS_OF)
    placed = Lead.objects.filter(assigned_agent__isnull=False).with_classification(AS_OF)
    assert sorted(placed.values_list("lead_class", flat=True)) == ["fresh", "urgent", "urgent"]


def test_limit_takes_the_most_urgent_leads_first_and_oldest_within_a_class():
    make_agents([(True, None)])
    make_leads(3, status=LeadStatus.QUALIFIED, age_days=10)  # active
    make_leads(3, status=LeadStatus.NEW, age_days=12)  # urgent
    result = assign_leads(seed=1, limit=4, as_of=AS_OF)
    assert result.assigned == 4 and result.unassigned_left == 0
    placed = Lead.objects.filter(assigned_agent__isnull=False).with_classification(AS_OF)
    assert sorted(placed.values_list("lead_class", flat=True)) == ["active", "urgent", "urgent", "urgent"]
    oldest_active = Lead.objects.filter(status=LeadStatus.QUALIFIED).order_by("created_at").first()
    assert oldest_active.assigned_agent_id is not None


def test_classification_selects_only_those_classes():
    make_agents([(True, None)])
    make_leads(2, age_days=1)  # fresh
    make_leads(3, status=LeadStatus.CONTACTED, age_days=40)  # stale
    result = assign_leads(seed=1, classifications=["stale"], as_of=AS_OF)
    assert result.assigned == 3
    assert set(Lead.objects.unassigned().values_list("status", flat=True)) == {LeadStatus.NEW}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classifications": ["closed"]}, "Closed leads are never assigned"),
        ({"classifications": ["hot"]}, "Unknown class hot"),
        ({"limit": 0}, "--limit must be at least 1"),
    ],
)
def test_it_rejects_arguments_that_make_no_sense(kwargs, message):
    make_agents([(True, None)])
    with pytest.raises(AssignmentError, match=message):
        assign_leads(seed=1, **kwargs, as_of=clock.now())


def test_a_dry_run_plans_exactly_what_the_run_does_and_writes_nothing():
    agents = make_agents([(True, None), (True, 4), (True, None)])
    make_leads(5, agent=agents[0])
    make_leads(9)
    plan = assign_leads(seed=11, dry_run=True, as_of=AS_OF)
    assert plan.run_id is None
    assert AssignmentRun.objects.count() == 0 and Lead.objects.unassigned().count() == 9
    result = assign_leads(seed=11, as_of=AS_OF)
    assert plan.added == result.added and plan.after == result.after
    assert result.after == {a.email: loads()[a.id] for a in agents}


def test_rebalance_takes_leads_back_from_inactive_agents_and_above_capacity():
    gone, small, free = make_agents([(True, None), (True, 2), (True, None)])
    make_leads(3, agent=gone, status=LeadStatus.CONTACTED)
    make_leads(4, agent=small)
    gone.is_active = False
    gone.save()
    result = assign_leads(seed=5, rebalance=True, as_of=AS_OF)
    assert loads() == {gone.id: 0, small.id: 2, free.id: 5}
    reasons = LeadAssignment.objects.filter(run_id=result.run_id).values_list("reason", "from_agent", "to_agent")
    assert sorted(reasons) == sorted(
        [("reclaimed-from-inactive", gone.id, free.id)] * 3 + [("reclaimed-over-capacity", small.id, free.id)] * 2
    )
    assert (result.moved, result.assigned) == (5, 0)


def test_rebalance_moves_only_new_leads_and_as_few_as_needed():
    busy, idle = make_agents([(True, None), (True, None)])
    make_leads(6, agent=busy)
    make_leads(2, agent=busy, status=LeadStatus.CONTACTED)
    result = assign_leads(seed=5, rebalance=True, as_of=AS_OF)
    assert loads() == {busy.id: 4, idle.id: 4}
    assert result.moved == 4
    assert not Lead.objects.filter(status=LeadStatus.CONTACTED).exclude(assigned_agent=busy).exists()
    assert set(LeadAssignment.objects.values_list("reason", flat=True)) == {"rebalanced"}


def test_rebalance_uses_unassigned_leads_before_moving_any():
    busy, idle = make_agents([(True, None), (True, None)])
    make_leads(5, agent=busy)
    make_leads(5)
    result = assign_leads(seed=5, rebalance=True, as_of=AS_OF)
    assert (result.moved, result.assigned) == (0, 5)
    assert loads() == {busy.id: 5, idle.id: 5}


def test_rebalance_says_when_worked_leads_make_balance_impossible():
    busy, idle = make_agents([(True, None), (True, None)])
    make_leads(6, agent=busy, status=LeadStatus.QUALIFIED)
    make_leads(2, agent=busy)
    result = assign_leads(seed=5, rebalance=True, as_of=AS_OF)
    assert loads() == {busy.id: 6, idle.id: 2}
    assert any("impossible" in note for note in result.notes)


def test_assigning_to_one_agent_records_a_manual_change():
    first, second = make_agents([(True, None), (True, None)])
    make_leads(2, agent=first)
    make_leads(1)
    make_leads(1, status=LeadStatus.LOST)
    ids = list(Lead.objects.values_list("id", flat=True))
    result = assign_to_agent(lead_ids=ids, agent=second, source="admin")
    assert (result.assigned, result.moved, result.skipped) == (1, 2, 1)
    assert loads() == {first.id: 0, second.id: 3}
    assert set(LeadAssignment.objects.values_list("reason", flat=True)) == {"manual"}
    assert AssignmentRun.objects.get().action == "assign-to-agent"


def test_unassigning_takes_open_leads_away_and_records_it():
    (agent,) = make_agents([(True, None)])
    make_leads(3, agent=agent)
    result = unassign_leads(lead_ids=Lead.objects.values_list("id", flat=True))
    assert result.unassigned == 3 and loads() == {agent.id: 0}
    assert not Lead.objects.filter(assigned_at__isnull=False).exists()
    assert list(LeadAssignment.objects.values_list("reason", "from_agent", "to_agent").order_by().distinct()) == [
        ("unassigned", agent.id, None)
    ]


def test_the_selection_limits_the_leads_assigned():
    make_agents([(True, None)])
    make_leads(4)
    chosen = list(Lead.objects.order_by("id").values_list("id", flat=True)[:2])
    result = assign_leads(seed=1, lead_ids=chosen, as_of=AS_OF)
    assert result.assigned == 2
    assert set(Lead.objects.filter(assigned_agent__isnull=False).values_list("id", flat=True)) == set(chosen)


def test_assigned_at_is_the_time_of_the_run():
    make_agents([(True, None)])
    make_leads(1)
    assign_leads(seed=1, as_of=clock.now())
    lead = Lead.objects.get()
    run = AssignmentRun.objects.get()
    assert abs(lead.assigned_at - run.started_at) < timedelta(seconds=1)


def test_rebalance_never_moves_a_lead_it_already_took_back_above_capacity():
    idle, crowded = make_agents([(True, None), (True, 6)])
    make_leads(9, agent=crowded)
    result = assign_leads(seed=0, rebalance=True, as_of=AS_OF)
    assert sorted(loads().values()) == [4, 5]
    reasons = sorted(LeadAssignment.objects.filter(run_id=result.run_id).values_list("reason", flat=True))
    assert reasons == ["rebalanced"] * (loads()[idle.id] - 3) + ["reclaimed-over-capacity"] * 3
    assert LeadAssignment.objects.values("lead").distinct().count() == loads()[idle.id]


@property_settings
@given(
    leads=st.lists(
        st.tuples(st.sampled_from(sorted(LeadStatus.values)), st.floats(0, 60, allow_nan=False)),
        min_size=1,
        max_size=30,
    ),
    limit=st.integers(1, 30),
    room=st.one_of(st.none(), st.integers(0, 30)),
)
def test_limit_and_short_capacity_place_the_most_urgent_leads_first(leads, limit, room):
    def example():
        make_agents([(True, room)])
        for status, age in leads:
            make_leads(1, status=status, age_days=age)
        result = assign_leads(seed=1, limit=limit, as_of=AS_OF)
        rank = {c: i for i, c in enumerate(PRIORITY)}
        ordered = sorted(
            (rank[classify(lead.status, lead.created_at, AS_OF)], lead.created_at, lead.pk)
            for lead in Lead.objects.open()
        )
        expected = min(limit, len(ordered), room if room is not None else len(ordered))
        placed = set(Lead.objects.filter(assigned_agent__isnull=False).values_list("id", flat=True))
        assert placed == {pk for _, _, pk in ordered[:expected]}
        assert result.unassigned_left == min(limit, len(ordered)) - expected

    in_rollback(example)


def test_a_big_run_refreshes_the_planner_statistics_of_the_leads_and_their_audit_once_committed(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import connection

    from core import sql

    analyzed = []
    monkeypatch.setattr(type(sql.dialect()), "analyze_table", lambda self, cursor, table: analyzed.append(table))
    monkeypatch.setattr(sql, "ANALYZE_AT_ROWS", 5)
    make_agents([(True, None)])
    make_leads(4)
    with django_capture_on_commit_callbacks(execute=True):
        assign_leads(seed=1, as_of=AS_OF)  # 4 leads: below the threshold
    assert analyzed == []
    make_leads(5)
    with django_capture_on_commit_callbacks(execute=True):
        assign_leads(seed=1, as_of=AS_OF)
    qn = connection.ops.quote_name
    assert analyzed == [qn("leads_lead"), qn("leads_leadassignment")]
