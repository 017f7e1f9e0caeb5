"""How many leads are in each class, overall and per agent, at one moment."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from agents.models import Agent
from leads.classification import LeadClass
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
        return {"as_of": self.as_of.isoformat(), "counts": self.counts, "total": self.total, "per_agent": self.per_agent}


def classification_report(*, as_of: datetime | None = None) -> ClassificationReport:
    """Counts by class and by (agent, class) from ONE grouped query over the CASE expression.

    Every agent is listed, also those without leads, plus UNASSIGNED when any lead has no agent.
    """
    as_of = as_of or timezone.now()
    rows = (
        Lead.objects.with_classification(as_of)
        .order_by()
        .values("assigned_agent_id", "lead_class")
        .annotate(n=Count("*"))
        .values_list("assigned_agent_id", "lead_class", "n")
    )
    emails = dict(Agent.objects.order_by("email").values_list("pk", "email"))
    counts = zero_counts()
    per_agent = {email: zero_counts() for email in emails.values()}
    for agent_id, lead_class, n in rows:
        counts[lead_class] += n
        key = emails[agent_id] if agent_id is not None else UNASSIGNED
        per_agent.setdefault(key, zero_counts())[lead_class] += n
    return ClassificationReport(as_of, counts, sum(counts.values()), per_agent)
