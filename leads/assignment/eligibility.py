"""Who may take leads at a moment, pool by pool, what each one's balance load is, and why the others are skipped.

A *pool* is a team's members (routing: leads.routing), or every agent (the pool None). An agent of a pool is
*eligible* at `as_of` when it is active, not absent and inside its working hours (agents.availability), below its
capacity and below today's daily cap: the leads it received since midnight in its own time zone. Its *room* is the
smaller of what the capacity and the daily cap leave.

What water-filling levels is each agent's *balance load* divided by its *share* (ROUTING_BALANCE):
- `open_load`: the open leads it holds; share = its weight;
- `received`: the leads it received over the last ROUTING_WINDOW_DAYS; share = weight x the part of the window it
  was present (not absent, already created), so days away create no debt: a rep back from holiday is not flooded.
A manager's manual assignment is the manager's decision: it counts toward no daily cap and no received load.

Everything is read in a handful of queries whatever the number of agents (the agents, their teams, the absences,
the receipts of capped agents over two days, and for `received` the receipts over the window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from django.conf import settings
from django.db.models import Count

from agents.availability import Absences, as_zone, is_available, next_available
from agents.models import Agent
from leads.loads import AgentLoad
from leads.models import LeadAssignment

OPEN_LOAD, RECEIVED = "open_load", "received"
INACTIVE, ABSENT, OFF_HOURS, AT_CAPACITY, AT_DAILY_CAP = (
    "inactive",
    "absent",
    "off-hours",
    "at-capacity",
    "at-daily-cap",
)
SKIP_PHRASES = {
    INACTIVE: "inactive",
    ABSENT: "absent",
    OFF_HOURS: "outside working hours",
    AT_CAPACITY: "at capacity",
    AT_DAILY_CAP: "at today's daily cap",
}
# Reasons under which an agent does not "receive" a lead for daily caps and the received balance.
NOT_RECEIVED = (LeadAssignment.Reason.MANUAL,)


@dataclass
class PoolAgent:
    """An agent as routing sees it at one moment."""

    id: int
    name: str
    email: str
    is_active: bool
    capacity: int | None
    open_leads: int
    new_leads: int
    weight: Decimal
    daily_cap: int | None
    time_zone: str
    working_hours: str
    team_ids: frozenset[int]
    received_today: int = 0
    received_window: int = 0
    present: Fraction = Fraction(1)  # part of the balance window present (received policy)
    skip: str = ""  # empty: eligible; else INACTIVE, ABSENT, OFF_HOURS, AT_CAPACITY or AT_DAILY_CAP
    until: datetime | None = None  # when the skip reason ends, if known
    absence_reason: str = ""

    @property
    def eligible(self) -> bool:
        return not self.skip

    @property
    def capacity_room(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.open_leads)

    @property
    def daily_room(self) -> int | None:
        return None if self.daily_cap is None else max(0, self.daily_cap - self.received_today)

    @property
    def room(self) -> int | None:
        """How many more leads it may take now (None: no limit; 0 when skipped)."""
        if self.skip:
            return 0
        rooms = [r for r in (self.capacity_room, self.daily_room) if r is not None]
        return min(rooms) if rooms else None


@lru_cache(maxsize=1024)
def _exact(weight: Decimal) -> Fraction:
    """A weight as an exact fraction, made once per distinct weight (a Fraction from a Decimal costs more than
    the rest of share(), which a run calls a few times per agent)."""
    return Fraction(weight)


@dataclass
class Eligibility:
    as_of: datetime
    policy: str
    window_days: int
    agents: dict[int, PoolAgent]  # every agent, by id
    absences: Absences = field(repr=False, default_factory=Absences)

    def members(self, team_id: int | None) -> list[PoolAgent]:
        """The pool's agents (a team's members, or every agent for None), by id."""
        return [a for _, a in sorted(self.agents.items()) if team_id is None or team_id in a.team_ids]

    def eligible(self, team_id: int | None) -> list[PoolAgent]:
        return [a for a in self.members(team_id) if a.eligible]

    def load(self, agent: PoolAgent) -> int:
        """The balance load (ROUTING_BALANCE)."""
        return agent.received_window if self.policy == RECEIVED else agent.open_leads

    def share(self, agent: PoolAgent) -> Fraction:
        """What the load is divided by: the weight (x the part of the window present, for `received`)."""
        weight = _exact(agent.weight)
        return weight * agent.present if self.policy == RECEIVED else weight

    def next_available(self, team_id: int | None) -> datetime | None:
        """When the pool's first skipped agent can take leads again (None: not foreseeable, e.g. all inactive)."""
        times = [a.until for a in self.members(team_id) if a.skip and a.until is not None]
        return min(times) if times else None

    def describe(self, agent: PoolAgent, *, given: int = 0) -> dict:
        """One agent of a pool as a run records it (PoolReport.to_dict)."""
        row = {
            "id": agent.id,
            "email": agent.email,
            "name": agent.name,
            "load": self.load(agent),
            "open_leads": agent.open_leads,
            "weight": str(agent.weight),
            "share": str(self.share(agent)),
            "capacity": agent.capacity,
            "daily_cap": agent.daily_cap,
            "received_today": agent.received_today,
        }
        if agent.skip:
            row["skipped"] = agent.skip
            row["until"] = agent.until.isoformat() if agent.until else None
            if agent.absence_reason:
                row["absence"] = agent.absence_reason
        else:
            row["room"] = agent.room
            row["given"] = given
        return row


@dataclass
class PoolReport:
    """What one pool looked like to a run, as AssignmentRun.pools keeps it (by pool name)."""

    team_id: int | None
    team: str | None  # None: every agent
    leads: int = 0  # leads routed to the pool that needed an agent
    placed: int = 0
    eligible: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    next_available: datetime | None = None

    @property
    def label(self) -> str:
        return self.team if self.team is not None else EVERY_AGENT

    @property
    def waiting(self) -> int:
        return self.leads - self.placed

    def to_dict(self) -> dict:
        return {
            "team_id": self.team_id,
            "team": self.team,
            "leads": self.leads,
            "placed": self.placed,
            "waiting": self.waiting,
            "eligible": self.eligible,
            "skipped": self.skipped,
            "next_available": self.next_available.isoformat() if self.next_available else None,
            "why_waiting": self.why_waiting(),
        }

    def why_waiting(self) -> str:
        if not self.waiting:
            return ""
        if not self.eligible:
            if not self.skipped:
                return "the pool has no agent"
            reasons = sorted({row["skipped"] for row in self.skipped})
            return "nobody is eligible: " + ", ".join(f"{r} ({SKIP_PHRASES[r]})" for r in reasons)
        return "the eligible agents have no room left"


EVERY_AGENT = "every agent"


def read_eligibility(
    loads: dict[int, AgentLoad], *, as_of: datetime, policy: str | None = None, window_days: int | None = None
) -> Eligibility:
    """Every agent of `loads` (leads.loads: their open and new leads, as the run sees them) with its routing data
    and eligibility at `as_of`."""
    policy = policy or settings.ROUTING_BALANCE
    window_days = window_days or settings.ROUTING_WINDOW_DAYS
    window_start = as_of - timedelta(days=window_days)
    teams: dict[int, set[int]] = {}
    for agent_id, team_id in Agent.teams.through.objects.values_list("agent_id", "team_id"):
        teams.setdefault(agent_id, set()).add(team_id)
    absences = Absences.overlapping(min(window_start, as_of), None)
    # created_at only for the received balance's presence (a timestamp per agent to parse on SQLite otherwise).
    names = ["pk", "weight", "daily_cap", "time_zone", "working_hours"]
    rows = Agent.objects.order_by("pk").values_list(*names, *(["created_at"] if policy == RECEIVED else []))
    agents: dict[int, PoolAgent] = {}
    created: dict[int, datetime] = {}
    for pk, weight, daily_cap, zone, hours, *created_at in rows:
        load = loads.get(pk)
        if load is None:
            continue
        if created_at:
            created[pk] = created_at[0]
        agents[pk] = PoolAgent(
            id=pk,
            name=load.name,
            email=load.email,
            is_active=load.is_active,
            capacity=load.capacity,
            open_leads=load.open_leads,
            new_leads=load.new_leads,
            weight=weight,
            daily_cap=daily_cap,
            time_zone=zone,
            working_hours=hours,
            team_ids=frozenset(teams.get(pk, ())),
        )
    _count_today(agents, as_of)
    if policy == RECEIVED:
        _count_window(agents, window_start, as_of)
        for agent in agents.values():
            agent.present = _presence(agent.id, created[agent.id], absences, window_start, as_of)
    for agent in agents.values():
        _judge(agent, absences, as_of)
    return Eligibility(as_of=as_of, policy=policy, window_days=window_days, agents=agents, absences=absences)


def receipts():
    """The audit rows in which an agent received a lead, as daily caps and the received balance count them."""
    return LeadAssignment.objects.filter(to_agent__isnull=False).exclude(reason__in=NOT_RECEIVED)


def local_day(moment: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of the day `moment` falls on in that time zone, in UTC."""
    zone = as_zone(zone_name)
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _count_today(agents: dict[int, PoolAgent], as_of: datetime) -> None:
    """received_today of the agents with a daily cap: one query over two days of their receipts."""
    capped = [a for a in agents.values() if a.daily_cap is not None]
    if not capped:
        return
    days = {a.id: local_day(as_of, a.time_zone) for a in capped}
    start, end = min(d[0] for d in days.values()), max(d[1] for d in days.values())
    rows = (
        receipts()
        .filter(to_agent_id__in=list(days), run__as_of__gte=start, run__as_of__lt=end)
        .values_list("to_agent_id", "run__as_of")
        .annotate(n=Count("id"))
        .order_by()
    )
    for agent_id, moment, n in rows:
        day_start, day_end = days[agent_id]
        if day_start <= moment < day_end:
            agents[agent_id].received_today += n


def _count_window(agents: dict[int, PoolAgent], start: datetime, end: datetime) -> None:
    rows = (
        receipts()
        .filter(run__as_of__gte=start, run__as_of__lt=end)
        .values_list("to_agent_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for agent_id, n in rows:
        if agent_id in agents:
            agents[agent_id].received_window = n


def _presence(agent_id: int, created_at: datetime, absences: Absences, start: datetime, end: datetime) -> Fraction:
    """The part of [start, end) the agent was present: created, and not absent; in whole hours, at least one."""
    begin = max(start, min(created_at, end))
    away = timedelta()
    cursor = begin
    for period in absences.by_agent.get(agent_id, ()):
        lo, hi = max(period.starts_at, cursor), min(period.ends_at, end)
        if hi > lo:
            away += hi - lo
            cursor = hi
    hours = int(((end - begin) - away).total_seconds() // 3600)
    total = int((end - start).total_seconds() // 3600)
    return Fraction(max(1, min(hours, total)), max(1, total))


def _judge(agent: PoolAgent, absences: Absences, as_of: datetime) -> None:
    if not agent.is_active:
        agent.skip = INACTIVE
        return
    available, why = is_available(agent, absences, as_of)
    if not available:
        agent.skip = why
        period = absences.covering(agent.id, as_of)
        agent.absence_reason = period.reason if period else ""
        agent.until = next_available(agent, absences, as_of)
        return
    if agent.capacity_room == 0:
        agent.skip = AT_CAPACITY
        return
    if agent.daily_room == 0:
        agent.skip = AT_DAILY_CAP
        _, midnight = local_day(as_of, agent.time_zone)
        agent.until = next_available(agent, absences, midnight)
