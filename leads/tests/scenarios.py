"""Build assignment scenarios quickly (bulk inserts) and read the state back, for the assignment tests."""

from datetime import UTC, datetime, timedelta
from itertools import count

from django.db.models import Count, Q

from agents.models import Agent
from leads.choices import OPEN_STATUSES
from leads.models import Lead, LeadStatus

AS_OF = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
_serial = count()


def make_agents(specs) -> list[Agent]:
    """specs: (active, capacity) pairs. Returns the agents in id order."""
    start = next(_serial) * 1000
    Agent.objects.bulk_create(
        Agent(name=f"Agent {start + i}", email=f"agent{start + i}@sales.test", is_active=active, capacity=capacity)
        for i, (active, capacity) in enumerate(specs)
    )
    return list(
        Agent.objects.filter(email__in=[f"agent{start + i}@sales.test" for i in range(len(specs))]).order_by("id")
    )


def make_leads(n: int, *, agent=None, status=LeadStatus.NEW, age_days: float = 1, as_of=AS_OF) -> None:
    start = next(_serial) * 100_000
    Lead.objects.bulk_create(
        Lead(
            name=f"Lead {start + i}",
            name_key=f"lead {start + i}",
            email=f"lead{start + i}@example.org",
            status=status,
            created_at=as_of - timedelta(days=age_days, minutes=i),
            assigned_agent=agent,
        )
        for i in range(n)
    )


def loads() -> dict[int, int]:
    """Open leads per agent id, every agent included."""
    return dict(
        Agent.objects.annotate(n=Count("leads", filter=Q(leads__status__in=sorted(OPEN_STATUSES)))).values_list(
            "id", "n"
        )
    )


def holders() -> dict[int, int | None]:
    """lead id -> agent id."""
    return dict(Lead.objects.values_list("id", "assigned_agent_id"))


def spread(agents) -> int:
    current = loads()
    active = [a for a in agents if a.is_active]
    below = [current[a.id] for a in active if a.capacity is None or current[a.id] < a.capacity]
    if not active or not below:
        return 0
    return max(current[a.id] for a in active) - min(below)
