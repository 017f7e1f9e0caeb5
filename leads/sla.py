"""SLA enforcement: leads nobody touches are chased (README "SLAs").

A lead is *untouched* while its status is `new`. The clock of every step starts at its latest assignment
(`assigned_at`) and counts working time: the holding agent's working hours in its time zone, skipping its holidays
(agents.availability.working_time_before; agents.Holiday). The policy is its pool's (Lead.assigned_team, the
pool a run last placed it in), else the default one (leads.sla_policies). A run at `as_of`:

- remind: untouched for `remind_at_hours`: one email to the agent;
- escalate: untouched for `escalate_after_hours`: one email to each manager of the pool's team (the Sales managers
  when the pool has no team or the team no manager);
- reassign: untouched for `reassign_after_hours`: the lead goes to the eligible agent of its pool with the lowest
  weighted load that never held it (reason `sla-reassigned`), at most `max_reassignments` times; after that, or
  when nobody can take it, it is escalated instead;
- recycle: an assigned open lead with no activity (neither its latest change nor its assignment) for
  `recycle_stale_after_days` days goes back to its pool: to an eligible agent who never held it, else unassigned
  (reason `recycled-stale`).

Idempotent: every reminder and escalation is recorded once per lead, step, assignment and recipient (a unique
constraint); a reassigned or recycled lead's clock restarts at `as_of`, which is the time of everything the run
writes (assigned_at, the audit rows, the notifications). The run holds the assignment lock throughout, so it never
overlaps another assignment or SLA run: the second waits. Set-based: one bound per agent and step (working time is
computed per agent, not per lead), one query for the due leads, one for their history, bulk writes.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from agents.models import Agent, Team
from core import sql
from leads.assignment.eligibility import EVERY_AGENT, Eligibility, PoolReport, read_eligibility
from leads.assignment.locking import load_agents, lock_assignments
from leads.assignment.service import write_moves
from leads.choices import OPEN_STATUSES, LeadStatus
from leads.models import AssignmentRun, Lead, LeadAssignment, Notification
from leads.notifications import queue_sending
from leads.sla_policies import SlaPolicySet
from leads.sla_states import (
    HOLIDAY_LOOKBACK_DAYS,
    StepBounds,
)

REASON = LeadAssignment.Reason
KIND = Notification.Kind
MANAGERS_GROUP = "Sales managers"


class SlaError(Exception):
    returncode = 2


@dataclass
class SlaResult:
    as_of: datetime
    dry_run: bool
    seed: int
    reminded: int = 0
    escalated: int = 0
    reassigned: int = 0
    recycled: int = 0
    run_id: int | None = None
    waiting: int = 0  # leads due to move that nobody could take (they stay, or wait unassigned when recycled)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "reminded": self.reminded,
            "escalated": self.escalated,
            "reassigned": self.reassigned,
            "recycled": self.recycled,
            "run": self.run_id,
        }

    @property
    def changed(self) -> bool:
        return bool(self.reminded or self.escalated or self.reassigned or self.recycled)


@dataclass
class _Due:
    """A lead the run acts on, with what its history says."""

    lead_id: int
    agent_id: int
    clock: datetime  # assigned_at: where the steps count from
    team_id: int | None
    pool: str
    rule: str
    held_by: set[int]
    reassignments: int
    activity: datetime | None = None  # the later of its assignment and its latest change


def enforce_sla(
    *, as_of: datetime, dry_run: bool = False, seed: int | None = None, source: str = AssignmentRun.Source.COMMAND
) -> SlaResult:
    if seed is not None and not 0 <= seed < 2**63:
        raise SlaError(f"--seed must be a non-negative integer below 2**63, not {seed}.")
    result = SlaResult(as_of=as_of, dry_run=dry_run, seed=secrets.randbelow(2**31) if seed is None else seed)
    policies = SlaPolicySet.load()
    if policies.default is None and not policies.by_team:
        return result
    with lock_assignments():
        _run(result, policies, source=source)
        if dry_run:  # the run really happened, inside the transaction: undo it
            transaction.set_rollback(True)
            result.run_id = None
    return result


def _run(result: SlaResult, policies: SlaPolicySet, *, source: str) -> None:
    as_of = result.as_of
    rng = np.random.default_rng(result.seed)
    eligibility = read_eligibility(load_agents(), as_of=as_of)
    team_names = dict(Team.objects.values_list("id", "name"))
    holidays = Agent.objects.all().holiday_dates(as_of.date() - timedelta(days=HOLIDAY_LOOKBACK_DAYS), as_of.date())
    bounds = StepBounds(eligibility, policies, holidays, as_of)

    untouched = _history(_untouched_candidates(bounds))
    remind, escalate, move = [], [], []
    for due in untouched:
        policy = policies.for_team(due.team_id)
        if policy is None:
            continue
        agent_id = due.agent_id
        if bounds.due(agent_id, policy, "reassign_after_hours", due.clock):
            if policy.max_reassignments is None or due.reassignments < policy.max_reassignments:
                move.append((due, REASON.SLA_REASSIGNED))
                continue
            escalate.append(due)
            continue
        if bounds.due(agent_id, policy, "escalate_after_hours", due.clock):
            escalate.append(due)
        if bounds.due(agent_id, policy, "remind_at_hours", due.clock):
            remind.append(due)

    moving = {due.lead_id for due, _ in move}
    for due in _history(_stale_candidates(policies, as_of, exclude=moving)):
        policy = policies.for_team(due.team_id)
        days = policy.recycle_stale_after_days if policy else None
        if days is not None and due.activity <= as_of - timedelta(days=days):
            move.append((due, REASON.RECYCLED_STALE))

    mapping, pools, stuck = _place(move, eligibility, team_names, rng)
    # A lead due for reassignment that nobody could take stays with its agent, and its managers hear of it.
    escalate += [due for due, reason in move if due.lead_id in stuck and reason == REASON.SLA_REASSIGNED]
    result.waiting = len(stuck)
    result.reassigned = sum(1 for row in mapping if row[3] == REASON.SLA_REASSIGNED)
    result.recycled = sum(1 for row in mapping if row[3] == REASON.RECYCLED_STALE)

    notes = _notifications(remind, escalate, as_of=as_of)
    result.reminded = len({n.lead_id for n in notes if n.kind == KIND.SLA_REMINDER})
    result.escalated = len({n.lead_id for n in notes if n.kind == KIND.SLA_ESCALATION})
    if not result.changed:
        return
    flags = {"as_of": as_of.isoformat(), "dry_run": result.dry_run, **result.to_dict()}
    flags.pop("run")
    run_id = write_moves(
        mapping,
        as_of=as_of,
        action="enforce-sla",
        source=source,
        seed=result.seed,
        flags=flags,
        pools={label: report.to_dict() for label, report in pools.items()},
    )
    result.run_id = run_id
    for note in notes:
        note.run_id = run_id
    created = Notification.objects.bulk_create(notes)
    ids = [n.pk for n in created if n.pk is not None]
    if ids and not result.dry_run:
        queue_sending(ids)


def _untouched_candidates(bounds: StepBounds):
    """The untouched assigned leads that some step may be due for: one query, one condition per agent."""
    condition = Q()
    for agent_id in bounds.eligibility.agents:
        latest = bounds.latest(agent_id)
        if latest is not None:
            condition |= Q(assigned_agent_id=agent_id, assigned_at__lte=latest)
    if not condition:
        return []
    return list(
        Lead.objects.filter(condition, status=LeadStatus.NEW)
        .order_by("id")
        .values_list("id", "assigned_agent_id", "assigned_at", "last_activity_at", "assigned_team_id")
    )


def _stale_candidates(policies: SlaPolicySet, as_of: datetime, *, exclude: set[int]):
    """The assigned open leads without activity (last_activity_at, and the assignment) for the shortest recycle
    period of any policy."""
    periods = [
        p.recycle_stale_after_days
        for p in [policies.default, *policies.by_team.values()]
        if p is not None and p.recycle_stale_after_days is not None
    ]
    if not periods:
        return []
    since = as_of - timedelta(days=min(periods))
    rows = (
        Lead.objects.filter(status__in=sorted(OPEN_STATUSES), assigned_agent__isnull=False)
        .filter(assigned_at__lte=since)
        .filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lte=since))
        .order_by("id")
        .values_list("id", "assigned_agent_id", "assigned_at", "last_activity_at", "assigned_team_id")
    )
    return [row for row in rows if row[0] not in exclude]


def _history(rows) -> list[_Due]:
    """The leads with their pool (Lead.assigned_team), their latest assignment's pool label and rule, every agent
    who held them and how often the SLA reassigned them: one query per batch of leads."""
    if not rows:
        return []
    by_lead = {row[0]: row[1:] for row in rows}
    latest: dict[int, tuple] = {}
    held: dict[int, set[int]] = defaultdict(set)
    reassigned: dict[int, int] = defaultdict(int)
    ids = sorted(by_lead)
    size = max(1, sql.dialect().max_query_params() - 10)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        for lead_id, pk, changed_at, to_id, from_id, reason, pool, rule in LeadAssignment.objects.filter(
            lead_id__in=chunk
        ).values_list("lead_id", "id", "changed_at", "to_agent_id", "from_agent_id", "reason", "pool", "rule"):
            held[lead_id].update(a for a in (to_id, from_id) if a is not None)
            if reason == REASON.SLA_REASSIGNED:
                reassigned[lead_id] += 1
            if lead_id not in latest or (changed_at, pk) > latest[lead_id][:2]:
                latest[lead_id] = (changed_at, pk, pool, rule)
    out = []
    for lead_id in ids:
        agent_id, assigned_at, last_activity, team_id = by_lead[lead_id]
        _, _, pool, rule = latest.get(lead_id, (None, None, "", ""))
        due = _Due(
            lead_id=lead_id,
            agent_id=agent_id,
            clock=assigned_at,
            team_id=team_id,
            pool=pool,
            rule=rule,
            held_by=held[lead_id] | {agent_id},
            reassignments=reassigned[lead_id],
        )
        due.activity = max(assigned_at, last_activity or assigned_at)
        out.append(due)
    return out


# --------------------------------------------------------------------------------------------------
# Where moved leads go


def _place(move, eligibility: Eligibility, team_names: dict[int, str], rng):
    """Each lead to the eligible agent of its pool with the lowest (load + 1) / share that never held it (ties drawn
    with rng), one after the other so each placement sees the loads the previous ones left. Returns the mapping
    (lead, from, to, reason, pool, rule), the pools as the run records them, and the leads nobody could take."""
    loads = {a.id: eligibility.load(a) for a in eligibility.agents.values()}
    rooms = {a.id: a.room for a in eligibility.agents.values()}
    given: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    leads_per_pool: dict[int | None, int] = defaultdict(int)
    # Read once per pool and agent rather than per lead: the eligible agents, and (load + 1) / share until the
    # agent's load changes (thousands of moved leads over dozens of agents would make each key again otherwise).
    eligible: dict[int | None, list] = {}
    keys: dict[int, Fraction] = {}

    def key(agent) -> Fraction:
        if agent.id not in keys:
            keys[agent.id] = Fraction(loads[agent.id] + 1) / eligibility.share(agent)
        return keys[agent.id]

    def change_load(agent_id: int, by: int) -> None:
        loads[agent_id] += by
        keys.pop(agent_id, None)

    mapping, stuck = [], set()
    for due, reason in sorted(move, key=lambda m: m[0].lead_id):
        leads_per_pool[due.team_id] += 1
        if due.team_id not in eligible:
            eligible[due.team_id] = eligibility.eligible(due.team_id)
        options = [
            a for a in eligible[due.team_id] if a.id not in due.held_by and (rooms[a.id] is None or rooms[a.id] > 0)
        ]
        if not options:
            if reason == REASON.RECYCLED_STALE:  # back to its pool, unassigned: the next run places it
                mapping.append((due.lead_id, due.agent_id, None, reason, due.pool, due.rule))
                if eligibility.policy != "received":
                    change_load(due.agent_id, -1)
            stuck.add(due.lead_id)
            continue
        lowest = min(key(a) for a in options)
        tied = sorted(a.id for a in options if key(a) == lowest)
        chosen = tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]
        mapping.append((due.lead_id, due.agent_id, chosen, reason, due.pool, due.rule))
        change_load(chosen, 1)
        if eligibility.policy != "received":
            change_load(due.agent_id, -1)
        if rooms[chosen] is not None:
            rooms[chosen] -= 1
        given[due.team_id][chosen] += 1
    pools = {}
    for team_id, n in leads_per_pool.items():
        report = PoolReport(team_id=team_id, team=team_names.get(team_id), leads=n)
        report.placed = sum(given[team_id].values())
        for agent in eligibility.members(team_id):
            if agent.eligible:
                report.eligible.append(eligibility.describe(agent, given=given[team_id].get(agent.id, 0)))
            else:
                report.skipped.append(eligibility.describe(agent))
        pools[report.label if team_id is not None else EVERY_AGENT] = report
    return mapping, pools, stuck


# --------------------------------------------------------------------------------------------------
# Reminders and escalations


def _notifications(remind: list[_Due], escalate: list[_Due], *, as_of: datetime):
    """The reminder and escalation rows not sent before for the same lead, step, assignment and recipient."""
    if not remind and not escalate:
        return []
    agents = dict(Agent.objects.values_list("id", "email"))
    managers = _managers({due.team_id for due in escalate})
    # (lead, kind, sla_clock, to, agent, user): model instances only for the rows not sent before, since a run
    # that finds most of them sent (every run after the first at the same moment) would build them for nothing.
    wanted = [(due.lead_id, KIND.SLA_REMINDER, due.clock, agents[due.agent_id], due.agent_id, None) for due in remind]
    seen = set()
    for due in escalate:
        if due.lead_id in seen:
            continue
        seen.add(due.lead_id)
        for user_id, email in managers.get(due.team_id) or managers.get(None, []):
            wanted.append((due.lead_id, KIND.SLA_ESCALATION, due.clock, email, due.agent_id, user_id))
    sent = set()
    lead_ids = sorted({row[0] for row in wanted})
    size = max(1, sql.dialect().max_query_params() - 10)
    for start in range(0, len(lead_ids), size):
        sent.update(
            Notification.objects.filter(
                lead_id__in=lead_ids[start : start + size], kind__in=[KIND.SLA_REMINDER, KIND.SLA_ESCALATION]
            ).values_list("lead_id", "kind", "sla_clock", "to")
        )
    return [
        Notification(
            agent_id=agent_id,
            user_id=user_id,
            to=to,
            kind=kind,
            lead_id=lead_id,
            sla_clock=clock,
            created_at=as_of,
        )
        for lead_id, kind, clock, to, agent_id, user_id in wanted
        if (lead_id, kind, clock, to) not in sent
    ]


def _managers(team_ids: set[int | None]) -> dict[int | None, list[tuple[int, str]]]:
    """The logins told of an escalation, by team: its managers with an email; None: the Sales managers."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    out: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
    teams = [t for t in team_ids if t is not None]
    for team_id, user_id, email in (
        Team.managers.through.objects.filter(team_id__in=teams, user__in=users)
        .order_by("team_id", "user_id")
        .values_list("team_id", "user_id", "user__email")
    ):
        out[team_id].append((user_id, email))
    out[None] = list(users.filter(groups__name=MANAGERS_GROUP).order_by("id").values_list("id", "email").distinct())
    return out
