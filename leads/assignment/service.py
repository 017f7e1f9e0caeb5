"""Assignment of open leads to agents: fair, reproducible, capacity-aware, audited, safe under concurrency.

Definitions (README.md, "Assignment and verification"):
- the *load* of an agent is the number of open leads it holds;
- an *eligible* agent is active and below its capacity (no capacity = no limit);
- the team is *balanced* when max(load of active agents) - min(load of active agents below capacity) <= 1.

How a run works:
1. Read the loads from the counters the database keeps (leads.load_counts: one small query), on a snapshot that
   takes no lock (core.db_lock.read_snapshot).
2. Plan in memory (planning.py: pure functions, no database). Water-filling: every lead goes to an agent with
   the lowest load at that moment, never beyond capacity, ties broken at random. The plan is computed on counts
   (how many leads each agent gets), then the candidate leads, fetched in a deterministic order, are shuffled
   with the seed and dealt out.
   Same database + same seed = same assignment.
3. Stage the (lead, from agent, to agent, reason) mapping in a temporary table (still outside the lock, except
   on PostgreSQL, whose temporary table lives in the transaction).
4. Take the assignment lock (core.sql.locked: a PostgreSQL advisory lock, a MariaDB named lock, SQLite's
   IMMEDIATE transaction) and check the plan still stands: same agents and loads, every planned lead still open and
   held by the agent it is planned from. If not, plan again under the lock. Then write set-based: ONE
   UPDATE of the leads joins the mapping, ONE INSERT ... SELECT writes the LeadAssignment audit rows.
   The write lock is held only for this step.
5. In the same transaction, record the agents' notifications (leads.notifications: one digest per agent that
   received leads, or one email per lead placed on arrival), sent by a job once the transaction commits.
"""

import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count

from agents.models import Agent, Team
from core import clock, sql
from core.sql import read_snapshot
from leads.assignment.eligibility import (
    ABSENT,
    AT_CAPACITY,
    AT_DAILY_CAP,
    INACTIVE,
    OFF_HOURS,
    RECEIVED,
    Eligibility,
    PoolReport,
    read_eligibility,
)
from leads.assignment.locking import LOCK, load_agents
from leads.assignment.planning import PoolEntry, deal, plan_moves, plan_pools, spread_of
from leads.choices import OPEN_STATUSES, LeadStatus
from leads.classification import ASSIGNABLE_CLASSES, PRIORITY, LeadClass, Thresholds, classify, most_urgent_first
from leads.loads import AgentLoad
from leads.models import AssignmentRun, Lead, LeadAssignment
from leads.notifications import record_arrivals, record_digests
from leads.routing import RuleSet

# The named lock (core.sql.LOCKS) that serializes assignment runs, the admin's actions included.
REASON = LeadAssignment.Reason


class AssignmentError(Exception):
    """A run that cannot start because of its arguments; nothing was changed."""

    returncode = 2


class NoActiveAgentError(AssignmentError):
    """No agent is active: nothing can be assigned and nothing was changed."""

    returncode = 1


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
    pools: dict[str, PoolReport] = field(default_factory=dict)  # by pool label: what each pool looked like
    balance: str = "open_load"  # ROUTING_BALANCE at the run
    placed: dict[int, str] = field(default_factory=dict)  # arrivals: lead id -> its agent's email

    @property
    def waiting(self) -> dict[str, int]:
        """Leads left unassigned per pool (nobody eligible or no room), by pool label."""
        return {label: report.waiting for label, report in sorted(self.pools.items()) if report.waiting}

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
            "waiting": self.waiting,
            "waiting_details": {
                label: {
                    "leads": report.waiting,
                    "why": report.why_waiting(),
                    "next_available": report.next_available.isoformat() if report.next_available else None,
                }
                for label, report in sorted(self.pools.items())
                if report.waiting
            },
        }


# --------------------------------------------------------------------------------------------------
# The service


def assign_leads(
    *,
    seed: int | None = None,
    classifications: Iterable[str] | None = None,
    limit: int | None = None,
    rebalance: bool = False,
    reroute: bool = False,
    dry_run: bool = False,
    lead_ids=None,
    source: str = AssignmentRun.Source.COMMAND,
    user=None,
    as_of: datetime,
) -> AssignmentResult:
    """Give unassigned open leads to eligible agents by water-filling (see the module docstring).

    classifications/limit: only leads of those classes, at most `limit`, most urgent first (PRIORITY).
    lead_ids: only these leads (ids or a queryset of ids), e.g. the admin's selection.
    rebalance: first take back open leads from inactive agents and above capacity, then move `new` leads
    from the most to the least loaded active agents until balanced, then assign the rest.
    reroute: also take back the `new` leads whose rule now names a pool their agent is not in, and place them there.
    Each lead goes to its pool (leads.routing) and is placed among the pool's eligible agents (eligibility.py).
    Raises AssignmentError (nothing changed) when no agent is active or the arguments make no sense.
    """
    classes, seed = _check_arguments(classifications=classifications, limit=limit, seed=seed)
    args = dict(
        seed=seed,
        classes=classes,
        limit=limit,
        rebalance=rebalance,
        reroute=reroute,
        dry_run=dry_run,
        lead_ids=lead_ids,
        as_of=as_of,
    )
    # Plan on a snapshot, outside the write lock (on SQLite a long plan would hold every other writer back).
    with read_snapshot():
        planned_agents, standing, result, mapping = _plan(**args)
    if dry_run:
        return result
    flags = {
        "classifications": sorted(classes) if classes is not None else None,
        "limit": limit,
        "rebalance": rebalance,
        "reroute": reroute,
        "selection": lead_ids is not None,
        "as_of": as_of.isoformat(),
        "balance": result.balance,
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
        if not _plan_still_stands(planned_agents, standing, mapping, as_of=as_of):
            _, _, result, mapping = _plan(**args)
            _stage_mapping(mapping)
        _write(result, mapping, source=source, user=user, flags=flags, as_of=as_of)
    return result


def _check_arguments(*, classifications, limit, seed) -> tuple[frozenset[str] | None, int]:
    """The classes asked for and the seed (drawn when not given); AssignmentError when they make no sense."""
    classes = _check_classes(classifications)
    if limit is not None and limit < 1:
        raise AssignmentError(f"--limit must be at least 1, not {limit}.")
    if seed is not None and not 0 <= seed < 2**63:
        raise AssignmentError(f"--seed must be a non-negative integer below 2**63, not {seed}.")
    if seed is None:
        seed = secrets.randbelow(2**31)
    return classes, seed


def _plan_still_stands(planned_agents: dict[int, AgentLoad], standing: dict, mapping, *, as_of: datetime) -> bool:
    """Under the lock: the same agents with the same loads and eligibility (an absence, working hours or a cap
    changed meanwhile plans again), and every lead of the staged plan where it was."""
    current = load_agents()
    if current != planned_agents:
        return False
    return _standing(read_eligibility(current, as_of=as_of)) == standing and _still_as_planned(mapping)


def _standing(eligibility: Eligibility) -> dict:
    """What eligibility depends on besides the loads (compared with them): availability, caps, receipts, weights,
    teams."""
    return {
        a.id: (
            a.skip if a.skip in (INACTIVE, ABSENT, OFF_HOURS) else "",
            a.daily_cap,
            a.received_today,
            a.received_window,
            a.present,
            a.weight,
            a.team_ids,
        )
        for a in eligibility.agents.values()
    }


def _plan(*, seed, classes, limit, rebalance, reroute, dry_run, lead_ids, as_of):
    """The run's plan: (the agents as read, what their eligibility rests on, the result's counts, the (lead, from,
    to, reason, pool, rule) mapping)."""
    rng = np.random.default_rng(seed)
    result = AssignmentResult(seed=seed, dry_run=dry_run, action="rebalance" if rebalance else "assign")
    agents, planned_agents = _read_loads(result)
    rules = RuleSet.load()
    # The pool: (lead id, from agent id, reason) of every lead that needs an agent.
    pool: list[PoolEntry] = []
    keys: dict[int, tuple] = {}  # priority sort keys of the reclaimed leads
    if rebalance:
        pool, keys = _reclaim(agents, rng, as_of)
    if reroute:
        pool += _reroute(agents, rules, as_of, keys)
    eligibility = read_eligibility(agents, as_of=as_of)
    result.balance = eligibility.policy
    candidates = _read_candidates(classes=classes, lead_ids=lead_ids, as_of=as_of)
    if not rules.rules and _uniform(eligibility, rules.default_team_id):
        mapping, unplaced = _plan_one_pool(
            result, eligibility, rules, candidates, pool, keys, rng, limit=limit, rebalance=rebalance, as_of=as_of
        )
    else:
        mapping, unplaced = _plan_routed(
            result,
            eligibility,
            rules,
            candidates,
            pool,
            keys,
            rng,
            limit=limit,
            rebalance=rebalance,
            as_of=as_of,
            reason=REASON.ASSIGNED,
        )
    _count(result, mapping, agents, unplaced=unplaced)
    return planned_agents, _standing(eligibility), result, mapping


def _uniform(eligibility: Eligibility, team_id: int | None) -> bool:
    """Whether one pool's plan is today's plain water-filling: the open-load balance and equal weights."""
    return eligibility.policy != RECEIVED and len({a.weight for a in eligibility.members(team_id)}) <= 1


def _participants(eligibility: Eligibility, team_id: int | None):
    """The pool's agents that take part in a plan: the eligible ones, and those only full (at capacity or today's
    cap: they take nothing but may give up `new` leads in a rebalance). Absent, off-hours and inactive ones don't."""
    return [a for a in eligibility.members(team_id) if a.skip in ("", AT_CAPACITY, AT_DAILY_CAP)]


def _report(eligibility: Eligibility, team_id, team_name, gives: dict[int, int], *, leads: int) -> PoolReport:
    report = PoolReport(team_id=team_id, team=team_name, leads=leads, placed=sum(gives.values()))
    for agent in eligibility.members(team_id):
        if agent.eligible:
            report.eligible.append(eligibility.describe(agent, given=gives.get(agent.id, 0)))
        else:
            report.skipped.append(eligibility.describe(agent))
    if report.waiting:
        report.next_available = eligibility.next_available(team_id)
    return report


def _plan_one_pool(result, eligibility, rules, candidates, pool, keys, rng, *, limit, rebalance, as_of):
    """Every lead in one pool with equal weights (no routing rule): water-filling over the pool's participants,
    within capacity and daily caps; a rebalance moves `new` leads (planning.plan_moves)."""
    team_id, team_name = rules.default_team_id, rules.default_team_name
    participants = _participants(eligibility, team_id)
    # The rooms left by capacity and daily cap, as a capacity the plan reads (AgentLoad.room).
    active = [
        AgentLoad(
            a.id, a.name, a.email, True, None if a.room is None else a.open_leads + a.room, a.open_leads, a.new_leads
        )
        for a in participants
    ]
    pool = _pool(candidates, pool, keys, active=active, limit=limit, as_of=as_of)
    net_shed, net_give, possible = plan_moves(active, len(pool), rng, rebalance=rebalance)
    if not possible:
        result.notes.append(
            "Balance is impossible: agents hold more worked (not `new`) leads than the others can reach; "
            "worked leads stay with whoever worked them."
        )
    pool = (
        _shed_leads(active, net_shed, rng, reclaimed=keys) + pool
    )  # moved leads are always placed (they free their own room)
    mapping, unplaced = deal(pool, [a.id for a in active], net_give, rng, tail=(team_name or "", ""))
    gives = {a.id: g for a, g in zip(active, net_give) if g}
    report = _report(eligibility, team_id, team_name, gives, leads=len(pool))
    result.pools[report.label] = report
    final = [a.open_leads + g for a, g in zip(active, net_give)]
    final = [f - s for f, s in zip(final, net_shed)]
    result.spread = spread_of(final, [a.capacity for a in participants])
    if result.spread > 1 and not rebalance:
        result.notes.append(
            f"The loads stay unbalanced (spread {result.spread}): run with --rebalance to move `new` leads."
        )
    return mapping, unplaced


def _plan_routed(
    result, eligibility, rules, candidates, pool, keys, rng, *, limit, rebalance, as_of, reason, routes=None
):
    """Each lead routed to its pool (leads.routing), then weighted water-filling pool by pool over the pools'
    participants (planning.plan_pools: overlapping teams share one load); a rebalance may move `new` leads within
    their pool. `routes` (lead id -> (pool, rule) of every candidate): the candidates routed by the caller."""
    keys = dict(keys)
    if routes is None:
        frame = _routed_frame(candidates, rules, as_of, limit=limit)
        routes = dict(zip(frame["id"].tolist(), zip(frame["team_id"].tolist(), frame["rule"].tolist(), strict=True)))
        if "key" in frame:
            keys.update(zip(frame["id"].tolist(), frame["key"].tolist()))
    route = dict(routes)
    if pool:
        holders = sorted({from_id for _, from_id, _ in pool if from_id is not None})
        taken = _routed_frame(Lead.objects.open().filter(assigned_agent_id__in=holders), rules, as_of)
        route.update(zip(taken["id"].tolist(), zip(taken["team_id"].tolist(), taken["rule"].tolist(), strict=True)))
    by_pool: dict[int | None, list[PoolEntry]] = defaultdict(list)
    for entry in pool:
        by_pool[route[entry[0]][0]].append(entry)
    for lead_id in sorted(routes):
        by_pool[route[lead_id][0]].append((lead_id, None, reason))
    movable = _movable(eligibility, rules, as_of, exclude=route) if rebalance and eligibility.policy != RECEIVED else {}
    order = sorted(set(by_pool) | {team_id for team_id, _ in movable}, key=lambda t: (t is None, t or 0))
    index = {a.id: k for k, a in enumerate(eligibility.agents.values())}
    agents = list(eligibility.agents.values())
    members = {team_id: _participants(eligibility, team_id) for team_id in order}
    for team_id in order:
        entries = by_pool[team_id]
        rooms = [a.room for a in members[team_id] if a.eligible]
        total_room = None if any(r is None for r in rooms) else sum(rooms)
        if total_room is not None and total_room < len(entries):
            if any(e[0] not in keys for e in entries):
                keys.update(_priority_keys(candidates, as_of))
            entries.sort(key=lambda e: keys[e[0]])  # room short: the most urgent first
    plans = plan_pools(
        [
            (
                [index[a.id] for a in members[t]],
                len(by_pool[t]),
                [len(movable.get((t, a.id), ())) for a in members[t]],
            )
            for t in order
        ],
        [eligibility.load(a) for a in agents],
        [eligibility.share(a) for a in agents],
        [a.room for a in agents],
        rng,
    )
    team_names = _team_names(order)
    mapping, unplaced = [], 0
    for team_id, (gives, shed) in zip(order, plans, strict=True):
        ids = [a.id for a in members[team_id]]
        moved = []
        for agent_id, n in zip(ids, shed):
            if n:
                own = sorted(movable[(team_id, agent_id)])
                moved += [
                    (own[k], agent_id, REASON.REBALANCED) for k in sorted(rng.choice(len(own), n, False).tolist())
                ]
        rows, left = deal(moved + by_pool[team_id], ids, gives, rng)
        label = team_names.get(team_id) or ""
        mapping += [(*row, label, route.get(row[0], (None, ""))[1]) for row in rows]
        unplaced += left
        report = _report(
            eligibility,
            team_id,
            team_names.get(team_id),
            dict(zip(ids, gives)),
            leads=len(moved) + len(by_pool[team_id]),
        )
        result.pools[report.label] = report
        # The pool's spread in leads: the most loaded participant against the least loaded one with room left.
        final = [a.open_leads + g - s for a, g, s in zip(members[team_id], gives, shed)]
        open_room = [f for a, f, g in zip(members[team_id], final, gives) if a.room is None or a.room > g]
        if final and open_room:
            result.spread = max(result.spread, max(final) - min(open_room))
    mapping.sort(key=lambda row: row[0])
    return mapping, unplaced


def _team_names(team_ids) -> dict[int, str]:
    ids = [t for t in team_ids if t is not None]
    return dict(Team.objects.filter(pk__in=ids).values_list("id", "name")) if ids else {}  # no query for none


def _routed_frame(
    leads, rules: RuleSet, as_of: datetime, *, limit: int | None = None, keys: bool = False
) -> pd.DataFrame:
    """The leads (at most `limit`, most urgent first) with their agent (`agent`), pool (`team_id`: None for every
    agent) and deciding rule's name (`rule`), in one query; with `keys` (or a limit) also their priority sort key
    (`key`: rank, created_at, id), which costs reading and converting every created_at."""
    keys = keys or limit is not None
    if not rules.rules and not keys:  # every lead goes to the default pool: nothing to read but the ids
        rows = list(leads.order_by().values_list("id", "assigned_agent_id"))
        return pd.DataFrame(
            {
                "id": [lead_id for lead_id, _ in rows],
                "agent": [agent_id for _, agent_id in rows],
                "team_id": pd.Series([rules.default_team_id] * len(rows), dtype=object),
                "rule": [""] * len(rows),
            }
        )
    names = ["id", "source", "country", "email", "company", "assigned_agent_id"]
    if keys:
        ranked = most_urgent_first(leads, as_of)
        ranked = ranked[:limit] if limit is not None else ranked.order_by()
        names += ["_lead_class", "_rank", "created_at"]
    elif any(rule.classification for rule in rules.rules):
        ranked = leads.with_classification(as_of, name="_lead_class").order_by()
        names += ["_lead_class"]
    else:
        ranked = leads.order_by()
    renamed = {"assigned_agent_id": "agent", "_lead_class": "classification", "_rank": "rank", "created_at": "created"}
    frame = pd.DataFrame(list(ranked.values_list(*names)), columns=[renamed.get(n, n) for n in names])
    if frame.empty:
        return pd.DataFrame({"id": [], "agent": [], "team_id": [], "rule": [], "key": []})
    team_ids, rule_names = _match(frame, rules)
    routed = {
        "id": frame["id"],
        "agent": frame["agent"],
        "team_id": pd.Series(team_ids, dtype=object),
        "rule": rule_names,
    }
    if keys:
        routed["key"] = list(zip(frame["rank"].tolist(), frame["created"].tolist(), frame["id"].tolist(), strict=True))
    return pd.DataFrame(routed)


def _match(frame: pd.DataFrame, rules: RuleSet) -> tuple[list[int | None], list[str]]:
    """Each lead's pool (its rule's team, else the default team) and deciding rule's name ("": none), for a frame
    with the routing columns (leads.routing.FRAME_COLUMNS), by column."""
    positions = rules.match_frame(frame)
    rule_names = {r.position: r.name for r in rules.rules}
    teams = {r.position: r.team_id for r in rules.rules}
    decided = positions.notna().to_numpy()
    pairs = list(zip(positions.tolist(), decided, strict=True))
    team_ids = [int(teams[int(p)]) if hit else rules.default_team_id for p, hit in pairs]
    return team_ids, [rule_names[int(p)] if hit else "" for p, hit in pairs]


def _priority_keys(leads, as_of: datetime) -> dict[int, tuple]:
    """lead id -> (rank, created_at, id), the "most urgent first" sort key, in one query."""
    rows = most_urgent_first(leads, as_of).order_by().values_list("id", "_rank", "created_at")
    return {lead_id: (rank, created, lead_id) for lead_id, rank, created in rows}


def _movable(eligibility: Eligibility, rules: RuleSet, as_of: datetime, *, exclude) -> dict[tuple, list[int]]:
    """(pool, agent id) -> the `new` leads the agent holds in that pool (routed now), not already taken back."""
    holders = [a.id for a in eligibility.agents.values() if a.skip in ("", AT_CAPACITY, AT_DAILY_CAP)]
    if not holders:
        return {}
    frame = _routed_frame(Lead.objects.filter(status=LeadStatus.NEW, assigned_agent_id__in=holders), rules, as_of)
    movable = defaultdict(list)
    for lead_id, agent_id, team_id in zip(frame["id"].tolist(), frame["agent"].tolist(), frame["team_id"].tolist()):
        if lead_id not in exclude:
            movable[(team_id, agent_id)].append(lead_id)
    return movable


def _reroute(agents: dict[int, AgentLoad], rules: RuleSet, as_of: datetime, keys: dict[int, tuple]) -> list[PoolEntry]:
    """Take back (in the plan) the `new` leads whose pool, by the rules now, is a team their agent is not in."""
    if not rules.rules and rules.default_team_id is None:
        return []
    teams = defaultdict(set)
    for agent_id, team_id in Agent.teams.through.objects.values_list("agent_id", "team_id"):
        teams[agent_id].add(team_id)
    frame = _routed_frame(
        Lead.objects.filter(status=LeadStatus.NEW, assigned_agent__isnull=False), rules, as_of, keys=True
    )
    pool = []
    for lead_id, agent_id, team_id, key in zip(
        frame["id"].tolist(), frame["agent"].tolist(), frame["team_id"].tolist(), frame["key"].tolist(), strict=True
    ):
        if lead_id in keys:  # already taken back (inactive agent, above capacity)
            continue
        if team_id is not None and team_id not in teams[agent_id]:
            pool.append((lead_id, agent_id, REASON.REROUTED))
            keys[lead_id] = key
            agents[agent_id].open_leads -= 1
            agents[agent_id].new_leads -= 1
    return sorted(pool)


def _read_loads(result: AssignmentResult) -> tuple[dict[int, AgentLoad], dict[int, AgentLoad]]:
    """The agents and their loads (to plan on, and a copy to check the plan against under the lock)."""
    agents = load_agents()
    planned_agents = {agent_id: replace(agent) for agent_id, agent in agents.items()}
    _describe_before(result, agents)
    if not any(a.is_active for a in agents.values()):
        raise NoActiveAgentError("No active agent: nothing was assigned. Activate or import agents first.")
    return agents, planned_agents


def _read_candidates(*, classes, lead_ids, as_of):
    """The unassigned open leads the run may place (of those classes, among those ids)."""
    candidates = Lead.objects.open().unassigned()
    if classes is not None:
        candidates = candidates.of_class(*classes, as_of=as_of)
    if lead_ids is not None:
        candidates = candidates.filter(id__in=lead_ids)
    return candidates


def _pool(candidates, pool: list[PoolEntry], keys: dict[int, tuple], *, active, limit, as_of) -> list[PoolEntry]:
    """Every lead to place, in the order they are placed: the reclaimed ones (pool), then the candidates.

    Capacity short (or a limit): the most urgent leads first, the reclaimed ones competing with the unassigned
    ones on the same priority. Otherwise every candidate, in id order.
    """
    rooms = [a.room for a in active]
    total_room = None if any(r is None for r in rooms) else sum(rooms)
    wanted = candidates.count()
    if limit is not None:
        wanted = min(limit, wanted)
    if limit is not None or (total_room is not None and total_room < wanted + len(pool)):
        ranked = most_urgent_first(candidates, as_of)[:wanted]
        if pool:
            merged = sorted(
                [(key, (lead_id, None, REASON.ASSIGNED)) for key, lead_id in _keyed(ranked)]
                + [(keys[entry[0]], entry) for entry in pool]
            )
            return [entry for _, entry in merged]
        return [(lead_id, None, REASON.ASSIGNED) for lead_id in ranked.values_list("id", flat=True)]
    reason = REASON.ASSIGNED
    return pool + [(lead_id, None, reason) for (lead_id,) in _rows(candidates.order_by("id").values_list("id"))]


def _rows(queryset) -> list[tuple]:
    """A values_list queryset's rows, fetched in one go from the driver (at 800,000 leads Django's per-row
    iteration costs more than the query)."""
    query, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


@sql.locked(LOCK)
def assign_to_agent(*, lead_ids, agent: Agent, source: str = AssignmentRun.Source.ADMIN, user=None) -> AssignmentResult:
    """Give the selected open leads to one agent, whatever the balance (a manager's decision, reason `manual`)."""
    agents = load_agents()
    result = AssignmentResult(seed=None, dry_run=False, action="assign-to-agent")
    _describe_before(result, agents)
    selected = Lead.objects.filter(id__in=lead_ids)
    rows = list(selected.open().exclude(assigned_agent=agent).values_list("id", "assigned_agent_id").order_by("id"))
    result.skipped = selected.count() - len(rows)
    mapping = [(lead_id, from_id, agent.id, REASON.MANUAL, "", "") for lead_id, from_id in rows]
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
    mapping = [(lead_id, from_id, None, REASON.UNASSIGNED, "", "") for lead_id, from_id in sorted(rows)]
    _count(result, mapping, agents, unplaced=0)
    _stage_mapping(mapping)
    _write(result, mapping, source=source, user=user, flags={})
    return result


def assign_on_arrival(*, lead_ids, as_of: datetime, seed: int | None = None) -> AssignmentResult:
    """Give leads that just arrived (the intake API) an agent, by the rules of assign_leads: water-filling over
    the current loads, within capacity, inactive agents skipped, the most urgent first when room is short.

    Only the given leads that are open and have no agent are placed: an update never moves a lead. Audited per
    lead (reason `assigned-on-arrival`) under one run. Runs in the caller's transaction, holding the assignment
    lock until it ends (the loads are read under it: two arrivals never read the same loads). No active agent
    or no room: the leads stay unassigned (`unassigned_left`), nothing fails.
    """
    _, seed = _check_arguments(classifications=None, limit=None, seed=seed)
    lead_ids = list(lead_ids)
    with sql.locked(LOCK):
        # Read by primary key, the conditions checked here: for `status IN (...) AND assigned_agent_id IS NULL
        # AND id IN (1,000 ids)` SQLite's planner walks the (agent, status) index over every open unassigned lead
        # (71 ms at 1M leads, twice per batch) instead of probing the ids. A few leads are routed here, in
        # Python, from the same rows (the frame's fixed cost was most of routing a single arrival).
        arrived = Lead.objects.filter(id__in=lead_ids).values_list("id", "status", "assigned_agent_id", *_ROUTED_NAMES)
        arrived = [row for row in arrived if row[1] in OPEN_STATUSES and row[2] is None]
        placeable = sorted(row[0] for row in arrived)
        result = AssignmentResult(seed=seed, dry_run=False, action="assign-on-arrival")
        if not placeable:
            return result
        rules = RuleSet.load()  # after the early return: a misconfigured default team fails only a run with leads
        routes = _route_arrivals(arrived, rules, as_of)
        candidates = Lead.objects.filter(id__in=placeable)
        agents = load_agents()
        _describe_before(result, agents)
        eligibility = read_eligibility(agents, as_of=as_of)
        result.balance = eligibility.policy
        rng = np.random.default_rng(seed)
        mapping, unplaced = _plan_routed(
            result,
            eligibility,
            rules,
            candidates,
            [],
            {},
            rng,
            limit=None,
            rebalance=False,
            as_of=as_of,
            reason=REASON.ASSIGNED_ON_ARRIVAL,
            routes=routes,
        )
        _count(result, mapping, agents, unplaced=unplaced)
        _write_arrivals(result, mapping, as_of=as_of)
        result.placed = {row[0]: agents[row[2]].email for row in mapping if row[2] is not None}
    return result


FEW_ARRIVALS = 20  # arrivals routed one by one in Python, as the intake cleans a request of this many leads
_ROUTED_NAMES = ("source", "country", "email", "company", "created_at")  # what a rule reads, with the status


def _route_arrivals(rows, rules: RuleSet, as_of: datetime) -> dict[int, tuple[int | None, str]]:
    """lead id -> (pool, deciding rule's name) of the arrivals, from their (id, status, agent, *_ROUTED_NAMES)
    rows: the run's one read of them. A few are matched one by one (RuleSet.match_values: a frame's fixed cost was
    most of routing a single arrival), more by column (match_frame); a property test proves both route alike."""
    if not rules.rules:
        return {row[0]: (rules.default_team_id, "") for row in rows}
    thresholds = Thresholds.from_settings()
    leads = []
    for lead_id, status, _agent, *values in rows:
        values = dict(zip(_ROUTED_NAMES, values, strict=True))
        values["classification"] = classify(status, values.pop("created_at"), as_of, thresholds).value
        leads.append((lead_id, values))
    if len(leads) > FEW_ARRIVALS:
        frame = pd.DataFrame([values for _, values in leads])
        return dict(zip([lead_id for lead_id, _ in leads], zip(*_match(frame, rules), strict=True), strict=True))
    routes = {}
    for lead_id, values in leads:
        rule = rules.match_values(values)
        routes[lead_id] = (rule.team_id, rule.name) if rule is not None else (rules.default_team_id, "")
    return routes


def _write_arrivals(result: AssignmentResult, mapping, *, as_of: datetime) -> None:
    """The run and its changes: one UPDATE per receiving agent and one bulk INSERT of the audit rows (core.sql's
    insert_rows; at most a batch's 1,000 leads per request: no staging table)."""
    now = clock.now()
    run = AssignmentRun.objects.create(
        started_at=now,
        finished_at=now,
        source=AssignmentRun.Source.API,
        action=result.action,
        seed=result.seed,
        flags={"as_of": as_of.isoformat(), "balance": result.balance},
        as_of=as_of,
        pools={label: report.to_dict() for label, report in result.pools.items()},
        assigned=result.assigned,
        unassigned_left=result.unassigned_left,
    )
    result.run_id = run.pk
    by_agent = defaultdict(list)
    for lead_id, _from_id, to_id, _reason, pool, _rule in mapping:
        by_agent[(to_id, pool)].append(lead_id)
    teams = _team_ids({pool for _, pool in by_agent})
    for (agent_id, pool), ids in sorted(by_agent.items()):
        Lead.objects.filter(id__in=ids).update(
            assigned_agent_id=agent_id, assigned_at=now, assigned_team_id=teams.get(pool), updated_at=now
        )
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        sql.dialect().insert_rows(
            cursor,
            LeadAssignment,
            ("lead_id", "from_agent_id", "to_agent_id", "run_id", "reason", "changed_at", "pool", "rule"),
            [
                (lead_id, None, to_id, run.pk, reason, stamp, pool, rule)
                for lead_id, _from_id, to_id, reason, pool, rule in mapping
            ],
        )
    if mapping:
        record_arrivals(run_id=run.pk, as_of=now)  # sent by a job once the intake's transaction commits


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
    active = sorted((a for a in agents.values() if a.is_active), key=lambda a: (a.name, a.email))
    rows = []
    for target in active:
        after = {a.id: a.open_leads - held[a.id] for a in active}
        after[target.id] = target.open_leads + total - held[target.id]
        spread = spread_of([after[a.id] for a in active], [a.capacity for a in active])
        rows.append(
            {
                "agent": target,
                "load": target.open_leads,
                "after": after[target.id],
                "over_by": max(0, after[target.id] - target.capacity) if target.capacity is not None else 0,
                "spread": spread,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Database helpers


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
    inactive = [a.id for a in agents.values() if not a.is_active and a.open_leads]
    if inactive:
        rows = most_urgent_first(Lead.objects.open().filter(assigned_agent_id__in=inactive), as_of).order_by("id")
        for lead_id, agent_id, rank, created in rows.values_list("id", "assigned_agent_id", "_rank", "created_at"):
            pool.append((lead_id, agent_id, REASON.RECLAIMED_FROM_INACTIVE))
            keys[lead_id] = (rank, created, lead_id)
            agents[agent_id].open_leads -= 1
            agents[agent_id].new_leads = 0
    over = {
        a.id: a.open_leads - a.capacity
        for a in agents.values()
        if a.is_active and a.capacity is not None and a.open_leads > a.capacity
    }
    if over:
        rows = (
            most_urgent_first(Lead.objects.open().filter(assigned_agent_id__in=list(over)), as_of)
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
            agents[agent_id].open_leads -= len(taken)
            agents[agent_id].new_leads -= len(set(taken) & set(new))
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
        if a.is_active or a.open_leads:
            result.before[a.email] = a.open_leads
            result.active[a.email] = a.is_active
            result.capacity[a.email] = a.capacity


def _count(result: AssignmentResult, mapping, agents: dict[int, AgentLoad], *, unplaced: int) -> None:
    added, taken = defaultdict(int), defaultdict(int)
    for (from_id, to_id), n in Counter((row[1], row[2]) for row in mapping).items():  # a few pairs per run
        if from_id is not None:
            taken[agents[from_id].email] += n
        if to_id is not None:
            added[agents[to_id].email] += n
            if from_id is None:
                result.assigned += n
            else:
                result.moved += n
        else:
            result.unassigned += n
    result.added, result.taken = dict(added), dict(taken)  # in the mapping's order, as the pairs first appear
    result.unassigned_left = unplaced


MAPPING_TABLE = "crm_assignment_mapping"


def _write(result: AssignmentResult, mapping, *, source: str, user, flags: dict, as_of: datetime | None = None) -> None:
    """Record the run, then apply the staged mapping with one UPDATE and one INSERT ... SELECT."""
    now = clock.now()
    run = AssignmentRun.objects.create(
        started_at=now,
        source=source,
        action=result.action,
        user=user if user is not None and user.is_authenticated else None,
        seed=result.seed,
        flags=flags,
        as_of=as_of or now,
        pools={label: report.to_dict() for label, report in result.pools.items()},
    )
    if mapping:
        _apply_staged(run_id=run.pk, now=now)
        record_digests(run_id=run.pk, as_of=now)  # sent by a job once the run's transaction commits
    if len(mapping) >= sql.ANALYZE_AT_ROWS:
        # A big run rewrites many leads and adds as many audit rows: without fresh statistics PostgreSQL read
        # one arrival's audit rows through a plan of 80 ms instead of 0.5 ms (docs/benchmarks.md).
        qn = connection.ops.quote_name
        sql.analyze_after_commit(qn(Lead._meta.db_table), qn(LeadAssignment._meta.db_table))
    run.assigned, run.moved, run.unassigned, run.unassigned_left = (
        result.assigned,
        result.moved,
        result.unassigned,
        result.unassigned_left,
    )
    run.finished_at = clock.now()
    run.save(update_fields=["assigned", "moved", "unassigned", "unassigned_left", "finished_at"])
    result.run_id = run.pk


def write_moves(
    mapping, *, as_of: datetime, action: str, source: str, seed: int | None, flags: dict, pools: dict
) -> int:
    """Record a run of moves another service decided under the assignment lock (leads.sla): the run, the
    (lead, from, to, reason, pool, rule) mapping applied set-based with `as_of` as the moment of the new
    assigned_at and the audit rows, and a digest per receiving agent. Returns the run's id."""
    now = clock.now()
    moved = sum(1 for row in mapping if row[1] is not None and row[2] is not None)
    run = AssignmentRun.objects.create(
        started_at=now,
        source=source,
        action=action,
        seed=seed,
        flags=flags,
        as_of=as_of,
        pools=pools,
        assigned=sum(1 for row in mapping if row[1] is None and row[2] is not None),
        moved=moved,
        unassigned=sum(1 for row in mapping if row[2] is None),
    )
    if mapping:
        _stage_mapping(mapping)
        _apply_staged(run_id=run.pk, now=now, moment=as_of)
        record_digests(run_id=run.pk, as_of=as_of)
    run.finished_at = clock.now()
    run.save(update_fields=["finished_at"])
    return run.pk


def _stage_mapping(mapping) -> None:
    """Put the (lead, from agent, to agent, reason, pool, rule) mapping into a temporary table (_copy_mapping); a
    mapping staged before (planned again under the lock) is replaced."""
    if not mapping:
        return
    dialect, tmp = sql.dialect(), connection.ops.quote_name(MAPPING_TABLE)
    # Keyed by the lead: on SQLite the rowid itself (no separate index to fill, and the UPDATE walks the mapping in
    # lead order, looking each lead up by its rowid).
    key = dialect.row_number_type()
    key = key if "PRIMARY KEY" in key else f"{key} PRIMARY KEY"
    columns = (
        f"lead_id {key}, from_agent_id bigint NULL, to_agent_id bigint NULL, reason varchar(30) NOT NULL, "
        "pool varchar(100) NOT NULL, rule varchar(200) NOT NULL, team_id bigint NULL"
    )
    names = ["lead_id", "from_agent_id", "to_agent_id", "reason", "pool", "rule", "team_id"]
    teams = _team_ids({row[4] for row in mapping})
    with connection.cursor() as cursor:
        dialect.drop_temporary_table(cursor, tmp)
        dialect.create_temporary_table(cursor, tmp, columns)
        _copy_mapping(cursor, dialect, tmp, names, mapping, teams)
        dialect.analyze(cursor, tmp)  # a temporary table has no statistics: let the planner see its size


def _copy_mapping(cursor, dialect, table: str, names: list[str], mapping, teams: dict[str, int]) -> None:
    """The mapping's rows, with the team of their pool, into `table` (core.sql's bulk copy: COPY on PostgreSQL,
    multi-row inserts on SQLite and MariaDB)."""
    team = teams.get if teams else lambda _pool: None
    dialect.copy_rows(cursor, table, names, [(*row, team(row[4])) for row in mapping], 50_000)


def _team_ids(labels) -> dict[str, int]:
    """The teams of the pool labels a mapping names (a team's name; empty: every agent or none)."""
    named = sorted(label for label in labels if label)
    return dict(Team.objects.filter(name__in=named).values_list("name", "id")) if named else {}


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
            f"SELECT COUNT(*) FROM {tmp} m JOIN {leads} l ON l.id = +m.lead_id "  # the mapping outer (_apply_staged)
            f"WHERE {same_agent} AND l.status IN ({', '.join(['%s'] * len(statuses))})",
            statuses,
        )
        return cursor.fetchone()[0] == len(mapping)


def _apply_staged(*, run_id: int, now: datetime, moment: datetime | None = None) -> None:
    """The staged mapping applied: the leads' agents and assigned_at (at `moment`, default now), the audit rows
    (changed at `moment`); updated_at is now."""
    qn = connection.ops.quote_name
    dialect = sql.dialect()
    leads, history, tmp = qn(Lead._meta.db_table), qn(LeadAssignment._meta.db_table), qn(MAPPING_TABLE)
    stamp = connection.ops.adapt_datetimefield_value(moment or now)
    updated = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        sets = [
            ("assigned_agent_id", "m.to_agent_id"),
            ("assigned_at", "CASE WHEN m.to_agent_id IS NULL THEN NULL ELSE %s END"),
            ("assigned_team_id", "CASE WHEN m.to_agent_id IS NULL THEN NULL ELSE m.team_id END"),
            ("updated_at", "%s"),
        ]
        # `+m.lead_id`: walk the mapping and look each lead up by its key, rather than scan the leads through an
        # index the UPDATE itself rewrites (SQLite's choice for a temporary table it has no statistics of: ~2x slower).
        cursor.execute(dialect.update_from(leads, "l", tmp, "m", "l.id = +m.lead_id", sets), [stamp, updated])
        cursor.execute(
            f"INSERT INTO {history} (lead_id, from_agent_id, to_agent_id, run_id, reason, changed_at, pool, rule) "
            f"SELECT lead_id, from_agent_id, to_agent_id, %s, reason, %s, pool, rule FROM {tmp} ORDER BY lead_id",
            [run_id, stamp],
        )
        dialect.drop_temporary_table(cursor, tmp, if_exists=False)
