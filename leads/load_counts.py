"""Per-agent load counters kept by the database: `AgentLoadCount` rows maintained by triggers on the leads table.

Every path that writes a lead (the import's set-based upsert, the intake API, the admin, assignment's
UPDATE ... FROM, deletes, raw SQL) goes through the triggers, so the counters change in the same transaction as
the leads and are as exact as they are: reading the loads is one small query instead of an aggregate over every
open lead. The open statuses are baked into the triggers' SQL (core.sql.Dialect.count_triggers); a change of
OPEN_STATUSES needs a migration that calls install_triggers again (a test compares the stored triggers with
what would be generated now). verify_assignments proves the counters equal the real aggregate;
rebuild_load_counts repairs them (only needed after someone disabled the triggers or edited the database by
hand). SQLite drops a table's triggers when a migration rebuilds the table: a migration that alters the leads
table must call install_triggers again (the same test fails until it does).
"""

from dataclasses import dataclass, field

from django.db import connection

from agents.models import Agent
from core import sql
from leads.choices import OPEN_STATUSES, LeadStatus
from leads.models import AgentLoadCount

LOCK = "assignment"  # leads.assignment's: a rebuild never interleaves with a run reading the counters


def spec() -> sql.CountedRows:
    """What the triggers count, from the Python constants (the open statuses) as they are now."""
    return sql.CountedRows(
        name="leads_lead_load",
        source="leads_lead",
        group="assigned_agent_id",
        column="status",
        table="leads_agentloadcount",
        key="agent_id",
        counts=(("open_leads", tuple(sorted(OPEN_STATUSES))), ("new_leads", (str(LeadStatus.NEW),))),
    )


def install_triggers(schema_editor=None) -> None:
    """(Re)create the triggers from the current constants (a migration's RunPython)."""
    conn = schema_editor.connection if schema_editor else connection
    dialect, counted = sql.dialect(conn), spec()
    with conn.cursor() as cursor:
        for statement in [*dialect.drop_count_triggers(counted), *dialect.count_triggers(counted)]:
            cursor.execute(statement)


def drop_triggers(schema_editor=None) -> None:
    conn = schema_editor.connection if schema_editor else connection
    dialect = sql.dialect(conn)
    with conn.cursor() as cursor:
        for statement in dialect.drop_count_triggers(spec()):
            cursor.execute(statement)


def triggers_current() -> bool:
    """Whether the triggers in the database are the ones the current constants generate (and are enabled)."""
    dialect, counted = sql.dialect(), spec()
    return dialect.stored_count_triggers(counted) == dialect.expected_count_triggers(counted)


def fill_counts(conn=None) -> int:
    """Replace every counter row by the real aggregate over the leads: one DELETE, one INSERT ... SELECT.
    Returns how many rows were written (agents holding at least one lead)."""
    conn = conn or connection
    counted = spec()
    names = ", ".join(column for column, _ in counted.counts)
    sums = ", ".join(f"SUM{counted.contribution('l', statuses)}" for _, statuses in counted.counts)
    with conn.cursor() as cursor:
        cursor.execute(f"DELETE FROM {counted.table}")
        cursor.execute(
            f"INSERT INTO {counted.table} ({counted.key}, {names}) SELECT l.{counted.group}, {sums} "
            f"FROM {counted.source} l WHERE l.{counted.group} IS NOT NULL GROUP BY l.{counted.group}"
        )
        return cursor.rowcount


@dataclass
class RebuildResult:
    rows: int  # counter rows written
    repaired: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # email -> column -> [was, now]

    def to_dict(self) -> dict:
        return {"rows": self.rows, "repaired": self.repaired}


def read_counts() -> dict[int, tuple[int, int]]:
    """agent id -> (open leads, new leads) as the counters hold them (agents without a row hold none).

    Only rows of agents that exist: a flush that empties the tables one by one with foreign key checks off
    (Django's `flush` on MariaDB deletes the counters, then the leads, whose trigger counts them down again)
    leaves rows of agents that are gone, which nothing reads (the assignment joins the counters to the agents)
    and the next rebuild removes."""
    rows = AgentLoadCount.objects.filter(agent__in=Agent.objects.all()).values_list(
        "agent_id", "open_leads", "new_leads"
    )
    return {agent_id: (open_leads, new_leads) for agent_id, open_leads, new_leads in rows}


def rebuild_load_counts() -> RebuildResult:
    """Recompute every counter from the leads, under the assignment lock; report the agents whose counters
    were wrong (their value before and after)."""
    with sql.locked(LOCK):
        before = read_counts()
        rows = fill_counts()
        after = read_counts()
    wrong = {
        agent_id for agent_id in set(before) | set(after) if before.get(agent_id, (0, 0)) != after.get(agent_id, (0, 0))
    }
    emails = dict(Agent.objects.filter(pk__in=wrong).values_list("id", "email"))
    repaired = {}
    for agent_id in sorted(wrong, key=lambda i: emails.get(i, "")):
        was, now = before.get(agent_id, (0, 0)), after.get(agent_id, (0, 0))
        repaired[emails.get(agent_id, str(agent_id))] = {
            "open_leads": [was[0], now[0]],
            "new_leads": [was[1], now[1]],
        }
    return RebuildResult(rows=rows, repaired=repaired)
