"""Assignment of open leads to agents: `from leads.assignment import assign_leads, ...`.

planning.py: the plan on counts (pure functions, no database); service.py: the runs, which read the loads
(leads.loads) and the leads, plan, check under the lock and write.
"""

from leads.assignment.planning import fill_counts, plan_counts, plan_rebalance, spread_of
from leads.assignment.service import (
    AgentLoad,
    AssignmentError,
    AssignmentResult,
    NoActiveAgentError,
    assign_leads,
    assign_on_arrival,
    assign_to_agent,
    load_agents,
    lock_assignments,
    preview_assign_to_agent,
    unassign_leads,
)

__all__ = [
    "AgentLoad",
    "AssignmentError",
    "AssignmentResult",
    "NoActiveAgentError",
    "assign_leads",
    "assign_on_arrival",
    "assign_to_agent",
    "fill_counts",
    "load_agents",
    "lock_assignments",
    "plan_counts",
    "plan_rebalance",
    "preview_assign_to_agent",
    "spread_of",
    "unassign_leads",
]
