"""Assignment of open leads to agents: fair, reproducible, capacity-aware, audited, safe under concurrency.

Definitions (README.md, "Assignment and verification"):
- the *load* of an agent is the number of open leads it holds;
- an *eligible* agent is active and below its capacity (no capacity = no limit);
- the team is *balanced* when max(load of active agents) - min(load of active agents below capacity) <= 1.

How a run works:
1. Read the loads in one aggregate query, on a snapshot that takes no lock (crm.db_lock.read_snapshot).
2. Plan in memory. Water-filling: every lead goes to an agent with the lowest load at that moment, never
   beyond capacity, ties broken at random. The plan is computed on counts (how many leads each agent gets),
   then the candidate leads, fetched in a deterministic order, are shuffled with the seed and dealt out.
   Same database + same seed = same assignment.
3. Stage the (lead, from agent, to agent, reason) mapping in a temporary table (still outside the lock, except
   on PostgreSQL, whose temporary table lives in the transaction).
4. Take the assignment lock (core.sql.locked: a PostgreSQL advisory lock, a MariaDB named lock, SQLite's
   IMMEDIATE transaction) and check the plan still stands: same agents and loads, every planned lead still open and
   held by the agent it is planned from. If not, plan again under the lock. Then write set-based: ONE
   UPDATE of the leads joins the mapping, ONE INSERT ... SELECT writes the LeadAssignment audit rows.
   The write lock is held only for this step.
"""

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from agents.models import Agent
from core import sql
from core.sql import read_snapshot
from leads.choices import OPEN_STATUSES, LeadStatus
from leads.classification import LeadClass
from leads.models import AssignmentRun, Lead, LeadAssignment

# "Most urgent first", used by --limit/--classification and whenever capacity cannot take every lead:
# urgent (never worked and past the fresh window: about to go stale), then fresh (just arrived, the best
# chance to convert), then active (being worked), then stale. Within a class, the lead waiting longest
# (oldest created_at) first, then the lowest id.
PRIORITY: tuple[LeadClass, ...] = (LeadClass.URGENT, LeadClass.FRESH, LeadClass.ACTIVE, LeadClass.STALE)
ASSIGNABLE_CLASSES = frozenset(PRIORITY)

# The named lock (core.sql.LOCKS) that serializes assignment runs, the admin's actions included.
LOCK = "assignment"
REASON = LeadAssignment.Reason


class AssignmentError(Exception):
    """A run that cannot start because of its arguments; nothing was changed."""

    returncode = 2


class NoActiveAgentError(AssignmentError):
    """No agent is active: nothing can be assigned and nothing was changed."""

    returncode = 1


@dataclass
class AgentLoad:
    id: int
    email: str
    name: str
    active: bool
    capacity: int | None
    load: int = 0
    new: int = 0  # open leads with status `new`: the only ones a rebalance may move

    @property
    def room(self) -> int | None:
        """How many more leads the agent may take (None: no limit)."""
        if not self.active:
            return 0
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.load)


@dataclass
class AssignmentResult:
    seed: int | None  # None for the manual admin actions, which involve no chance
    dry_run: bool
    action: str
    assigned: int = 0  # unassigned leads given an agent
    moved: int = 0  # leads taken from one agent and given to another
    unassigned: int = 0  # leads taken from an agent and left without one
    unassigned_left: int = 0  # selected open leads that could not be placed
    skipped: int = 0  # selected leads the action did not apply to (admin actions)
    run_id: int | None = None
    before: dict[str, int] = field(default_factory=dict)  # email -> load before
    added: dict[str, int] = field(default_factory=dict)  # email -> leads gained
    taken: dict[str, int] = field(default_factory=dict)  # email -> leads lost
    active: dict[str, bool] = field(default_factory=dict)
    capacity: dict[str, int | None] = field(default_factory=dict)
    spread: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def after(self) -> dict[str, int]:
        return {
            email: load - self.taken.get(email, 0) + self.added.get(email, 0) for email, load in self.before.items()
        }

    @property
    def per_agent(self) -> dict[str, int]:
        """Leads gained by each active agent (zeros included)."""
        return {email: self.added.get(email, 0) for email, active in self.active.items() if active}

    def to_dict(self) -> dict:
        return {
            "assigned": self.assigned,
            "moved": self.moved,
            "unassigned_left": self.unassigned_left,
            "seed": self.seed,
            "per_agent": self.per_agent,
            "run": self.run_id,
        }


# --------------------------------------------------------------------------------------------------
# Planning on counts (pure functions, no database)


def fill_counts(loads: list[int], rooms: list[int | None], n: int) -> tuple[list[int], list[int], int]:
    """Water-fill n leads over agents with these loads and rooms (None: no limit, 0: takes nothing).

    Returns (gives, ties, rest): gives[i] leads for agent i bring every eligible agent up to a common level
    T (or to its capacity); `rest` more leads (rest < len(ties)) go one each to `rest` of the agents in
    `ties`, which all sit at level T with room left, chosen at random by the caller. This is exactly the
    outcome of giving leads one by one to a least-loaded agent with random tie-breaks.
    """
    eligible = [i for i, room in enumerate(rooms) if room is None or room > 0]
    gives = [0] * len(loads)
    if n <= 0 or not eligible:
        return gives, [], 0
    if all(rooms[i] is not None for i in eligible) and sum(rooms[i] for i in eligible) <= n:
        for i in eligible:
            gives[i] = rooms[i]
        return gives, [], 0

    def filled(level: int) -> int:
        return sum(_take(loads[i], rooms[i], level) for i in eligible)

    low = min(loads[i] for i in eligible)
    high = max(loads[i] for i in eligible) + n  # filled(high) >= n since the rooms exceed n
    while low < high:  # the largest level with filled(level) <= n
        mid = (low + high + 1) // 2
        if filled(mid) <= n:
            low = mid
        else:
            high = mid - 1
    level = low
    for i in eligible:
        gives[i] = _take(loads[i], rooms[i], level)
    ties = [i for i in eligible if loads[i] <= level and (rooms[i] is None or rooms[i] > level - loads[i])]
    return gives, ties, n - sum(gives)


def _take(load: int, room: int | None, level: int) -> int:
    wanted = max(0, level - load)
    return wanted if room is None else min(room, wanted)


def spread_of(loads: list[int], capacities: list[int | None]) -> int:
    """max(load) - min(load of agents below capacity), over the given (active) agents; 0 if none is below."""
    below = [load for load, cap in zip(loads, capacities) if cap is None or load < cap]
    if not loads or not below:
        return 0
    return max(loads) - min(below)


def plan_counts(agents: list[AgentLoad], n: int, rng: np.random.Generator) -> list[int]:
    """How many of n pooled leads each agent receives, ties drawn with rng."""
    gives, ties, rest = fill_counts([a.load for a in agents], [a.room for a in agents], n)
    if rest:
        for i in sorted(rng.choice(len(ties), size=rest, replace=False).tolist()):
            gives[ties[i]] += 1
    return gives


def plan_rebalance(active: list[AgentLoad], pool: int) -> tuple[list[int], bool]:
    """How many `new` leads each active agent (loads already within capacity) must give up.

    The smallest moves that balance the team once the pool and the given-up leads are water-filled: agents
    above a ceiling H give up new leads down to H; H is the highest ceiling whose outcome is balanced (or,
    when worked leads make balance impossible, as balanced as giving up new leads can make it).
    Returns (shed per agent, balance_possible).
    """
    if not active:
        return [], True
    capacities = [a.capacity for a in active]

    def outcome(ceiling: int) -> tuple[list[int], int]:
        shed = [min(a.new, max(0, a.load - ceiling)) for a in active]
        loads = [a.load - s for a, s in zip(active, shed)]
        rooms = [None if a.capacity is None else a.capacity - load for a, load in zip(active, loads)]
        gives, ties, rest = fill_counts(loads, rooms, pool + sum(shed))
        final = [load + g for load, g in zip(loads, gives)]
        spread = spread_of(final, capacities)
        if rest:  # `rest` of the agents at the water level get one more: the spread can only grow by one
            spread = spread_of([f + (1 if i in ties else 0) for i, f in enumerate(final)], capacities)
            spread = max(spread, spread_of(final, capacities))
        return shed, spread

    best = max(1, outcome(0)[1])
    low, high = 0, max(a.load for a in active)
    while low < high:  # the highest ceiling that reaches the best spread: fewest leads moved
        mid = (low + high + 1) // 2
        if outcome(mid)[1] <= best:
            low = mid
        else:
            high = mid - 1
    shed, spread = outcome(low)
    return shed, best <= 1


# --------------------------------------------------------------------------------------------------
# The service


def assign_leads(
    *,
    seed: int | None = None,
    classifications: Iterable[str] | None = None,
    limit: int | None = None,
    rebalance: bool = False,
    dry_run: bool = False,
    lead_ids=None,
    source: str = AssignmentRun.Source.COMMAND,
    user=None,
    as_of: datetime | None = None,
) -> AssignmentResult:
    """Give unassigned open leads to eligible agents by water-filling (see the module docstring).

    classifications/limit: only leads of those classes, at most `limit`, most urgent first (PRIORITY).
    lead_ids: only these leads (ids or a queryset of ids), e.g. the admin's selection.
    rebalance: first take back open leads from inactive agents and above capacity, then move `new` leads
    from the most to the least loaded active agents until balanced, then assign the rest.
    Raises AssignmentError (nothing changed) when no agent is active or the arguments make no sense.
    """
    as_of = as_of or timezone.now()
    classes = _check_classes(classifications)
    if limit is not None and limit < 1:
        raise AssignmentError(f"--limit must be at least 1, not {limit}.")
    if seed is not None and not 0 <= seed < 2**63:
        raise AssignmentError(f"--seed must be a non-negative integer below 2**63, not {seed}.")
    if seed is None:
        seed = secrets.randbelow(2**31)
    args = dict(seed=seed, classes=classes, limit=limit, rebalance=rebalance, dry_run=dry_run, lead_ids=lead_ids,
                as_of=as_of)
    # Plan on a snapshot, outside the write lock (on SQLite a long plan would hold every other writer back).
    with read_snapshot():
        planned_agents, result, mapping = _plan(**args)
    if dry_run:
        return result
    flags = {
        "classifications": sorted(classes) if classes is not None else None,
        "limit": limit,
        "rebalance": rebalance,
        "selection": lead_ids is not None,
        "as_of": as_of.isoformat(),
    }
    in_transaction = sql.dialect().temporary_tables_end_with_transaction
    if not in_transaction:
        with read_snapshot():  # a temporary table: writing it takes no lock on the database
            _stage_mapping(mapping)
    with sql.locked(LOCK):
        if in_transaction:
            _stage_mapping(mapping)
        # Another run (or an import, an admin action) may have written since the snapshot: the plan stands only
        # if the agents and their loads are the same and every lead of the plan is still where it was planned
        # from. Otherwise plan again, under the lock, from what is there now.
        if load_agents() != planned_agents or not _still_as_planned(mapping):
            _, result, mapping = _plan(**args)
            _stage_mapping(mapping)
        _write(result, mapping, source=source, user=user, flags=flags)
    return result


def _plan(*, seed, classes, limit, rebalance, dry_run, lead_ids, as_of):
    """The run's plan: (the agents as read, the result's counts, the (lead, from, to, reason) mapping)."""
    rng = np.random.default_rng(seed)
    result = AssignmentResult(seed=seed, dry_run=dry_run, action="rebalance" if rebalance else "assign")
    agents = load_agents()
    planned_agents = {agent_id: replace(agent) for agent_id, agent in agents.items()}
    _describe_before(result, agents)
    if not any(a.active for a in agents.values()):
        raise NoActiveAgentError("No active agent: nothing was assigned. Activate or import agents first.")

    # The pool: (lead id, from agent id, reason) of every lead that needs an agent.
    pool: list[tuple[int, int | None, str]] = []
    keys: dict[int, tuple] = {}  # priority sort keys of the reclaimed leads
    if rebalance:
        pool, keys = _reclaim(agents, rng, as_of)

    candidates = Lead.objects.open().unassigned()
    if classes is not None:
        candidates = candidates.of_class(*classes, as_of=as_of)
    if lead_ids is not None:
        candidates = candidates.filter(id__in=lead_ids)
    active = sorted((a for a in agents.values() if a.active), key=lambda a: a.id)
    rooms = [a.room for a in active]
    total_room = None if any(r is None for r in rooms) else sum(rooms)
    wanted = candidates.count()
    if limit is not None:
        wanted = min(limit, wanted)
    # Capacity short (or a limit): the most urgent leads first. Otherwise every candidate, in id order.
    if limit is not None or (total_room is not None and total_room < wanted + len(pool)):
        ranked = _ranked(candidates, as_of)[:wanted]
        if pool:  # reclaimed leads compete with the unassigned ones on the same priority
            merged = sorted(
                [(key, (lead_id, None, REASON.ASSIGNED)) for key, lead_id in _keyed(ranked)]
                + [(keys[entry[0]], entry) for entry in pool]
            )
            pool = [entry for _, entry in merged]
        else:
            pool = [(lead_id, None, REASON.ASSIGNED) for lead_id in ranked.values_list("id", flat=True)]
    else:
        ids = candidates.order_by("id").values_list("id", flat=True)
        pool += [(lead_id, None, REASON.ASSIGNED) for lead_id in ids]

    shed = [0] * len(active)
    if rebalance:
        shed, possible = plan_rebalance(active, len(pool))
        if not possible:
            result.notes.append(
                "Balance is impossible: agents hold more worked (not `new`) leads than the others can reach; "
                "worked leads stay with whoever worked them."
            )
    for a, s in zip(active, shed):  # the agent's freed room is taken into account by the fill
        a.load -= s
    gives = plan_counts(active, len(pool) + sum(shed), rng)
    net_shed = [max(0, s - g) for s, g in zip(shed, gives)]
    net_give = [max(0, g - s) for s, g in zip(shed, gives)]
    for a, s in zip(active, shed):
        a.load += s
    pool = (
        _shed_leads(active, net_shed, rng, reclaimed=keys) + pool
    )  # moved leads are always placed (they free their own room)

    placed = sum(net_give)
    # Deal: the k-th lead of a random permutation of the placed leads goes to the k-th slot of the agents'
    # counts. Kept in pool order (lead id order when nothing is reclaimed), which the writes prefer.
    to_agents = np.empty(placed, dtype=np.int64)
    to_agents[rng.permutation(placed)] = np.repeat(np.array([a.id for a in active], dtype=np.int64), net_give)
    mapping = [(lead_id, from_id, to_id, reason) for (lead_id, from_id, reason), to_id in zip(pool, to_agents.tolist())]
    for lead_id, from_id, reason in pool[placed:]:
        if from_id is not None:  # reclaimed and nowhere to go: it is still taken away
            mapping.append((lead_id, from_id, None, reason))

    _count(result, mapping, agents, unplaced=len(pool) - placed)
    final = [result.after[a.email] for a in active]
    result.spread = spread_of(final, [a.capacity for a in active])
    if result.spread > 1 and not rebalance:
        result.notes.append(
            f"The loads stay unbalanced (spread {result.spread}): run with --rebalance to move `new` leads."
        )
    return planned_agents, result, mapping


@sql.locked(LOCK)
def assign_to_agent(*, lead_ids, agent: Agent, source: str = AssignmentRun.Source.ADMIN, user=None) -> AssignmentResult:
    """Give the selected open leads to one agent, whatever the balance (a manager's decision, reason `manual`)."""
    agents = load_agents()
    result = AssignmentResult(seed=None, dry_run=False, action="assign-to-agent")
    _describe_before(result, agents)
    selected = Lead.objects.filter(id__in=lead_ids)
    rows = list(selected.open().exclude(assigned_agent=agent).values_list("id", "assigned_agent_id").order_by("id"))
    result.skipped = selected.count() - len(rows)
    mapping = [(lead_id, from_id, agent.id, REASON.MANUAL) for lead_id, from_id in rows]
    _count(result, mapping, agents, unplaced=0)
    _stage_mapping(mapping)
    _write(result, mapping, source=source, user=user, flags={"agent": agent.email})
    return result


@sql.locked(LOCK)
def unassign_leads(*, lead_ids, source: str = AssignmentRun.Source.ADMIN, user=None) -> AssignmentResult:
    """Take the selected open leads away from their agents (reason `unassigned`)."""
    agents = load_agents()
    result = AssignmentResult(seed=None, dry_run=False, action="unassign")
    _describe_before(result, agents)
    selected = Lead.objects.filter(id__in=lead_ids)
    rows = list(selected.open().filter(assigned_agent__isnull=False).values_list("id", "assigned_agent_id"))
    result.skipped = selected.count() - len(rows)
    mapping = [(lead_id, from_id, None, REASON.UNASSIGNED) for lead_id, from_id in sorted(rows)]
    _count(result, mapping, agents, unplaced=0)
    _stage_mapping(mapping)
    _write(result, mapping, source=source, user=user, flags={})
    return result


def preview_assign_to_agent(*, lead_ids) -> list[dict]:
    """For each active agent: its load and capacity, the load it would have, by how much that exceeds its
    capacity, and the team's spread, if the selected open leads were all given to it (for the admin's
    confirmation page)."""
    agents = load_agents()
    held = defaultdict(int)  # agent id (or None) -> selected open leads it holds
    for agent_id, n in (
        Lead.objects.filter(id__in=lead_ids).open().values_list("assigned_agent_id").annotate(n=Count("id")).order_by()
    ):
        held[agent_id] += n
    total = sum(held.values())
    active = sorted((a for a in agents.values() if a.active), key=lambda a: (a.name, a.email))
    rows = []
    for target in active:
        after = {a.id: a.load - held[a.id] for a in active}
        after[target.id] = target.load + total - held[target.id]
        spread = spread_of([after[a.id] for a in active], [a.capacity for a in active])
        rows.append(
            {
                "agent": target,
                "load": target.load,
                "after": after[target.id],
                "over_by": max(0, after[target.id] - target.capacity) if target.capacity is not None else 0,
                "spread": spread,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Database helpers


def lock_assignments():
    """A transaction (context manager or decorator) that serializes assignment runs until it ends: the named
    lock of core.sql (PostgreSQL advisory lock, MariaDB GET_LOCK, SQLite's write lock). Loads must be read
    inside it. Raises core.sql.LockTimeout when another run holds it longer than the database waits."""
    return sql.locked(LOCK)


def load_agents() -> dict[int, AgentLoad]:
    """Every agent with its load and its count of `new` open leads: one aggregate query plus the agents."""
    agents = {
        agent_id: AgentLoad(agent_id, email, name, active, capacity)
        for agent_id, email, name, active, capacity in Agent.objects.values_list(
            "id", "email", "name", "is_active", "capacity"
        )
    }
    counts = (
        Lead.objects.open()
        .filter(assigned_agent__isnull=False)
        .values_list("assigned_agent_id")
        .annotate(load=Count("id"), new=Count("id", filter=Q(status=LeadStatus.NEW)))
        .order_by()
    )
    for agent_id, load, new in counts:
        agents[agent_id].load = load
        agents[agent_id].new = new
    return agents


def _check_classes(classifications) -> frozenset[str] | None:
    if classifications is None:
        return None
    classes = frozenset(str(c).strip().lower() for c in classifications if str(c).strip())
    if LeadClass.CLOSED in classes:
        raise AssignmentError("Closed leads are never assigned: drop `closed` from --classification.")
    unknown = sorted(classes - {c.value for c in ASSIGNABLE_CLASSES})
    if unknown:
        choices = ", ".join(c.value for c in PRIORITY)
        raise AssignmentError(f"Unknown class {', '.join(unknown)} in --classification (choose from {choices}).")
    if not classes:
        raise AssignmentError("--classification names no class.")
    return classes


def _ranked(queryset, as_of):
    """The queryset in priority order, with its (rank, created_at, id) sort key."""
    rank = Case(
        *(When(_lead_class=c.value, then=Value(i)) for i, c in enumerate(PRIORITY)),
        default=Value(len(PRIORITY)),
        output_field=IntegerField(),
    )
    return (
        queryset.with_classification(as_of, name="_lead_class")
        .annotate(_rank=rank)
        .order_by("_rank", "created_at", "id")
    )


def most_urgent_first(queryset, as_of):
    """The leads in the assignment's priority order (PRIORITY, then the longest waiting, then the lowest id)."""
    return _ranked(queryset, as_of)


def _keyed(ranked) -> list[tuple[tuple, int]]:
    return [
        ((rank, created, lead_id), lead_id)
        for lead_id, rank, created in ranked.values_list("id", "_rank", "created_at")
    ]


def _reclaim(agents: dict[int, AgentLoad], rng, as_of) -> tuple[list[tuple[int, int | None, str]], dict[int, tuple]]:
    """Take back (in the plan) every open lead of an inactive agent and every lead above an agent's capacity.

    Above capacity, `new` leads go first (chosen at random), then worked ones, most recently created first.
    Returns the pool entries and their priority sort keys (for when capacity cannot take them all).
    """
    pool, keys = [], {}
    inactive = [a.id for a in agents.values() if not a.active and a.load]
    if inactive:
        rows = _ranked(Lead.objects.open().filter(assigned_agent_id__in=inactive), as_of).order_by("id")
        for lead_id, agent_id, rank, created in rows.values_list("id", "assigned_agent_id", "_rank", "created_at"):
            pool.append((lead_id, agent_id, REASON.RECLAIMED_FROM_INACTIVE))
            keys[lead_id] = (rank, created, lead_id)
            agents[agent_id].load -= 1
            agents[agent_id].new = 0
    over = {
        a.id: a.load - a.capacity
        for a in agents.values()
        if a.active and a.capacity is not None and a.load > a.capacity
    }
    if over:
        rows = (
            _ranked(Lead.objects.open().filter(assigned_agent_id__in=list(over)), as_of)
            .values_list("assigned_agent_id", "id", "status", "_rank", "created_at")
            .order_by("assigned_agent_id", "-created_at", "-id")
        )
        by_agent, row_keys = defaultdict(lambda: ([], [])), {}
        for agent_id, lead_id, status, rank, created in rows:
            by_agent[agent_id][0 if status == LeadStatus.NEW else 1].append(lead_id)
            row_keys[lead_id] = (rank, created, lead_id)
        for agent_id in sorted(over):
            new, worked = by_agent[agent_id]
            new = [new[i] for i in rng.permutation(len(new)).tolist()]
            taken = (new + worked)[: over[agent_id]]
            pool += [(lead_id, agent_id, REASON.RECLAIMED_OVER_CAPACITY) for lead_id in taken]
            keys.update((lead_id, row_keys[lead_id]) for lead_id in taken)
            agents[agent_id].load -= len(taken)
            agents[agent_id].new -= len(set(taken) & set(new))
    return pool, keys


def _shed_leads(active: list[AgentLoad], net_shed: list[int], rng, *, reclaimed) -> list[tuple[int, int | None, str]]:
    """Pick, at random, the `new` leads each agent gives up in a rebalance (not those already reclaimed)."""
    shedding = [a.id for a, s in zip(active, net_shed) if s]
    if not shedding:
        return []
    by_agent = defaultdict(list)
    rows = (
        Lead.objects.filter(assigned_agent_id__in=shedding, status=LeadStatus.NEW)
        .order_by("assigned_agent_id", "id")
        .values_list("assigned_agent_id", "id")
    )
    for agent_id, lead_id in rows:
        if lead_id not in reclaimed:
            by_agent[agent_id].append(lead_id)
    moved = []
    for a, s in zip(active, net_shed):
        if s:
            ids = by_agent[a.id]
            moved += [
                (ids[i], a.id, REASON.REBALANCED) for i in sorted(rng.choice(len(ids), size=s, replace=False).tolist())
            ]
    return moved


def _describe_before(result: AssignmentResult, agents: dict[int, AgentLoad]) -> None:
    for a in sorted(agents.values(), key=lambda a: a.email):
        if a.active or a.load:
            result.before[a.email] = a.load
            result.active[a.email] = a.active
            result.capacity[a.email] = a.capacity


def _count(result: AssignmentResult, mapping, agents: dict[int, AgentLoad], *, unplaced: int) -> None:
    added, taken = defaultdict(int), defaultdict(int)
    for _, from_id, to_id, _ in mapping:
        if from_id is not None:
            taken[agents[from_id].email] += 1
        if to_id is not None:
            added[agents[to_id].email] += 1
            if from_id is None:
                result.assigned += 1
            else:
                result.moved += 1
        else:
            result.unassigned += 1
    result.added, result.taken = dict(added), dict(taken)
    result.unassigned_left = unplaced


MAPPING_TABLE = "crm_assignment_mapping"


def _write(result: AssignmentResult, mapping, *, source: str, user, flags: dict) -> None:
    """Record the run, then apply the staged mapping with one UPDATE and one INSERT ... SELECT."""
    now = timezone.now()
    run = AssignmentRun.objects.create(
        started_at=now,
        source=source,
        action=result.action,
        user=user if user is not None and user.is_authenticated else None,
        seed=result.seed,
        flags=flags,
    )
    if mapping:
        _apply_staged(run_id=run.pk, now=now)
    run.assigned, run.moved, run.unassigned, run.unassigned_left = (
        result.assigned,
        result.moved,
        result.unassigned,
        result.unassigned_left,
    )
    run.finished_at = timezone.now()
    run.save(update_fields=["assigned", "moved", "unassigned", "unassigned_left", "finished_at"])
    result.run_id = run.pk


def _stage_mapping(mapping) -> None:
    """Put the (lead, from agent, to agent, reason) mapping into a temporary table (core.sql: COPY on
    PostgreSQL, multi-row inserts elsewhere); a mapping staged before (planned again under the lock) is
    replaced."""
    if not mapping:
        return
    dialect, tmp = sql.dialect(), connection.ops.quote_name(MAPPING_TABLE)
    columns = (
        "lead_id bigint PRIMARY KEY, from_agent_id bigint NULL, to_agent_id bigint NULL, reason varchar(30) NOT NULL"
    )
    with connection.cursor() as cursor:
        dialect.drop_temporary_table(cursor, tmp)
        dialect.create_temporary_table(cursor, tmp, columns)
        dialect.copy_rows(cursor, tmp, ["lead_id", "from_agent_id", "to_agent_id", "reason"], mapping, 50_000)
        dialect.analyze(cursor, tmp)  # a temporary table has no statistics: let the planner see its size


def _still_as_planned(mapping) -> bool:
    """Whether every lead of the staged mapping is still open and held by the agent it is planned from."""
    if not mapping:
        return True
    qn = connection.ops.quote_name
    leads, tmp = qn(Lead._meta.db_table), qn(MAPPING_TABLE)
    statuses = sorted(OPEN_STATUSES)
    same_agent = "(l.assigned_agent_id = m.from_agent_id OR (l.assigned_agent_id IS NULL AND m.from_agent_id IS NULL))"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {tmp} m JOIN {leads} l ON l.id = m.lead_id "
            f"WHERE {same_agent} AND l.status IN ({', '.join(['%s'] * len(statuses))})",
            statuses,
        )
        return cursor.fetchone()[0] == len(mapping)


def _apply_staged(*, run_id: int, now: datetime) -> None:
    qn = connection.ops.quote_name
    dialect = sql.dialect()
    leads, history, tmp = qn(Lead._meta.db_table), qn(LeadAssignment._meta.db_table), qn(MAPPING_TABLE)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        sets = [
            ("assigned_agent_id", "m.to_agent_id"),
            ("assigned_at", "CASE WHEN m.to_agent_id IS NULL THEN NULL ELSE %s END"),
            ("updated_at", "%s"),
        ]
        cursor.execute(dialect.update_from(leads, "l", tmp, "m", "l.id = m.lead_id", sets), [stamp, stamp])
        cursor.execute(
            f"INSERT INTO {history} (lead_id, from_agent_id, to_agent_id, run_id, reason, changed_at) "
            f"SELECT lead_id, from_agent_id, to_agent_id, %s, reason, %s FROM {tmp} ORDER BY lead_id",
            [run_id, stamp],
        )
        dialect.drop_temporary_table(cursor, tmp, if_exists=False)
