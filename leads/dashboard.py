"""Selectors for the admin's Lead overview: three small queries (four after a verification), whatever the number
of leads.

1. the latest stored verification,
2. the leads grouped by status only, with a count per age band (leads.classification.band_counts) that
   classes_of_bands() splits into classes, and the counters' open
   leads summed over the agents: one pass that walks the (status, created_at) index and evaluates no CASE per
   lead (grouping by the classification expression sorts or hashes every row by it),
3. the agents to show (active ones, and inactive ones still holding open leads) with their loads from the
   counters the database keeps (leads.loads.counted_team, leads.load_counts): no aggregate over the open leads.
The open leads without an agent are the open leads of 2 minus the counters' sum, read in the same statement:
exact as the counters are (verify_assignments proves them), and from one snapshot on every engine.

The verification is compared with the state the page shows (VerificationDrift): a stored "OK" that no
longer matches the leads says so instead of sitting beside contradicting numbers.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Func, Subquery
from django.db.models.functions import Coalesce

from agents.models import Agent
from leads.choices import OPEN_STATUSES
from leads.classification import LeadClass, Thresholds, band_counts, classes_of_bands
from leads.loads import AgentLoad, counted_team, spread_of
from leads.models import AgentLoadCount, Lead, VerificationRun


@dataclass(frozen=True)
class Difference:
    label: str
    then: object
    now: object


@dataclass(frozen=True)
class VerificationDrift:
    """How the latest verification relates to the state shown now."""

    leads_changed: int  # leads whose updated_at (an edit, an import, an assignment) is after the check
    agents_changed: int  # shown agents edited, imported, activated or deactivated after the check
    differences: list[Difference]  # the verification's figures that differ from the current ones

    @property
    def changes(self) -> int:
        return self.leads_changed + self.agents_changed

    @property
    def matches(self) -> bool:
        return not self.differences

    @property
    def current(self) -> bool:
        return self.matches and not self.changes


@dataclass(frozen=True)
class LeadOverview:
    as_of: datetime
    by_class: dict[str, int]  # every LeadClass value, in table order, zeros included
    agents: list[AgentLoad]  # by name
    unassigned_open: int
    latest_verification: VerificationRun | None
    leads_changed_since_verification: int = 0
    agents_changed_since_verification: int = 0

    @property
    def total_leads(self) -> int:
        return sum(self.by_class.values())

    @property
    def open_leads(self) -> int:
        return self.total_leads - self.by_class[LeadClass.CLOSED]

    def figures(self) -> dict[str, object]:
        """The verification's figures (its --json keys) as they stand now, from this page's aggregates."""
        active = [a for a in self.agents if a.is_active]
        return {
            "total_leads": self.total_leads,
            "open_leads": self.open_leads,
            "unassigned": self.unassigned_open,
            "on_inactive": sum(a.open_leads for a in self.agents if not a.is_active),
            "over_capacity": sorted(a.email for a in self.agents if a.over_capacity),
            "spread": spread_of([a.open_leads for a in active], [a.capacity for a in active]),
            "per_agent": {a.email: a.open_leads for a in sorted(self.agents, key=lambda a: a.email)},
        }

    @property
    def verification_drift(self) -> VerificationDrift | None:
        if self.latest_verification is None:
            return None
        report = self.latest_verification.report or {}
        differences = [
            Difference(DRIFT_LABELS[key], _shown(report[key]), _shown(now))
            for key, now in self.figures().items()
            # Older reports may lack a key; a list is compared as a set (its order carries no meaning).
            if key in report and _comparable(report[key]) != _comparable(now)
        ]
        return VerificationDrift(
            leads_changed=self.leads_changed_since_verification,
            agents_changed=self.agents_changed_since_verification,
            differences=differences,
        )


DRIFT_LABELS = {
    "total_leads": "leads",
    "open_leads": "open leads",
    "unassigned": "open leads without an agent",
    "on_inactive": "open leads with inactive agents",
    "over_capacity": "agents above capacity",
    "spread": "spread (largest - smallest load)",
    "per_agent": "open leads per agent",
}


def _comparable(value):
    return sorted(value) if isinstance(value, list) else value


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(sorted(value)) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key} {n}" for key, n in sorted(value.items())) or "none"
    return str(value)


def lead_overview(*, as_of: datetime) -> LeadOverview:
    latest = VerificationRun.objects.select_related("user").order_by("-checked_at", "-id").first()
    checked_at = latest.checked_at if latest else as_of
    thresholds = Thresholds.from_settings()
    # Uncorrelated: computed once, beside the groups, so that it and the open leads come from one snapshot. Only
    # the counters of agents that exist (see leads.load_counts.read_counts).
    counted_open = (
        AgentLoadCount.objects.filter(agent__in=Agent.objects.all())
        .order_by()
        .values(total=Coalesce(Func(F("open_leads"), function="SUM"), 0))
    )
    # order_by() drops Meta.ordering, which would otherwise end up in the GROUP BY.
    rows = (
        Lead.objects.order_by()
        .values("status")
        .annotate(
            **band_counts(as_of, thresholds),
            _counted_open=Subquery(counted_open),
        )
    )
    class_counts = dict.fromkeys(LeadClass, 0)
    open_leads = counted = 0
    for row in rows:
        for lead_class, n in classes_of_bands(row["status"], row, thresholds).items():
            class_counts[lead_class] += n
        open_leads += row["_leads"] if row["status"] in OPEN_STATUSES else 0
        counted = row["_counted_open"]
    # Its own count, one plain scan: in the pass above it costs a table read per lead (SQLite and
    # MariaDB walk the (status, created_at) index; 1.6 s and 15 s at 1M leads instead of 0.16 s).
    leads_changed = Lead.objects.filter(updated_at__gt=checked_at).count() if latest else 0
    agents = counted_team()
    agents_changed = sum(agent.updated_at > checked_at for agent in agents)
    return LeadOverview(
        as_of=as_of,
        by_class={c.value: class_counts[c] for c in LeadClass},
        agents=agents,
        unassigned_open=open_leads - counted,
        latest_verification=latest,
        leads_changed_since_verification=leads_changed,
        agents_changed_since_verification=agents_changed if latest else 0,
    )
