"""Planning on counts: pure functions, no database (the service in service.py reads and writes).

Water-filling: every lead goes to an agent with the lowest load at that moment, never beyond capacity, ties
broken at random; computed on counts (how many leads each agent gets), then the leads are dealt out.
"""

import math
from dataclasses import replace
from fractions import Fraction

import numpy as np

from leads.loads import AgentLoad, spread_of

# (lead id, from agent id or None, reason): a lead that needs an agent. The mapping's rows add the agent it goes to.
PoolEntry = tuple[int, int | None, str]
MappingRow = tuple[int, int | None, int | None, str]


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


def weighted_fill_counts(
    loads: list[int], weights: list, rooms: list[int | None], n: int
) -> tuple[list[int], list[int], int]:
    """Weighted water-filling of n leads: each lead goes to an agent whose load after taking it, divided by its
    weight, is the lowest (never beyond its room; None: no limit, 0: takes nothing). With equal weights this is
    fill_counts.

    The leads given are the n smallest "keys" (load_i + k) / w_i, k = 1 .. room_i, of all agents. Returns (gives,
    ties, rest) as fill_counts does: `rest` more leads (rest < len(ties)) go one each to `rest` of the agents in
    `ties`, whose next keys are all equal, chosen at random by the caller. Exact: weights are compared as
    fractions (a Decimal weight is exact); floats only find the level, which is then settled exactly.
    """
    w = [Fraction(weight) for weight in weights]
    if any(x <= 0 for x in w):
        raise ValueError("every weight must be above 0")
    eligible = [i for i, room in enumerate(rooms) if room is None or room > 0]
    gives = [0] * len(loads)
    if n <= 0 or not eligible:
        return gives, [], 0
    if all(rooms[i] is not None for i in eligible) and sum(rooms[i] for i in eligible) <= n:
        for i in eligible:
            gives[i] = rooms[i]
        return gives, [], 0

    def below(level: float) -> list[int]:  # keys <= level, per agent (floats: only an approximation)
        return [0 if i not in chosen else _take(0, rooms[i], math.floor(level * wf[i]) - loads[i]) for i in index]

    index, chosen, wf = range(len(loads)), set(eligible), [float(x) for x in w]
    low, high = 0.0, max((loads[i] + n) / wf[i] for i in eligible)  # below(high) >= n: the rooms exceed n
    for _ in range(200):  # the largest level (to float precision) with at most n keys at or below it
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if sum(below(mid)) <= n:
            low = mid
        else:
            high = mid
    # Keys clearly below that level are surely among the n smallest; the few near it are settled exactly.
    gives = below(low * (1 - 1e-9) - 1e-9)
    left = n - sum(gives)
    while left > 0:
        nexts = {i: Fraction(loads[i] + gives[i] + 1) / w[i] for i in eligible if _has_room(rooms[i], gives[i])}
        key = min(nexts.values())
        level = sorted(i for i, k in nexts.items() if k == key)
        if len(level) > left:
            return gives, level, left
        for i in level:
            gives[i] += 1
        left -= len(level)
    return gives, [], 0


def _has_room(room: int | None, given: int) -> bool:
    return room is None or given < room


def _take(load: int, room: int | None, level: int) -> int:
    wanted = max(0, level - load)
    return wanted if room is None else min(room, wanted)


def plan_counts(agents: list[AgentLoad], n: int, rng: np.random.Generator) -> list[int]:
    """How many of n pooled leads each agent receives, ties drawn with rng."""
    gives, ties, rest = fill_counts([a.open_leads for a in agents], [a.room for a in agents], n)
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
        shed = [min(a.new_leads, max(0, a.open_leads - ceiling)) for a in active]
        loads = [a.open_leads - s for a, s in zip(active, shed)]
        rooms = [None if a.capacity is None else a.capacity - load for a, load in zip(active, loads)]
        gives, ties, rest = fill_counts(loads, rooms, pool + sum(shed))
        final = [load + g for load, g in zip(loads, gives)]
        spread = spread_of(final, capacities)
        if rest:  # `rest` of the agents at the water level get one more: the spread can only grow by one
            spread = spread_of([f + (1 if i in ties else 0) for i, f in enumerate(final)], capacities)
            spread = max(spread, spread_of(final, capacities))
        return shed, spread

    best = max(1, outcome(0)[1])
    low, high = 0, max(a.open_leads for a in active)
    while low < high:  # the highest ceiling that reaches the best spread: fewest leads moved
        mid = (low + high + 1) // 2
        if outcome(mid)[1] <= best:
            low = mid
        else:
            high = mid - 1
    shed, _ = outcome(low)
    return shed, best <= 1


def plan_moves(
    active: list[AgentLoad], pool: int, rng: np.random.Generator, *, rebalance: bool
) -> tuple[list[int], list[int], bool]:
    """How many `new` leads each active agent gives up (net_shed) and how many leads it receives (net_give) when
    `pool` leads need an agent; a rebalance first frees room by moving `new` leads (plan_rebalance).

    Returns (net_shed, net_give, balance_possible).
    """
    shed, possible = [0] * len(active), True
    if rebalance:
        shed, possible = plan_rebalance(active, pool)
    # The agent's freed room is taken into account by the fill.
    freed = [replace(a, open_leads=a.open_leads - s) for a, s in zip(active, shed)]
    gives = plan_counts(freed, pool + sum(shed), rng)
    net_shed = [max(0, s - g) for s, g in zip(shed, gives)]
    net_give = [max(0, g - s) for s, g in zip(shed, gives)]
    return net_shed, net_give, possible


def deal(
    pool: list[PoolEntry], agent_ids: list[int], net_give: list[int], rng: np.random.Generator, *, tail: tuple = ()
) -> tuple[list[MappingRow], int]:
    """The (lead, from agent, to agent, reason, *tail) mapping: the k-th lead of a random permutation of the placed
    leads (the first sum(net_give) of the pool) goes to the k-th slot of the agents' counts. Kept in pool order
    (lead id order when nothing is reclaimed), which the writes prefer. A reclaimed lead with nowhere to go is
    still taken away. Returns (mapping, leads left unplaced)."""
    placed = sum(net_give)
    to_agents = np.empty(placed, dtype=np.int64)
    to_agents[rng.permutation(placed)] = np.repeat(np.array(agent_ids, dtype=np.int64), net_give)
    mapping = [
        (lead_id, from_id, to_id, reason, *tail) for (lead_id, from_id, reason), to_id in zip(pool, to_agents.tolist())
    ]
    for lead_id, from_id, reason in pool[placed:]:
        if from_id is not None:
            mapping.append((lead_id, from_id, None, reason, *tail))
    return mapping, len(pool) - placed


def plan_pools(
    pools: list[tuple[list[int], int, list[int]]],
    loads: list[int],
    shares: list,
    rooms: list[int | None],
    rng: np.random.Generator,
) -> list[tuple[list[int], list[int]]]:
    """Weighted water-filling over several pools whose members may overlap (an agent in several teams).

    pools: (member indices: the pool's eligible agents, leads to place, movable leads each member holds in the pool:
    its `new` leads for a rebalance, else zeros); loads, shares (weights, > 0) and rooms (None: no limit) per agent.
    Each pool in turn is water-filled over the loads as the pools before it left them (ties drawn with rng); then,
    while in some pool a member holding one of its leads (given now or movable) sits above another member with
    room, load_i / share_i > (load_j + 1) / share_j, leads move from i to j: each move lowers sum(load (load + 1) /
    share), so it ends, and then no single move of a pool's lead lowers the highest weighted load.
    Returns per pool (gives: leads each member receives, shed: movable leads each member gives up), aligned with
    the members; a member never both gives up and receives in one pool.
    """
    loads, rooms = list(loads), list(rooms)
    w = [s if type(s) is Fraction else Fraction(s) for s in shares]  # the eligibility's shares are Fractions
    given, held, uniform = [], [], []
    for members, n, movable in pools:
        sub_loads, sub_rooms = [loads[i] for i in members], [rooms[i] for i in members]
        # Equal weights are mostly one object (eligibility._exact): compared without hashing a Fraction each.
        first = w[members[0]] if members else None
        uniform.append(all(w[i] is first or w[i] == first for i in members))
        if uniform[-1]:
            gives, ties, rest = fill_counts(sub_loads, sub_rooms, n)
        else:
            gives, ties, rest = weighted_fill_counts(sub_loads, [w[i] for i in members], sub_rooms, n)
        if rest:
            for t in sorted(rng.choice(len(ties), size=rest, replace=False).tolist()):
                gives[ties[t]] += 1
        for k, i in enumerate(members):
            loads[i] += gives[k]
            rooms[i] = None if rooms[i] is None else rooms[i] - gives[k]
        given.append(gives)
        held.append(list(movable))
    shed = [[0] * len(members) for members, _, _ in pools]
    moved = True
    while moved:
        moved = False
        for p, (members, _, _) in enumerate(pools):
            holders = [k for k in range(len(members)) if given[p][k] + held[p][k] > 0]
            targets = [k for k, i in enumerate(members) if rooms[i] is None or rooms[i] > 0]
            if not holders or not targets:
                continue
            if uniform[p]:  # one weight: the weighted loads are ordered as the loads (no Fraction per member)
                hi = max(holders, key=lambda k: (loads[members[k]], -k))
                lo = min(targets, key=lambda k: (loads[members[k]], k))
            else:
                hi = max(holders, key=lambda k: (Fraction(loads[members[k]]) / w[members[k]], -k))
                lo = min(targets, key=lambda k: (Fraction(loads[members[k]] + 1) / w[members[k]], k))
            i, j = members[hi], members[lo]
            if i == j or Fraction(loads[i]) / w[i] <= Fraction(loads[j] + 1) / w[j]:
                continue
            # The largest m for which every one of m single moves still satisfies the condition above.
            bound = (Fraction(loads[i] + 1) / w[i] - Fraction(loads[j]) / w[j]) / (1 / w[i] + 1 / w[j])
            m = max(1, math.ceil(bound) - 1)
            m = min(m, given[p][hi] + held[p][hi], *([] if rooms[j] is None else [rooms[j]]))
            from_given = min(m, given[p][hi])
            given[p][hi] -= from_given
            held[p][hi] -= m - from_given
            shed[p][hi] += m - from_given
            given[p][lo] += m
            loads[i] -= m
            loads[j] += m
            if rooms[i] is not None:
                rooms[i] += m
            if rooms[j] is not None:
                rooms[j] -= m
            moved = True
    plans = []
    for p in range(len(pools)):
        both = [min(g, s) for g, s in zip(given[p], shed[p])]  # keep its own lead rather than swap one
        plans.append(([g - b for g, b in zip(given[p], both)], [s - b for s, b in zip(shed[p], both)]))
    return plans
