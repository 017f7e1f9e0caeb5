"""Assignment of open leads to agents: `from leads.assignment import assign_leads, ...`.

planning.py: the plan on counts (pure functions, no database); service.py: the runs, which read the loads
(leads.loads) and the leads, plan, check under the lock and write; eligibility.py: who may take a lead of a pool.

The names below are imported from their module when first asked for: the service and the planning load numpy and
pandas, which what only reads the eligibility (the verification, the admin's pages) does not need at start-up.
"""

from importlib import import_module

_MODULES = {
    "leads.assignment.locking": ("load_agents", "lock_assignments"),
    "leads.assignment.planning": ("fill_counts", "plan_counts", "plan_rebalance", "spread_of"),
    "leads.assignment.service": (
        "AgentLoad",
        "AssignmentError",
        "AssignmentResult",
        "NoActiveAgentError",
        "assign_leads",
        "assign_on_arrival",
        "assign_to_agent",
        "preview_assign_to_agent",
        "unassign_leads",
    ),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

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


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})
