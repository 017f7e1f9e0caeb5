"""Selectors for the admin's Lead overview: a few aggregate queries, whatever the number of leads.

1. the latest stored verification,
2. leads per class (one GROUP BY over the classification CASE expression), with the leads changed since
   that verification counted in the same pass,
3. open leads per agent, the unassigned ones included (one GROUP BY over the (agent, status) index),
4. the agents to show (active ones, and inactive ones still holding open leads);
3 and 4 are leads.loads.team_loads, the loads every other page and the assignment use.

The verification is compared with the state the page shows (VerificationDrift): a stored "OK" that no
longer matches the leads says so instead of sitting beside contradicting numbers.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from leads.classification import LeadClass
from leads.loads import AgentLoad, spread_of, team_loads
from leads.models import Lead, VerificationRun


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
    # order_by() drops Meta.ordering, which would otherwise end up in the GROUP BY.
    class_rows = (
        Lead.objects.with_classification(as_of)
        .order_by()
        .values_list("lead_class")
        .annotate(n=Count("pk"), changed=Count("pk", filter=Q(updated_at__gt=checked_at)))
        .values_list("lead_class", "n", "changed")
    )
    class_counts, leads_changed = {}, 0
    for lead_class, n, changed in class_rows:
        class_counts[lead_class] = n
        leads_changed += changed
    team = team_loads()
    agents_changed = sum(agent.updated_at > checked_at for agent in team.agents)
    return LeadOverview(
        as_of=as_of,
        by_class={c.value: class_counts.get(c.value, 0) for c in LeadClass},
        agents=team.agents,
        unassigned_open=team.unassigned,
        latest_verification=latest,
        leads_changed_since_verification=leads_changed if latest else 0,
        agents_changed_since_verification=agents_changed if latest else 0,
    )
