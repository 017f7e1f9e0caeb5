"""Selectors for the admin's Lead overview: a few aggregate queries, whatever the number of leads.

1. leads per class (one GROUP BY over the classification CASE expression),
2. open leads per agent, the unassigned ones included (one GROUP BY over the (agent, status) index),
3. the agents to show (active ones, and inactive ones still holding open leads),
4. the latest stored verification.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from agents.models import Agent
from leads.classification import LeadClass
from leads.models import Lead, VerificationRun


@dataclass(frozen=True)
class AgentLoad:
    id: int
    name: str
    email: str
    is_active: bool
    capacity: int | None
    open_leads: int

    @property
    def over_capacity(self) -> bool:
        return self.capacity is not None and self.open_leads > self.capacity


@dataclass(frozen=True)
class LeadOverview:
    as_of: datetime
    by_class: dict[str, int]  # every LeadClass value, in table order, zeros included
    agents: list[AgentLoad]  # by name
    unassigned_open: int
    latest_verification: VerificationRun | None

    @property
    def total_leads(self) -> int:
        return sum(self.by_class.values())

    @property
    def open_leads(self) -> int:
        return self.total_leads - self.by_class[LeadClass.CLOSED]


def lead_overview(*, as_of: datetime | None = None) -> LeadOverview:
    as_of = as_of or timezone.now()
    # order_by() drops Meta.ordering, which would otherwise end up in the GROUP BY.
    class_counts = dict(
        Lead.objects.with_classification(as_of)
        .order_by()
        .values_list("lead_class")
        .annotate(n=Count("pk"))
        .values_list("lead_class", "n")
    )
    open_per_agent = dict(
        Lead.objects.open()
        .order_by()
        .values_list("assigned_agent")
        .annotate(n=Count("pk"))
        .values_list("assigned_agent", "n")
    )
    unassigned_open = open_per_agent.pop(None, 0)
    agents = [
        AgentLoad(open_leads=open_per_agent.get(row["id"], 0), **row)
        for row in Agent.objects.filter(Q(is_active=True) | Q(pk__in=list(open_per_agent)))
        .order_by("name", "email")
        .values("id", "name", "email", "is_active", "capacity")
    ]
    return LeadOverview(
        as_of=as_of,
        by_class={c.value: class_counts.get(c.value, 0) for c in LeadClass},
        agents=agents,
        unassigned_open=unassigned_open,
        latest_verification=VerificationRun.objects.select_related("user").order_by("-checked_at", "-id").first(),
    )
