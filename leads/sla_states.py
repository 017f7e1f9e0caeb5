"""SLA states in SQL (within, due soon, breached: the lead list's filter, the verification, the overview) and when a
step of a policy is due (StepBounds, which the enforcement reads too: leads.sla). Plain Python and a few queries:
what only reads the states loads neither the enforcement nor the assignment it calls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from django.db.models import Q

from agents.availability import parse_working_hours, working_time_before
from agents.models import Agent
from leads.choices import LeadStatus
from leads.sla_policies import SlaPolicySet

STEPS = ("remind_at_hours", "escalate_after_hours", "reassign_after_hours")
HOLIDAY_LOOKBACK_DAYS = 400


# --------------------------------------------------------------------------------------------------
# When a step is due: one bound per agent, policy and step


class StepBounds:
    """bound(agent, policy, step): the latest assignment moment from which the step's working hours have elapsed
    by `as_of` in the agent's hours, zone and holidays (agents.availability.working_time_before); a lead is due
    when its assigned_at is at or before it. `agents`: anything with .agents {id: (working_hours, time_zone,
    team_ids) as attributes}, such as an Eligibility."""

    def __init__(self, eligibility, policies: SlaPolicySet, holidays, as_of: datetime):
        self.eligibility, self.policies, self.holidays, self.as_of = eligibility, policies, holidays, as_of
        self._cache: dict[tuple, datetime | None] = {}

    def bound(self, agent_id: int, policy, step: str, *, hours=None) -> datetime | None:
        hours = getattr(policy, step) if hours is None else hours
        if hours is None:
            return None
        key = (agent_id, hours)
        if key not in self._cache:
            agent = self.eligibility.agents.get(agent_id)
            if agent is None:
                self._cache[key] = None
            else:
                try:
                    self._cache[key] = working_time_before(
                        self.as_of,
                        hours,
                        hours_spec=parse_working_hours(agent.working_hours),
                        tz=agent.time_zone,
                        holidays=self.holidays.get(agent_id, frozenset()),
                    )
                except ValueError:  # hours that never elapse (holidays all the way): never due
                    self._cache[key] = None
        return self._cache[key]

    def due(self, agent_id: int, policy, step: str, moment: datetime) -> bool:
        bound = self.bound(agent_id, policy, step)
        return bound is not None and moment <= bound

    def latest(self, agent_id: int) -> datetime | None:
        """The latest bound of any step of any policy that can apply to the agent's leads: a superset filter."""
        agent = self.eligibility.agents.get(agent_id)
        candidates = [self.policies.default, *(self.policies.by_team.get(t) for t in (agent.team_ids if agent else ()))]
        bounds = [self.bound(agent_id, policy, step) for policy in candidates if policy is not None for step in STEPS]
        bounds = [b for b in bounds if b is not None]
        return max(bounds) if bounds else None


# --------------------------------------------------------------------------------------------------
# SLA states, in SQL: the lead list's filter, the verification and the overview


WITHIN, DUE_SOON, BREACHED = "within", "due-soon", "breached"
STATES = {WITHIN: "within", DUE_SOON: "due soon", BREACHED: "breached"}
DUE_SOON_SHARE = Fraction(3, 4)  # without a reminder step, "due soon" starts at 75% of the first-touch time


@dataclass
class _Clockwork:
    working_hours: str
    time_zone: str
    team_ids: frozenset


class _Agents:
    def __init__(self):
        teams = defaultdict(set)
        for agent_id, team_id in Agent.teams.through.objects.values_list("agent_id", "team_id"):
            teams[agent_id].add(team_id)
        self.agents = {
            pk: _Clockwork(hours, zone, frozenset(teams[pk]))
            for pk, hours, zone in Agent.objects.values_list("id", "working_hours", "time_zone")
        }


def sla_state_condition(state: str, *, as_of: datetime) -> Q:
    """The leads in an SLA state at `as_of`, as a condition on Lead (a few queries to build it, whatever the number
    of leads): assigned, untouched (`new`) leads whose pool's policy has a first-touch time, counted in their
    agent's working time since assigned_at:
    - breached: the first-touch time has elapsed;
    - due soon: not yet, but the reminder time has (75% of the first-touch time when no reminder is set);
    - within: neither.
    Leads worked, unassigned or under no first-touch policy are in no state (Q matching nothing for them)."""
    if state not in STATES:
        raise ValueError(f"unknown SLA state {state!r} (states: {', '.join(STATES)})")
    policies = SlaPolicySet.load()
    if not any(p.first_touch_hours is not None for p in [policies.default, *policies.by_team.values()] if p):
        return Q(pk__in=[])  # no first-touch time anywhere: no lead is in any state
    holidays = Agent.objects.all().holiday_dates(as_of.date() - timedelta(days=HOLIDAY_LOOKBACK_DAYS), as_of.date())
    bounds = StepBounds(_Agents(), policies, holidays, as_of)
    own = sorted(policies.by_team)
    condition = Q(pk__in=[])
    for agent_id in sorted(bounds.eligibility.agents):
        scopes = [(Q(assigned_team_id=t), policies.by_team[t]) for t in own]
        scopes.append((~Q(assigned_team_id__in=own) | Q(assigned_team__isnull=True), policies.default))
        for scope, policy in scopes:
            if policy is None or policy.first_touch_hours is None:
                continue
            first = bounds.bound(agent_id, policy, "first_touch_hours")
            soon_hours = (
                policy.remind_at_hours
                or policy.first_touch_hours * DUE_SOON_SHARE.numerator / DUE_SOON_SHARE.denominator
            )
            soon = bounds.bound(agent_id, policy, "first_touch_hours", hours=soon_hours)
            mine = Q(assigned_agent_id=agent_id) & scope
            if state == BREACHED:
                window = Q(assigned_at__lte=first) if first is not None else Q(pk__in=[])
            elif state == DUE_SOON:
                window = Q(assigned_at__lte=soon) if soon is not None else Q(pk__in=[])
                if first is not None:
                    window &= Q(assigned_at__gt=first)
            else:
                window = Q(assigned_at__gt=soon) if soon is not None else Q()
            condition |= mine & window
    return condition & Q(status=LeadStatus.NEW, assigned_agent__isnull=False, assigned_at__isnull=False)
