"""How many leads are in each class, overall and per agent, at one moment."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Func, Value
from django.db.models.functions import Coalesce

from agents.models import Agent
from leads.classification import LeadClass, Thresholds, class_condition, classification_expression
from leads.models import Lead

# per_agent key for leads without an agent; emails always contain "@", so it cannot clash.
UNASSIGNED = "unassigned"


def zero_counts() -> dict[str, int]:
    return {lead_class.value: 0 for lead_class in LeadClass}


@dataclass(frozen=True)
class ClassificationReport:
    as_of: datetime
    counts: dict[str, int]  # every class, in table order, zeros included
    total: int
    per_agent: dict[str, dict[str, int]]  # agent email (or UNASSIGNED) -> counts like above

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "counts": self.counts,
            "total": self.total,
            "per_agent": self.per_agent,
        }


def classification_report(*, as_of: datetime) -> ClassificationReport:
    """Counts by class from ONE query, and by (agent, class) from one grouped query.

    The counts are one index range count per class (class_condition), glued with
    UNION ALL: they never read the table. The per-agent counts group the whole
    table by agent and class; no index holds agent, status and created_at together.
    Every agent is listed, also those without leads, plus UNASSIGNED when any lead has no agent.
    """
    thresholds = Thresholds.from_settings()
    counts = zero_counts()
    counts.update(_count_by_class(as_of, thresholds))
    # One integer per (agent, class): SQLite groups by sorting every row, and a
    # single integer sorts much faster than (class name, agent id); grouping on the
    # bare agent column would also make it walk the agent index and fetch every row
    # out of order. Unassigned leads get agent 0.
    classes = list(LeadClass)
    group = Coalesce("assigned_agent_id", Value(0)) * len(classes) + classification_expression(
        as_of, thresholds, as_number=True
    )
    rows = Lead.objects.order_by().values(group=group).annotate(n=Count("*")).values_list("group", "n")
    emails = dict(Agent.objects.order_by("email").values_list("pk", "email"))
    per_agent = {email: zero_counts() for email in emails.values()}
    for group, n in rows:
        agent_id, number = divmod(group, len(classes))
        key = emails[agent_id] if agent_id else UNASSIGNED
        per_agent.setdefault(key, zero_counts())[classes[number].value] += n
    return ClassificationReport(as_of, counts, sum(counts.values()), per_agent)


def _count_by_class(as_of: datetime, thresholds: Thresholds) -> dict[str, int]:
    parts = [
        Lead.objects.filter(class_condition(lead_class, as_of, thresholds))
        .order_by()
        .annotate(lead_class=Value(lead_class.value), n=Func(F("pk"), function="COUNT"))
        .values_list("lead_class", "n")
        for lead_class in LeadClass
    ]
    return dict(parts[0].union(*parts[1:], all=True))
