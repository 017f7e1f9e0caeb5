"""The assignment lock and the loads read under it: what the runs (service.py), the SLA enforcement and the
admin's agent pages share. Loads no numpy or pandas, as service.py does."""

from core import sql
from leads.loads import AgentLoad, counted_loads

LOCK = "assignment"


def lock_assignments():
    """A transaction (context manager or decorator) that serializes assignment runs until it ends: the named
    lock of core.sql (PostgreSQL advisory lock, MariaDB GET_LOCK, SQLite's write lock). Loads must be read
    inside it. Raises core.sql.LockTimeout when another run holds it longer than the database waits."""
    return sql.locked(LOCK)


def load_agents() -> dict[int, AgentLoad]:
    """Every agent by id with its load and its count of `new` open leads, from the counters the database keeps
    (leads.loads.counted_loads: one small query; exact in the reading transaction, which verify_assignments
    proves against the real aggregate)."""
    return {agent.id: agent for agent in counted_loads()}
