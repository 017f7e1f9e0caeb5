"""Verification of assignments: the proof a manager shows that the split is complete, legal and fair.

Checks that every open lead is assigned, that no open lead sits with an inactive agent, that no agent is
above capacity, that the load counters the database keeps (leads.load_counts, which the assignment reads) equal
the real aggregate, and, pool by pool (leads.routing, leads.assignment.eligibility):
- weighted balance: no active member holding a lead routed to the pool is above what water-filling would have
  given any other eligible member, load_i / share_i <= (load_j + 1) / share_j (with equal weights and no routing:
  spread <= 1, as the top-level `spread` still reports);
- misrouted: open leads held by an agent outside the team their rule names now (a failure for `new` leads only);
- received while away: receipts of the window at which the agent was absent or outside its working hours;
- daily caps: no agent received more than its cap on a day of its own time zone within the window.
Everything is aggregated in SQL (the loads from leads/loads.py) or read grouped: a handful of queries whatever the
number of agents, teams and leads. Without rules and default team no lead is routed (all are in "every agent").
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from django.db.models import Count

from agents.availability import as_zone, is_available, parse_working_hours
from agents.models import WEIGHT_DECIMAL_PLACES, Agent
from core import clock
from core.db_lock import read_snapshot
from leads.assignment.eligibility import EVERY_AGENT, Eligibility, PoolAgent, local_day, read_eligibility, receipts
from leads.choices import CLOSED_STATUSES, OPEN_STATUSES, LeadStatus
from leads.classification import PRIORITY, Thresholds, band_counts, classes_of_bands
from leads.load_counts import read_counts
from leads.loads import AgentLoad, spread_of
from leads.models import Lead, VerificationRun
from leads.routing import CONDITION_NAMES, ROUTED_COLUMNS, RoutingError, RuleSet
from leads.sla_states import BREACHED, sla_state_condition

FIRST_UNASSIGNED = 10


@dataclass
class VerificationReport:
    as_of: datetime
    total_leads: int
    open_leads: int
    unassigned: int  # open leads without an agent
    unassigned_closed: int  # closed leads without an agent: reported, not a failure
    on_inactive: int  # open leads held by inactive agents
    over_capacity: list[str]  # emails
    spread: int
    agents: list[AgentLoad]  # every active agent, and every inactive one that still holds open leads
    first_unassigned: list[dict]  # the first few unassigned open leads (id, name, email, lead_class)
    # Agents whose counters (AgentLoadCount) differ from the real aggregate: email -> {column: [counted, real]}
    counter_errors: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # Pool label (a team's name, or "every agent") -> {"ok", "agents": {email: {...}}, "spread"}
    pools: dict[str, dict] = field(default_factory=dict)
    misrouted: int = 0  # open leads held by an agent outside their pool's team
    misrouted_new: int = 0  # of which `new`: a failure (assign_leads --reroute moves them)
    received_while_away: int = 0
    away_by_agent: dict[str, int] = field(default_factory=dict)  # email -> receipts while absent or off hours
    over_daily_cap: list[str] = field(default_factory=list)  # emails
    sla_breached: int = 0  # untouched leads past their first-touch time (leads.sla): a failure only when strict
    problems: list[str] = field(default_factory=list)

    @property
    def counters_ok(self) -> bool:
        return not self.counter_errors

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def per_agent(self) -> dict[str, int]:
        return {row.email: row.open_leads for row in self.agents}

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "total_leads": self.total_leads,
            "open_leads": self.open_leads,
            "unassigned": self.unassigned,
            "on_inactive": self.on_inactive,
            "over_capacity": self.over_capacity,
            "spread": self.spread,
            "per_agent": self.per_agent,
            "pools": self.pools,
            "misrouted": self.misrouted,
            "misrouted_new": self.misrouted_new,
            "received_while_away": self.received_while_away,
            "over_daily_cap": self.over_daily_cap,
            "sla_breached": self.sla_breached,
            "problems": self.problems,
            "counters_ok": self.counters_ok,
        }


def verify_assignments(*, as_of: datetime, strict_sla: bool = False) -> VerificationReport:
    """The checks, read from one snapshot without any write lock: a long writer never holds them back.
    strict_sla: leads past their first-touch time (sla_breached) are a failure too, not only reported."""
    with read_snapshot():
        report = _verify(as_of)
        report.sla_breached = Lead.objects.filter(sla_state_condition(BREACHED, as_of=as_of)).count()
    if strict_sla and report.sla_breached:
        report.problems.append(
            f"{report.sla_breached} untouched leads are past their first-touch time (SLA): enforce_sla chases them."
        )
    return report


def _verify(as_of: datetime) -> VerificationReport:
    totals, everyone = _lead_counts(as_of)
    # Every agent with its open leads per class (the pools need the idle inactive ones too); the report lists
    # the active ones and the inactive ones still holding open leads.
    rows = [row for row in everyone if row.is_active or row.open_leads]
    first = []
    if totals["unassigned"]:
        first = list(
            Lead.objects.open()
            .unassigned()
            .with_classification(as_of)
            .order_by("created_at", "id")
            .values("id", "name", "email", "lead_class")[:FIRST_UNASSIGNED]
        )

    active = [row for row in rows if row.is_active]
    report = VerificationReport(
        as_of=as_of,
        total_leads=totals["total"],
        open_leads=totals["open"],
        unassigned=totals["unassigned"],
        unassigned_closed=totals["unassigned_closed"],
        on_inactive=sum(row.open_leads for row in rows if not row.is_active),
        over_capacity=[row.email for row in rows if row.over_capacity],
        spread=spread_of([row.open_leads for row in active], [row.capacity for row in active]),
        agents=rows,
        first_unassigned=first,
        counter_errors=_counter_errors(rows),
    )
    if report.unassigned:
        report.problems.append(f"{report.unassigned} open leads are not assigned to any agent.")
    if report.on_inactive:
        holders = ", ".join(row.email for row in rows if not row.is_active)
        report.problems.append(f"{report.on_inactive} open leads are held by inactive agents ({holders}).")
    for row in rows:
        if row.over_capacity:
            report.problems.append(
                f"{row.email} holds {row.open_leads} open leads, above its capacity of {row.capacity}."
            )
    eligibility = read_eligibility({row.id: row for row in everyone}, as_of=as_of)
    _check_pools(report, eligibility, everyone, as_of)
    _check_receipts(report, eligibility, as_of)
    for email, columns in report.counter_errors.items():
        differences = ", ".join(
            f"{column.replace('_', ' ')} counted {counted}, real {real}" for column, (counted, real) in columns.items()
        )
        report.problems.append(
            f"The load counters of {email} disagree with its leads ({differences}): run rebuild_load_counts."
        )
    return report


def _lead_counts(as_of: datetime) -> tuple[dict[str, int], list[AgentLoad]]:
    """The totals (total, open, unassigned, unassigned_closed) and every agent by email with its loads as
    leads.loads.agent_loads(everyone=True, by_class_as_of=as_of) has them, from ONE pass over the leads: grouped
    by (agent, status) with a count per age band (leads.classification.band_counts), which SQLite reads from the
    (assigned_agent_id, status, created_at) index in order, without sorting."""
    thresholds = Thresholds.from_settings()
    rows = Lead.objects.order_by().values("assigned_agent_id", "status").annotate(**band_counts(as_of, thresholds))
    totals = dict.fromkeys(("total", "open", "unassigned", "unassigned_closed"), 0)
    held: dict[int, list] = {}  # agent id -> [open leads, new leads, {class: open leads}]
    for row in rows:
        agent_id, status, n = row["assigned_agent_id"], row["status"], row["_leads"]
        totals["total"] += n
        if status in OPEN_STATUSES:
            totals["open"] += n
            if agent_id is None:
                totals["unassigned"] += n
                continue
            load = held.setdefault(agent_id, [0, 0, defaultdict(int)])
            load[0] += n
            load[1] += n if status == LeadStatus.NEW else 0
            for lead_class, k in classes_of_bands(status, row, thresholds).items():
                load[2][lead_class] += k
        elif status in CLOSED_STATUSES and agent_id is None:
            totals["unassigned_closed"] += n
    agents = Agent.objects.order_by("email").values_list("id", "name", "email", "is_active", "capacity", "updated_at")
    everyone = []
    for agent_id, name, email, is_active, capacity, updated_at in agents:
        open_leads, new_leads, classes = held.get(agent_id, (0, 0, {}))
        by_class = {c.value: classes.get(c, 0) for c in PRIORITY}
        everyone.append(
            AgentLoad(agent_id, name, email, is_active, capacity, open_leads, new_leads, by_class, updated_at)
        )
    return totals, everyone


# ---------------------------------------------------------------------------------------------------------
# Pools: weighted balance and misrouted leads


def _check_pools(report: VerificationReport, eligibility: Eligibility, everyone: list[AgentLoad], as_of) -> None:
    try:
        rules = RuleSet.load()
    except RoutingError as exc:
        report.problems.append(f"The pools cannot be checked: {exc}")
        return
    pools: dict[str, int | None] = {}
    for rule in sorted(rules.rules, key=lambda r: r.team_name):
        pools.setdefault(rule.team_name, rule.team_id)
    if rules.default_team_id is not None:
        pools.setdefault(rules.default_team_name, rules.default_team_id)
    pools = dict(sorted(pools.items()))
    if rules.default_team_id is None:
        pools[EVERY_AGENT] = None

    if not rules.rules and rules.default_team_id is None:
        # Nothing is routed: every open lead is in the pool of every agent.
        holders = {None: {row.id for row in everyone if row.open_leads}}
    else:
        holders = _route_held(report, rules, eligibility, as_of)
    if report.misrouted_new:
        report.problems.append(
            f"{report.misrouted_new} open new leads sit with an agent outside the team their rule names: "
            "run assign_leads --reroute."
        )

    for label, team_id in pools.items():
        result, worst = _pool_balance(eligibility, team_id, holders.get(team_id, set()))
        report.pools[label] = result
        if worst is not None:
            high, low = worst
            report.problems.append(
                f"The loads are unbalanced in pool {label}: {high.email} is at {_level(eligibility, high)}, "
                f"above what {low.email} would reach with one more lead, {_level(eligibility, low, plus=1)}."
            )


def _route_held(report: VerificationReport, rules: RuleSet, eligibility: Eligibility, as_of) -> dict:
    """Route the open assigned leads by the current rules: the agents holding a lead of each pool
    (team id, None: every agent); counts the misrouted leads into the report."""
    # Only the columns some rule reads; without an email-domain rule the leads are read as their distinct
    # (agent, status, columns) combinations, a few thousand rather than a row per lead, and each is routed once.
    # DISTINCT keeps only those combinations (SQLite: a small in-memory index) where GROUP BY sorts every lead,
    # so the counts are read only when some lead is misrouted: then its group must be counted.
    used = {name for rule in rules.rules for name in CONDITION_NAMES if getattr(rule, name)}
    columns = [column for name, column in ROUTED_COLUMNS.items() if name in used]
    leads = Lead.objects.open().filter(assigned_agent__isnull=False).order_by()
    if "classification" in used:
        leads = leads.with_classification(as_of, name="_lead_class")
    fields = ["assigned_agent_id", "status", *[("_lead_class" if c == "classification" else c) for c in columns]]
    if "email_domain" in used:
        rows = [(*row, 1) for row in leads.values_list(*fields)]
    else:
        rows = [(*row, 1) for row in leads.values_list(*fields).distinct()]
    holders, misrouted, misrouted_new = _route_rows(rules, eligibility, columns, rows)
    if misrouted and "email_domain" not in used:
        rows = list(leads.values_list(*fields).annotate(n=Count("id")))
        holders, misrouted, misrouted_new = _route_rows(rules, eligibility, columns, rows)
    report.misrouted, report.misrouted_new = misrouted, misrouted_new
    return holders


def _route_rows(rules: RuleSet, eligibility: Eligibility, columns: list[str], rows: list[tuple]):
    """From rows (agent id, status, *columns, leads): the holders of each pool, the misrouted leads and how many of
    them are new. Distinct combinations are a few thousand rows, routed one by one in plain Python, each combination
    of the routed columns once; a row per lead (an email-domain rule) is routed as a frame (leads.routing_frames)."""
    if "email" in columns:
        pools = _frame_pools(rules, columns, rows)
    else:
        routed: dict[tuple, int | None] = {}
        pools = []
        for row in rows:
            values = row[2:-1]
            if values not in routed:
                routed[values] = rules.route_values(dict(zip(columns, values, strict=True)))
            pools.append(routed[values])
    holders: dict[int | None, set[int]] = defaultdict(set)
    misrouted = misrouted_new = 0
    for (agent_id, status, *_, n), team_id in zip(rows, pools, strict=True):
        agent = eligibility.agents.get(agent_id)
        if team_id is None or (agent is not None and team_id in agent.team_ids):
            holders[team_id].add(agent_id)
        else:
            misrouted += n
            misrouted_new += n if status == LeadStatus.NEW else 0
    return holders, misrouted, misrouted_new


def _frame_pools(rules: RuleSet, columns: list[str], rows: list[tuple]) -> list[int | None]:
    """Each row's pool (None: every agent), routed as one frame: a row per lead folds a million emails."""
    import pandas as pd  # only this case needs it: the command and the admin's pages start without it

    if not rows:
        return []
    frame = pd.DataFrame([row[2:-1] for row in rows], columns=columns)
    return [None if pd.isna(pool) else int(pool) for pool in rules.route_frame(frame)]


def _pool_balance(eligibility: Eligibility, team_id: int | None, holders: set[int]):
    """The pool's JSON row and its worst violation (holder, eligible agent) or None.

    Water-filling never gives a lead to an agent whose next level (load + 1) / share is above another eligible
    agent's: so a member holding a lead of the pool may not stand above any other eligible member's next level.
    """
    members = eligibility.members(team_id)
    eligible = [a for a in members if a.eligible]
    level = {a.id: Fraction(eligibility.load(a)) / eligibility.share(a) for a in members}
    # The two lowest next levels suffice: the lowest one other than the holder's own.
    lowest = sorted((Fraction(eligibility.load(a) + 1) / eligibility.share(a), a.id, a) for a in eligible)[:2]
    worst = None
    for agent in members:
        if not agent.is_active or agent.id not in holders:
            continue
        other = next(((key, a) for key, agent_id, a in lowest if agent_id != agent.id), None)
        if other is not None and level[agent.id] > other[0]:
            gap = level[agent.id] - other[0]
            if worst is None or gap > worst[0]:
                worst = (gap, agent, other[1])
    levels = [level[a.id] for a in eligible]
    spread = round(float(max(levels) - min(levels)), 3) if len(levels) >= 2 else 0.0
    result = {
        "ok": worst is None,
        "agents": {
            a.email: {
                "load": eligibility.load(a),
                "weight": f"{a.weight:.{WEIGHT_DECIMAL_PLACES}f}",
                "eligible": a.eligible,
                "skipped": a.skip,
            }
            for a in sorted(members, key=lambda a: a.email)
        },
        "spread": spread,
    }
    return result, (None if worst is None else worst[1:])


def _level(eligibility: Eligibility, agent: PoolAgent, *, plus: int = 0) -> str:
    load, share = eligibility.load(agent), eligibility.share(agent)
    value = Fraction(load + plus) / share
    shown = f"({load} + {plus})" if plus else str(load)
    return f"{shown} / {share} = {float(value):.3g}"


# ---------------------------------------------------------------------------------------------------------
# Receipts over the window: while away, above daily caps


def _check_receipts(report: VerificationReport, eligibility: Eligibility, as_of: datetime) -> None:
    """One grouped read of the window's receipts (by agent and run moment), for the agents with working hours,
    an absence in the window or a daily cap only."""
    start = as_of - timedelta(days=eligibility.window_days)
    agents = eligibility.agents
    absent = {
        agent_id
        for agent_id, periods in eligibility.absences.by_agent.items()
        if any(p.starts_at <= as_of and p.ends_at > start for p in periods)
    }
    watch_away = absent | {a.id for a in agents.values() if not parse_working_hours(a.working_hours).always}
    capped = {a.id for a in agents.values() if a.daily_cap is not None}
    watched = sorted((watch_away | capped) & set(agents))
    if not watched:
        return
    rows = (
        receipts()
        .filter(to_agent_id__in=watched, run__as_of__gte=start, run__as_of__lte=as_of)
        .values_list("to_agent_id", "run__as_of")
        .annotate(n=Count("id"))
        .order_by()
    )
    away: dict[int, int] = defaultdict(int)
    per_day: dict[int, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for agent_id, moment, n in rows:
        agent = agents[agent_id]
        if agent_id in watch_away and not is_available(agent, eligibility.absences, moment)[0]:
            away[agent_id] += n
        if agent_id in capped:
            per_day[agent_id][local_day(moment, agent.time_zone)[0]] += n

    report.away_by_agent = {agents[i].email: n for i, n in sorted(away.items(), key=lambda x: agents[x[0]].email)}
    report.received_while_away = sum(away.values())
    if report.received_while_away:
        who = ", ".join(f"{email} {n}" for email, n in report.away_by_agent.items())
        report.problems.append(
            f"{report.received_while_away} leads were received while their agent was absent or outside its "
            f"working hours ({who})."
        )
    over = {}
    for agent_id, days in per_day.items():
        agent = agents[agent_id]
        above = sorted((day, n) for day, n in days.items() if n > agent.daily_cap)
        if above:
            over[agent.email] = (agent, above)
    report.over_daily_cap = sorted(over)
    for email in report.over_daily_cap:
        agent, above = over[email]
        days = ", ".join(f"{day.astimezone(as_zone(agent.time_zone)).date()} ({n})" for day, n in above)
        report.problems.append(
            f"{email} received more leads than its daily cap of {agent.daily_cap} on {days} ({agent.time_zone})."
        )


def _counter_errors(rows: list[AgentLoad]) -> dict[str, dict[str, list[int]]]:
    """The counters against the real aggregate (rows: every agent holding open leads, and the active ones).
    An agent missing from rows holds no open lead; one without a counter row is counted as holding none."""
    real = {row.id: (row.open_leads, row.new_leads) for row in rows}
    counted = read_counts()
    wrong = sorted(i for i in set(real) | set(counted) if real.get(i, (0, 0)) != counted.get(i, (0, 0)))
    if not wrong:
        return {}
    emails = dict(Agent.objects.filter(pk__in=wrong).values_list("id", "email"))
    errors = {}
    for agent_id in sorted(wrong, key=lambda i: emails.get(i, str(i))):
        have, want = counted.get(agent_id, (0, 0)), real.get(agent_id, (0, 0))
        errors[emails.get(agent_id, str(agent_id))] = {
            column: [c, r] for column, c, r in zip(("open_leads", "new_leads"), have, want, strict=True) if c != r
        }
    return errors


def record_verification(
    report: VerificationReport, *, source: str, user=None, checked_at: datetime | None = None
) -> VerificationRun:
    """Store the report (the --json shape) for the dashboard: one tiny write transaction.

    checked_at: when the checks ran (default now; the admin passes its request's moment, a command's --as-of
    may lie in the past and is not when they ran).

    It waits for the write lock like any writer; when that wait times out it raises OperationalError, which the
    callers report (core.db_lock.is_lock_timeout) while still showing the result.
    """
    return VerificationRun.objects.create(
        checked_at=checked_at or clock.now(),
        source=source,
        user=user if user is not None and user.is_authenticated else None,
        ok=report.ok,
        report=report.to_dict(),
    )
