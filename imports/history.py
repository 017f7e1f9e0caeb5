"""Before-images: what an import run created, and the stored values it overwrote, kept for a revert.

Written inside the import's transaction, set-based from its staging table (one INSERT ... SELECT each, never a
query per row): before the UPDATE, the records about to change with their stored values as a JSON object
(core.sql's json_object: the columns the UPDATE writes, timestamps included); after the INSERT, the records it
created (joined on the identity, with ids above the largest id before it). A dry run records nothing.
"""

from __future__ import annotations

from django.db import connection

from core import sql
from imports.models import ImportChange
from imports.schema import Schema


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def before_columns(schema: Schema) -> list[tuple[str, str]]:
    """(column, kind) of every column an import's UPDATE writes: what a revert restores."""
    columns = [(f.name, f.sql_type) for f in schema.fields if f.name != schema.identity]
    columns += [(k.name, "text") for k in schema.keys]
    columns += [(name, "datetime") for name in schema.update_timestamps]
    return columns


def _insert_into_changes() -> str:
    names = ", ".join(_q(n) for n in ("run_id", "record_id", "identity", "action", "before"))
    return f"INSERT INTO {_q(ImportChange._meta.db_table)} ({names}) "


def record_updates(cursor, *, run_id: int, schema: Schema, staging: str, same: str, changed: str) -> None:
    """Before the UPDATE: each record about to change (`changed`, staging `s` joined to the table `t` on
    `same`), with the stored values it is about to lose."""
    document = sql.dialect().json_object([(name, f"t.{_q(name)}") for name, _ in before_columns(schema)])
    cursor.execute(
        _insert_into_changes() + f"SELECT %s, t.{_q(schema.pk)}, t.{_q(schema.identity)}, %s, {document} "
        f"FROM {staging} s JOIN {_q(schema.table)} t ON {same} WHERE {changed}",
        [run_id, ImportChange.Action.UPDATED],
    )


def largest_id(cursor, schema: Schema) -> int:
    cursor.execute(f"SELECT COALESCE(MAX({_q(schema.pk)}), 0) FROM {_q(schema.table)}")
    return int(cursor.fetchone()[0])


def record_creations(cursor, *, run_id: int, schema: Schema, staging: str, same: str, above: int) -> None:
    """After the INSERT: the records it created (ids above `above`, the largest before it)."""
    cursor.execute(
        _insert_into_changes() + f"SELECT %s, t.{_q(schema.pk)}, t.{_q(schema.identity)}, %s, NULL "
        f"FROM {staging} s JOIN {_q(schema.table)} t ON {same} WHERE t.{_q(schema.pk)} > %s",
        [run_id, ImportChange.Action.CREATED, above],
    )
