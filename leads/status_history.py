"""What a lead remembers: its status history (LeadStatusChange), when it was first touched and when it was last
active. The rules live here, and every path that writes a lead's status calls this module:

- a row per change of status, and one for a lead's creation (from_status empty), with when, where from
  (admin, api, import, revert) and who (the login, the API key, the import run);
- `first_touched_at`: the first time a lead's status is not `new` (a lead created in another status is touched
  when created); set once, never moved by a later change, nor by a return to `new`;
- `last_activity_at`: the moment of the latest creation, edit or change of status. An assignment alone is not
  activity (leads.assignment keeps its own audit, LeadAssignment).

The admin (one lead) and the intake API (a request of up to 1,000 leads) know the old statuses already and call
record_status_changes: one bulk INSERT (core.sql's insert_rows) and one UPDATE whatever the number of leads; their
last_activity_at is written with the lead itself (the admin's save, the intake's INSERT and UPDATE through the
import's stamped columns). The import calls import_status_changes around its upsert (imports.schema.AroundUpsert):
a few INSERT ... SELECT and UPDATE statements over its staging table, never a query per row; its last_activity_at
is a stamped column of the lead schema and a new lead's first_touched_at an inserted one, written by the upsert
itself; a revert restores first_touched_at and last_activity_at with the other columns. A revert deletes the
history of the leads it deletes (CASCADE), keeps that of the leads it restores (the changes did happen) and records
the statuses it puts back (revert_status_changes, source `revert`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from core import sql
from leads.models import Lead, LeadStatus, LeadStatusChange

Source = LeadStatusChange.Source
CREATED = ""  # the from_status of a lead's creation
UNTOUCHED = LeadStatus.NEW.value  # a lead is touched once its status is anything else


# A lead an import creates is touched at once unless it is `new` (the staged status, its default `new` when the
# file has none): computed by the import's own INSERT (imports.schema.Schema.inserted), not a second write of
# every new lead.
FIRST_TOUCH_ON_INSERT = f"CASE WHEN COALESCE(s.status, '{UNTOUCHED}') <> '{UNTOUCHED}' THEN {{now}} END"


class StatusChange(NamedTuple):
    lead_id: int
    from_status: str  # CREATED for a new lead
    to_status: str


def record_status_changes(
    *,
    changes: Iterable[StatusChange],
    as_of: datetime,
    source: str,
    user=None,
    api_key=None,
    import_run_id: int | None = None,
) -> int:
    """Record the changes (those whose status really differs; a creation always): their history rows, and
    first_touched_at of the leads they touch for the first time. Returns how many rows were written. Two
    queries whatever the number of changes; call it in the transaction that changed the statuses."""
    rows = [change for change in changes if change.from_status != change.to_status]
    if not rows:
        return 0
    user_id = user.pk if user is not None and user.is_authenticated else None
    api_key_id = api_key.pk if api_key is not None else None
    stamp = connection.ops.adapt_datetimefield_value(as_of)
    columns = ("lead_id", "from_status", "to_status", "changed_at", "source", "user_id", "api_key_id", "import_run_id")
    with connection.cursor() as cursor:
        sql.dialect().insert_rows(
            cursor,
            LeadStatusChange,
            columns,
            [
                (row.lead_id, row.from_status, row.to_status, stamp, source, user_id, api_key_id, import_run_id)
                for row in rows
            ],
        )
    touched = sorted({row.lead_id for row in rows if row.to_status != UNTOUCHED})
    if touched:
        # The UPDATE leaves updated_at alone (QuerySet.update): the path that changed the status stamped it.
        Lead.objects.filter(id__in=touched, first_touched_at__isnull=True).update(first_touched_at=as_of)
    return len(rows)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@contextmanager
def import_status_changes(*, cursor, staging: str, schema, now: datetime, run_id: int | None) -> Iterator[None]:
    """Around an import's upsert (imports.schema.AroundUpsert on the lead schema), a few statements whatever the
    number of rows. Before it, while the stored statuses are the old ones: a history row for each stored lead
    whose status the file changes. After it: one UPDATE gives first_touched_at to those of them that leave `new`
    for the first time (after the upsert, so that the import's before-images hold the old value, which a revert
    restores: Schema.restored; by the rows' ids, not a second join with the staging table), and a row for each
    lead the import created (the ids above the largest before it, stamped with the import's clock, as
    imports.history finds them), whose first_touched_at the INSERT wrote (FIRST_TOUCH_ON_INSERT)."""
    leads, history = _q(Lead._meta.db_table), _q(LeadStatusChange._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    same = f"t.{_q(schema.identity)} = s.{_q(schema.identity)}"
    into = f"INSERT INTO {history} (lead_id, from_status, to_status, changed_at, source, import_run_id) "
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {history}")
    rows_above = int(cursor.fetchone()[0])
    cursor.execute(
        into + f"SELECT t.id, t.status, s.status, %s, %s, %s FROM {staging} s JOIN {leads} t ON {same} "
        "WHERE s.status IS NOT NULL AND s.status <> t.status ORDER BY t.id",
        [stamp, Source.IMPORT, run_id],
    )
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {leads}")
    leads_above = int(cursor.fetchone()[0])
    yield
    cursor.execute(
        f"UPDATE {leads} SET first_touched_at = %s WHERE first_touched_at IS NULL AND id IN "
        f"(SELECT h.lead_id FROM {history} h WHERE h.id > %s AND h.to_status <> %s AND h.changed_at = %s "
        "AND h.source = %s)",
        [stamp, rows_above, UNTOUCHED, stamp, Source.IMPORT],
    )
    cursor.execute(
        into + f"SELECT t.id, %s, t.status, %s, %s, %s FROM {leads} t WHERE t.id > %s AND t.added_at = %s "
        "ORDER BY t.id",
        [CREATED, stamp, Source.IMPORT, run_id, leads_above, stamp],
    )


def revert_status_changes(*, cursor, schema, run_id: int, before_columns, restoring: str, as_of: datetime) -> None:
    """Before a revert restores the leads an import updated (imports.schema.BeforeRestore on the lead schema): a
    history row (source `revert`, the run) for each lead whose status it puts back, in one INSERT ... SELECT."""
    names = [name for name, _ in before_columns]
    if "status" not in names:
        return
    leads, history = _q(Lead._meta.db_table), _q(LeadStatusChange._meta.db_table)
    old = sql.dialect().json_element(f"b.{_q('before')}", names.index("status"), "text")
    cursor.execute(
        f"INSERT INTO {history} (lead_id, from_status, to_status, changed_at, source, import_run_id) "
        f"SELECT t.id, t.status, {old}, %s, %s, %s FROM {restoring} b JOIN {leads} t ON t.id = b.record_id "
        f"WHERE {old} IS NOT NULL AND {old} <> t.status ORDER BY t.id",
        [connection.ops.adapt_datetimefield_value(as_of), Source.REVERT, run_id],
    )
