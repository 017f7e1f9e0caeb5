"""Assignment of open leads to agents (see service.py): `from leads.assignment import assign_leads, ...`."""

from leads.assignment.service import (
    AgentLoad,
    AssignmentError,
    AssignmentResult,
    NoActiveAgentError,
    assign_leads,
    assign_to_agent,
    fill_counts,
    load_agents,
    lock_assignments,
    plan_counts,
    plan_rebalance,
    preview_assign_to_agent,
    spread_of,
    unassign_leads,
)

__all__ = [
    "AgentLoad",
    "AssignmentError",
    "AssignmentResult",
    "NoActiveAgentError",
    "assign_leads",
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
