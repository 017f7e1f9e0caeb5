"""Before-images: what an import run created, and the stored values it overwrote, kept for a revert.

Written inside the import's transaction, set-based from its staging table (one INSERT ... SELECT each, never a
query per row): before the UPDATE, the records about to change with their stored values (core.sql's json_array
of the columns the UPDATE writes, timestamps included, in the order of before_columns, which the run records);
after the INSERT, the records it created (the ids above the largest before it, stamped with its clock). A dry
run records nothing.
"""

from __future__ import annotations

from django.db import connection

from core import sql
from imports.models import ImportChange
from imports.schema import Schema


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def before_columns(schema: Schema) -> list[tuple[str, str]]:
    """(column, kind) of every column an import's UPDATE writes, and those its around-upsert steps write
    (Schema.restored): what a revert restores."""
    columns = [(f.name, f.sql_type) for f in schema.stored if f.name != schema.identity]
    columns += [(k.name, "text") for k in schema.keys]
    columns += [(name, "datetime") for name in schema.update_timestamps]
    columns += list(schema.restored)
    return columns


def _insert_into_changes() -> str:
    names = ", ".join(_q(n) for n in ("run_id", "record_id", "identity", "action", "before"))
    return f"INSERT INTO {_q(ImportChange._meta.db_table)} ({names}) "


def record_updates(cursor, *, run_id: int, schema: Schema, staging: str, same: str, changed: str) -> None:
    """Before the UPDATE: each record about to change (`changed`, staging `s` joined to the table `t` on
    `same`), with the stored values it is about to lose, in the order of the run's before_columns. (In the order
    of the records' ids: the changes' index on the record grows at its end.)"""
    document = sql.dialect().json_array([f"t.{_q(name)}" for name, _ in before_columns(schema)])
    cursor.execute(
        _insert_into_changes() + f"SELECT %s, t.{_q(schema.pk)}, t.{_q(schema.identity)}, %s, {document} "
        f"FROM {staging} s JOIN {_q(schema.table)} t ON {same} WHERE {changed} ORDER BY t.{_q(schema.pk)}",
        [run_id, ImportChange.Action.UPDATED],
    )


def largest_id(cursor, schema: Schema) -> int:
    cursor.execute(f"SELECT COALESCE(MAX({_q(schema.pk)}), 0) FROM {_q(schema.table)}")
    return int(cursor.fetchone()[0])


def record_creations(cursor, *, run_id: int, schema: Schema, above: int, stamp) -> None:
    """After the INSERT: the records it created, read by a range of the primary key: ids above `above` (the
    largest before it) stamped with the import's clock. (Another writer's record inserted meanwhile, where the
    engine allows it, bears its own clock; and a revert keeps any record whose timestamps are not the run's.)"""
    stamped = "".join(f" AND t.{_q(name)} = %s" for name in schema.insert_timestamps)
    cursor.execute(
        _insert_into_changes() + f"SELECT %s, t.{_q(schema.pk)}, t.{_q(schema.identity)}, %s, NULL "
        f"FROM {_q(schema.table)} t WHERE t.{_q(schema.pk)} > %s{stamped}",
        [run_id, ImportChange.Action.CREATED, above, *[stamp] * len(schema.insert_timestamps)],
    )
