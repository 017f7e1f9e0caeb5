"""The teams on the admin's Lead overview: each pool's members with their weighted loads, and who is away now.

Read set-based whatever the number of teams and agents: the teams (one query), the agents' routing profiles
(two), the absences not over at `as_of` (one) and the loads (leads.loads: two, none when the caller passes the
ones it already read); the rest is arithmetic over those rows, never a query per team or per agent.

- a member's *weighted load* is its open leads divided by its weight (a half-weight agent holding 2 is at 4),
  what routing balances within a pool;
- a pool's *weighted spread* is the largest minus the smallest weighted load among its active members available
  now (neither absent nor outside working hours): the ones a lead arriving now could go to;
- the pools are the teams and, when ROUTING_DEFAULT_TEAM is empty, "every agent", which takes the leads no
  routing rule matches.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from agents.availability import ABSENT, Absences, is_available, next_available
from agents.models import Agent, RoutingProfile, Team
from core.normalize import name_key
from leads.loads import AgentLoad, agent_loads

EVERY_AGENT = "every agent"


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    email: str
    is_active: bool
    weight: Decimal
    open_leads: int
    away: str = ""  # "" (available now), agents.availability.ABSENT or OFF_HOURS; "" for an inactive agent

    @property
    def weighted_load(self) -> Decimal:
        return Decimal(self.open_leads) / self.weight

    @property
    def available(self) -> bool:
        return self.is_active and not self.away


@dataclass(frozen=True)
class Pool:
    team_id: int | None  # None: every agent
    name: str
    members: list[Member]  # active ones and inactive ones still holding open leads, by name
    takes_unmatched: bool = False  # the pool of the leads no routing rule matches

    @property
    def active(self) -> list[Member]:
        return [m for m in self.members if m.is_active]

    @property
    def open_leads(self) -> int:
        return sum(m.open_leads for m in self.members)

    @property
    def min_weighted_load(self) -> Decimal | None:
        return min((m.weighted_load for m in self.active), default=None)

    @property
    def max_weighted_load(self) -> Decimal | None:
        return max((m.weighted_load for m in self.active), default=None)

    @property
    def weighted_spread(self) -> Decimal | None:
        """None when no active member is available now."""
        loads = [m.weighted_load for m in self.active if m.available]
        return max(loads) - min(loads) if loads else None

    @property
    def away(self) -> list[Member]:
        return [m for m in self.active if m.away]


@dataclass(frozen=True)
class Away:
    """An active agent not available at the overview's moment."""

    id: int
    name: str
    email: str
    why: str  # agents.availability.ABSENT or OFF_HOURS
    time_zone: str
    working_hours: str
    back_at: datetime | None  # when available again (None: not within the absences known and two weeks of hours)
    reason: str = ""  # the absence's
    until: datetime | None = None  # the absence's end

    @property
    def absent(self) -> bool:
        return self.why == ABSENT


@dataclass(frozen=True)
class TeamOverview:
    as_of: datetime
    pools: list[Pool]  # the teams by name, then "every agent" when it is a pool
    away: list[Away]  # by when they are back (never last), then name
    unknown_default_team: str = ""  # ROUTING_DEFAULT_TEAM when it names no team (routing refuses to run)

    @property
    def absent(self) -> list[Away]:
        return [a for a in self.away if a.absent]

    @property
    def off_hours(self) -> list[Away]:
        return [a for a in self.away if not a.absent]


def team_overview(*, as_of: datetime, loads: list[AgentLoad] | None = None) -> TeamOverview:
    """The pools and who is away at `as_of`. `loads`: the agents as pages show them (leads.loads.agent_loads), when
    the caller already read them, so that the page shows one set of numbers."""
    if loads is None:
        loads = agent_loads()
    profiles = Agent.objects.routing_profiles()
    teams = list(Team.objects.order_by("name", "pk").values_list("pk", "name", "name_key"))
    absences = Absences.overlapping(as_of)

    members: list[tuple[Member, RoutingProfile]] = []
    away: list[Away] = []
    for load in loads:
        profile = profiles.get(load.id)
        if profile is None:  # created after the loads were read: shown on the next request
            continue
        why = is_available(profile, absences, as_of)[1] if load.is_active else ""
        members.append((_member(load, profile, why), profile))
        if why:
            away.append(_away(load, profile, why, absences, as_of))
    away.sort(key=lambda a: (a.back_at is None, a.back_at or as_of, a.name, a.email))

    wanted = (getattr(settings, "ROUTING_DEFAULT_TEAM", "") or "").strip()
    default_id = next((pk for pk, _name, key in teams if wanted and key == name_key(wanted)), None)
    pools = [
        Pool(pk, name, [m for m, p in members if pk in p.team_ids], takes_unmatched=pk == default_id)
        for pk, name, _key in teams
    ]
    if not wanted:
        pools.append(Pool(None, EVERY_AGENT, [m for m, _p in members], takes_unmatched=True))
    return TeamOverview(
        as_of=as_of, pools=pools, away=away, unknown_default_team=wanted if wanted and default_id is None else ""
    )


def _member(load: AgentLoad, profile: RoutingProfile, why: str) -> Member:
    return Member(load.id, load.name, load.email, load.is_active, profile.weight, load.open_leads, why)


def _away(load: AgentLoad, profile: RoutingProfile, why: str, absences: Absences, as_of: datetime) -> Away:
    period = absences.covering(load.id, as_of) if why == ABSENT else None
    return Away(
        id=load.id,
        name=load.name,
        email=load.email,
        why=why,
        time_zone=profile.time_zone,
        working_hours=profile.working_hours,
        back_at=next_available(profile, absences, as_of),
        reason=period.reason if period else "",
        until=period.ends_at if period else None,
    )
