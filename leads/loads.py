"""An agent's load: one definition for the assignment, the verification, the Lead overview, the assign-to-agent
page and the agent list.

- the *load* of an agent is the number of open leads it holds;
- its *room* is how many more it may take: none when inactive, no limit without a capacity (README.md,
  "Assignment and verification");
- an *eligible* agent is active and below its capacity.

Read set-based whatever the number of agents: one query for the agents and one aggregate over the open leads
grouped by agent (and by class, when asked), never a query per agent. counted_loads reads the same numbers from
the counters the database keeps (leads.load_counts): one small query, whatever the number of leads.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from agents.models import Agent
from leads.choices import OPEN_STATUSES, LeadStatus
from leads.classification import PRIORITY
from leads.models import Lead


@dataclass
class AgentLoad:
    id: int
    name: str
    email: str
    is_active: bool
    capacity: int | None  # None: no limit; 0: takes no new leads
    open_leads: int = 0
    new_leads: int = 0  # open leads with status `new`: the only ones a rebalance may move
    by_class: dict[str, int] | None = None  # open leads per class (PRIORITY order, zeros included), when asked for
    updated_at: datetime | None = field(default=None, compare=False)

    @property
    def load(self) -> int:
        return self.open_leads

    @property
    def room(self) -> int | None:
        """How many more leads the agent may take (None: no limit)."""
        if not self.is_active:
            return 0
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.open_leads)

    @property
    def eligible(self) -> bool:
        """Active and below capacity: may be given a lead."""
        return self.room is None or self.room > 0

    @property
    def over_capacity(self) -> bool:
        return self.capacity is not None and self.open_leads > self.capacity


@dataclass(frozen=True)
class TeamLoads:
    agents: list[AgentLoad]  # active agents and inactive ones still holding open leads
    unassigned: int  # open leads without an agent


def agent_loads(
    *,
    agent_ids: Iterable[int] | None = None,
    everyone: bool = False,
    by_class_as_of: datetime | None = None,
    order_by: tuple[str, ...] = ("name", "email"),
) -> list[AgentLoad]:
    """The agents with their loads, in `order_by` order.

    agent_ids: only these agents. everyone: every agent (of agent_ids), also the inactive ones holding nothing;
    otherwise the team as pages show it: the active agents and the inactive ones still holding open leads.
    by_class_as_of: also count each agent's open leads per class at that moment (`by_class`).
    """
    return _read(agent_ids=agent_ids, everyone=everyone, by_class_as_of=by_class_as_of, order_by=order_by)[0]


def counted_loads() -> list[AgentLoad]:
    """Every agent with its loads from the counters (AgentLoadCount, kept by triggers; no row: none), by id: one
    query joining the agents, however many leads there are. Exact as the leads are, in the same transaction
    (verify_assignments proves they agree with agent_loads). Without updated_at, which the runs never read (it
    costs a run a hundred timestamps to parse on SQLite)."""
    return _counted(Agent.objects.order_by("id"), stamped=False)


def counted_team() -> list[AgentLoad]:
    """The team as pages show it (the active agents and the inactive ones still holding open leads, by name and
    email, as team_loads has them) with its loads from the counters: one query joining the agents."""
    held = Q(is_active=True) | Q(load_count__open_leads__gt=0)
    return _counted(Agent.objects.filter(held).order_by("name", "email"))


def _counted(agents, *, stamped: bool = True) -> list[AgentLoad]:
    names = ["id", "name", "email", "is_active", "capacity", "load_count__open_leads", "load_count__new_leads"]
    rows = agents.values_list(*names, *(["updated_at"] if stamped else []))
    return [
        AgentLoad(row[0], row[1], row[2], row[3], row[4], row[5] or 0, row[6] or 0, None, row[7] if stamped else None)
        for row in rows
    ]


def team_loads(*, by_class_as_of: datetime | None = None) -> TeamLoads:
    """The team as pages show it (see agent_loads) and the open leads without an agent, from the same aggregate."""
    agents, unassigned = _read(everyone=False, by_class_as_of=by_class_as_of, count_unassigned=True)
    return TeamLoads(agents=agents, unassigned=unassigned)


def open_leads_count() -> Count:
    """An agent's load as an annotation on agents, for lists sorted by it."""
    return Count("leads", filter=Q(leads__status__in=sorted(OPEN_STATUSES)))


def _read(
    *,
    agent_ids=None,
    everyone: bool,
    by_class_as_of: datetime | None,
    order_by: tuple[str, ...] = ("name", "email"),
    count_unassigned: bool = False,
) -> tuple[list[AgentLoad], int]:
    ids = None if agent_ids is None else list(agent_ids)
    # order_by() drops Meta.ordering, which would otherwise end up in the GROUP BY.
    counts = Lead.objects.open().order_by()
    if not count_unassigned:
        counts = counts.filter(assigned_agent__isnull=False)
    if ids is not None:
        counts = counts.filter(assigned_agent_id__in=ids)
    group = ["assigned_agent_id"]
    if by_class_as_of is not None:
        counts = counts.with_classification(by_class_as_of)
        group.append("lead_class")
    rows = counts.values_list(*group).annotate(n=Count("id"), new=Count("id", filter=Q(status=LeadStatus.NEW)))
    held: dict[int | None, list[int]] = {}  # agent id -> [open leads, new leads]
    classes: dict[int | None, dict[str, int]] = {}
    for agent_id, *lead_class, n, new in rows:
        total = held.setdefault(agent_id, [0, 0])
        total[0] += n
        total[1] += new
        if lead_class:
            classes.setdefault(agent_id, {})[lead_class[0]] = n
    unassigned = held.pop(None, [0, 0])[0]

    agents = Agent.objects.order_by(*order_by)
    if ids is not None:
        agents = agents.filter(pk__in=ids)
    if not everyone:
        agents = agents.filter(Q(is_active=True) | Q(pk__in=list(held)))
    loads = []
    for agent_id, name, email, is_active, capacity, updated_at in agents.values_list(
        "id", "name", "email", "is_active", "capacity", "updated_at"
    ):
        open_leads, new_leads = held.get(agent_id, (0, 0))
        by_class = None
        if by_class_as_of is not None:
            by_class = {c.value: classes.get(agent_id, {}).get(c.value, 0) for c in PRIORITY}
        loads.append(AgentLoad(agent_id, name, email, is_active, capacity, open_leads, new_leads, by_class, updated_at))
    return loads, unassigned


def spread_of(loads: list[int], capacities: list[int | None]) -> int:
    """max(load) - min(load of agents below capacity), over the given (active) agents; 0 if none is below."""
    below = [load for load, cap in zip(loads, capacities) if cap is None or load < cap]
    if not loads or not below:
        return 0
    return max(loads) - min(below)
