"""How many leads are in each class, overall and per agent, at one moment."""

from dataclasses import dataclass
from datetime import datetime

from agents.models import Agent
from leads.classification import LeadClass, Thresholds, band_counts, classes_of_bands
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
    """Counts by class, overall and per agent, from ONE query: the leads grouped by (agent, status) with a count per
    age band (leads.classification.band_counts), which SQLite reads in one pass over the (assigned_agent_id,
    status, created_at) index, without sorting; each (status, band) is then classified once in Python.
    Every agent is listed, also those without leads, plus UNASSIGNED when any lead has no agent.
    """
    thresholds = Thresholds.from_settings()
    rows = Lead.objects.order_by().values("assigned_agent_id", "status").annotate(**band_counts(as_of, thresholds))
    emails = dict(Agent.objects.order_by("email").values_list("pk", "email"))
    counts = zero_counts()
    per_agent = {email: zero_counts() for email in emails.values()}
    for row in rows:
        agent_id = row["assigned_agent_id"]
        key = emails[agent_id] if agent_id is not None else UNASSIGNED
        agent_counts = per_agent.setdefault(key, zero_counts())
        for lead_class, n in classes_of_bands(row["status"], row, thresholds).items():
            agent_counts[lead_class.value] += n
            counts[lead_class.value] += n
    return ClassificationReport(as_of, counts, sum(counts.values()), per_agent)
