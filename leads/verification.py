"""Verification of assignments: the proof a manager shows that the split is complete, legal and fair.

Checks that every open lead is assigned, that no open lead sits with an inactive agent, that no agent is
above capacity, that the loads are balanced (spread <= 1, see leads/assignment.py), and that the load
counters the database keeps (leads.load_counts, which the assignment reads) equal the real aggregate. Everything
is aggregated in SQL (the loads from leads/loads.py): a handful of queries whatever the number of agents and
leads.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from agents.models import Agent
from core import clock
from core.db_lock import read_snapshot
from leads.assignment import spread_of
from leads.choices import CLOSED_STATUSES, OPEN_STATUSES
from leads.load_counts import read_counts
from leads.loads import AgentLoad, agent_loads
from leads.models import Lead, VerificationRun

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
            "problems": self.problems,
            "counters_ok": self.counters_ok,
        }


def verify_assignments(*, as_of: datetime) -> VerificationReport:
    """The checks, read from one snapshot without any write lock: a long writer never holds them back."""
    with read_snapshot():
        return _verify(as_of)


def _verify(as_of: datetime) -> VerificationReport:
    open_q = Q(status__in=sorted(OPEN_STATUSES))
    totals = Lead.objects.aggregate(
        total=Count("id"),
        open=Count("id", filter=open_q),
        unassigned=Count("id", filter=open_q & Q(assigned_agent__isnull=True)),
        unassigned_closed=Count("id", filter=Q(status__in=sorted(CLOSED_STATUSES), assigned_agent__isnull=True)),
    )
    # Every active agent and every inactive one still holding open leads, with its open leads per class.
    rows = agent_loads(by_class_as_of=as_of, order_by=("email",))
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
    if report.spread > 1:
        report.problems.append(
            f"The loads are unbalanced: spread {report.spread} (at most 1 allowed) between active agents."
        )
    for email, columns in report.counter_errors.items():
        differences = ", ".join(
            f"{column.replace('_', ' ')} counted {counted}, real {real}" for column, (counted, real) in columns.items()
        )
        report.problems.append(
            f"The load counters of {email} disagree with its leads ({differences}): run rebuild_load_counts."
        )
    return report


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
