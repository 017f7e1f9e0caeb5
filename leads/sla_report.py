"""The SLA as the Lead overview shows it: leads breaching their first-touch time now, per agent, and over the last 7
and 30 days the share of leads first touched in time and the median working time to the first touch, per agent and
per team (the pool a run placed them in).

A lead counts for a window when it was assigned in it (`assigned_at`), its pool's policy has a first-touch time, and
it was not already worked when assigned. It is *in time* when its first touch (`first_touched_at`) came within that
many working hours of the assignment (the agent's hours, zone and holidays, as enforce_sla counts), *late* when the
touch came later or has not come and the time is up; a lead still untouched within its time is not counted yet.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count

from agents.availability import parse_working_hours, working_time_between
from agents.models import Agent, Team
from leads.models import Lead
from leads.sla_policies import SlaPolicySet
from leads.sla_states import BREACHED, HOLIDAY_LOOKBACK_DAYS, sla_state_condition

WINDOWS = (7, 30)


@dataclass
class Attainment:
    in_time: int = 0
    late: int = 0
    hours: list[float] = field(default_factory=list)  # working hours to the first touch, of the touched leads

    @property
    def counted(self) -> int:
        return self.in_time + self.late

    @property
    def share(self) -> float | None:
        return self.in_time / self.counted if self.counted else None

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.hours) if self.hours else None


@dataclass
class SlaRow:
    key: int | None  # agent id or team id (None: every agent)
    label: str
    breaching: int = 0
    windows: dict[int, Attainment] = field(default_factory=lambda: {days: Attainment() for days in WINDOWS})


@dataclass
class SlaOverview:
    as_of: datetime
    active: bool  # some policy has a first-touch time
    breaching: int = 0
    agents: list[SlaRow] = field(default_factory=list)
    teams: list[SlaRow] = field(default_factory=list)


def sla_overview(*, as_of: datetime) -> SlaOverview:
    policies = SlaPolicySet.load()
    every = [p for p in [policies.default, *policies.by_team.values()] if p is not None]
    if not any(p.first_touch_hours is not None for p in every):
        return SlaOverview(as_of=as_of, active=False)
    agents = {
        pk: (name, email, hours, zone)
        for pk, name, email, hours, zone in Agent.objects.values_list(
            "id", "name", "email", "working_hours", "time_zone"
        )
    }
    team_names = dict(Team.objects.values_list("id", "name"))
    by_agent = {pk: SlaRow(pk, name) for pk, (name, *_rest) in sorted(agents.items(), key=lambda kv: kv[1][0])}
    by_team: dict[int | None, SlaRow] = {}

    for agent_id, team_id, n in (
        Lead.objects.filter(sla_state_condition(BREACHED, as_of=as_of))
        .values_list("assigned_agent_id", "assigned_team_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_agent[agent_id].breaching += n
        by_team.setdefault(team_id, SlaRow(team_id, team_names.get(team_id, "every agent"))).breaching += n

    since = as_of - timedelta(days=max(WINDOWS))
    holidays = Agent.objects.all().holiday_dates(since.date() - timedelta(days=HOLIDAY_LOOKBACK_DAYS), as_of.date())
    rows = Lead.objects.filter(
        assigned_agent__isnull=False, assigned_at__gte=since, assigned_at__lte=as_of
    ).values_list("assigned_agent_id", "assigned_team_id", "assigned_at", "first_touched_at")
    for agent_id, team_id, assigned_at, touched_at in rows.iterator(chunk_size=10_000):
        policy = policies.for_team(team_id)
        if policy is None or policy.first_touch_hours is None:
            continue
        if touched_at is not None and touched_at < assigned_at:
            continue  # worked before it was assigned: not an SLA case
        _, _, hours_text, zone = agents[agent_id]
        spec, days_off = parse_working_hours(hours_text), holidays.get(agent_id, frozenset())
        limit = timedelta(hours=float(policy.first_touch_hours))
        end = touched_at if touched_at is not None else as_of
        elapsed = working_time_between(assigned_at, end, hours_spec=spec, tz=zone, holidays=days_off)
        if touched_at is None and elapsed < limit:
            continue  # still within its time: not counted yet
        team_row = by_team.setdefault(team_id, SlaRow(team_id, team_names.get(team_id, "every agent")))
        for days in WINDOWS:
            if assigned_at < as_of - timedelta(days=days):
                continue
            for row in (by_agent[agent_id], team_row):
                window = row.windows[days]
                if touched_at is not None and elapsed <= limit:
                    window.in_time += 1
                else:
                    window.late += 1
                if touched_at is not None:
                    window.hours.append(elapsed.total_seconds() / 3600)
    overview = SlaOverview(as_of=as_of, active=True)
    overview.breaching = sum(row.breaching for row in by_agent.values())
    overview.agents = [
        row for row in by_agent.values() if row.breaching or any(w.counted for w in row.windows.values())
    ]
    overview.teams = sorted(by_team.values(), key=lambda row: (row.key is None, row.label))
    return overview
