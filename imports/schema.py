"""What an app declares to import one of its models; the engine (reading, rows, loading) reads nothing else.

A schema lists the model's imported fields (`Field`: the headers it is read from, its cleaner, whether every row
or only a new record needs it, whether the preview shows it) and the look-up keys derived from them (`Key`).
`Schema.for_model` reads the rest from the model's `_meta`: the table, each column's type, longest value,
nullability and default, and the timestamps set on insert and update. Adding a column to an import is then a
model field, its migration and one `Field`.

A schema is plain data (cleaners and key functions are picklable by reference), so it travels to the cleaning
process with the file.

The registry (imports.registry, re-exported here): an app declares where its schema lives in its AppConfig.ready()
and registers it where it defines it (`register(LEAD_SCHEMA)` in leads/importing.py); the engine finds a schema
by kind (`schema_for("lead")`: a job, a revert) without importing any app.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import pandas as pd
from django.db.models import Value
from django.db.models.expressions import DatabaseDefault

from imports.registry import register, schema_for
from imports.values import Cleaner, Text

AS_WRITTEN = Text()  # the cleaner of a text field kept as written (trimmed)


@dataclass(frozen=True)
class Field:
    """One model field, filled from one column of the file (or, lacking it, from `parts` joined by a space)."""

    name: str
    headers: tuple[str, ...]  # the headers it is read from, compared ignoring case, spaces, hyphens, underscores
    cleaner: Cleaner = AS_WRITTEN
    required: str | None = None  # every row must have it; the rule cited when one lacks it
    needed_for_new: bool = False  # a new record must have it (Schema.new_record_rule); an update need not
    shown: bool = True  # in the preview's sample rows
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (what it is, its headers): e.g. first name, last name
    # False: not a column of the table (a many-to-many): cleaned and staged like the others, never compared or
    # upserted; a step of Schema.after_upsert writes it. Its max_length is the Field's own (a staged text).
    stored: bool = True
    # Read from the model (Schema.for_model):
    max_length: int | None = None
    sql_type: str = "text"  # text, datetime, bool, int, decimal
    nullable: bool = True
    default: object = None  # stored for a new record whose row leaves it empty


@dataclass(frozen=True)
class Key:
    """A look-up column derived after cleaning from another field (`derive` is vectorized); a missing source
    value leaves the stored key as it is, like the stored value. Never shown, never a reason to update."""

    name: str
    source: str
    derive: Callable[[pd.Series], pd.Series]
    max_length: int | None = None
    default: object = ""
    # `derive` for one value, in plain Python (imports.records.clean_few); None: `derive` over a column of one.
    derive_one: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Schema:
    kind: str  # names the import in locks and messages ("lead", "agent")
    table: str
    identity: str  # the field whose value identifies a record: rows and records with the same one are one
    fields: tuple[Field, ...]
    keys: tuple[Key, ...] = ()
    new_record_rule: str = ""  # cited when a row for a new record lacks a field `needed_for_new`
    insert_timestamps: tuple[str, ...] = ()  # set to the import's clock on insert
    update_timestamps: tuple[str, ...] = ()  # and on update
    model: str = ""  # the model's label (app_label.ModelName): a revert deletes through it
    pk: str = "id"  # the primary key's column
    # Steps run in the import's transaction after the upsert (a dry run's too, rolled back with it), as dotted
    # paths (the schema stays plain data): see AfterUpsert.
    after_upsert: tuple[str, ...] = ()
    # Steps wrapping the upsert, when it writes anything (a dry run's too): see AroundUpsert.
    around_upsert: tuple[str, ...] = ()
    # (column, kind) of more columns kept in an updated record's before-image and restored by a revert: those the
    # schema's own steps write (inserted, around_upsert; imports.history.before_columns).
    restored: tuple[tuple[str, str], ...] = ()
    # (column, SQL expression) of more columns the import's INSERT fills, computed from the staged row `s` (its
    # defaults not applied: COALESCE them) where `{now}` stands for the import's clock; no % signs.
    inserted: tuple[tuple[str, str], ...] = ()
    # Steps run by a revert just before it restores the updated records: see BeforeRestore.
    before_restore: tuple[str, ...] = ()

    @classmethod
    def for_model(
        cls,
        model,
        *,
        kind: str,
        identity: str,
        fields,
        keys=(),
        new_record_rule: str = "",
        after_upsert=(),
        around_upsert=(),
        stamped=(),
        restored=(),
        before_restore=(),
        inserted=(),
    ) -> Schema:
        """`stamped`: more fields than the auto_now ones set to the import's clock on every record it creates or
        updates (like updated_at, and restored by a revert like it). `restored`: fields the import's own steps
        write (`inserted`, `around_upsert`) that a revert restores. `inserted`: (field, SQL expression) pairs,
        see Schema.inserted."""
        meta = model._meta

        def column(field: Field) -> Field:
            if not field.stored:
                return dataclasses.replace(field, sql_type="text", nullable=True, default=None)
            model_field = meta.get_field(field.name)
            return dataclasses.replace(
                field,
                max_length=model_field.max_length if _sql_type(model_field) == "text" else None,
                sql_type=_sql_type(model_field),
                nullable=model_field.null,
                default=None if model_field.null else _default(model_field),
            )

        def key(key: Key) -> Key:
            model_field = meta.get_field(key.name)
            return dataclasses.replace(key, max_length=model_field.max_length, default=_default(model_field))

        extra = [meta.get_field(name) for name in stamped]
        stamped = [
            f for f in meta.concrete_fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        return cls(
            kind=kind,
            table=meta.db_table,
            identity=identity,
            fields=tuple(column(f) for f in fields),
            keys=tuple(key(k) for k in keys),
            new_record_rule=new_record_rule,
            insert_timestamps=tuple(f.column for f in [*stamped, *extra]),
            update_timestamps=tuple(f.column for f in [*(f for f in stamped if f.auto_now), *extra]),
            model=meta.label,
            pk=meta.pk.column,
            after_upsert=tuple(after_upsert),
            around_upsert=tuple(around_upsert),
            restored=tuple((meta.get_field(n).column, _sql_type(meta.get_field(n))) for n in restored),
            before_restore=tuple(before_restore),
            inserted=tuple((meta.get_field(name).column, expression) for name, expression in inserted),
        )

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def stored(self) -> tuple[Field, ...]:
        """The fields that are columns of the table."""
        return tuple(f for f in self.fields if f.stored)

    @property
    def needed_for_new(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.needed_for_new)

    @property
    def shown(self) -> list[str]:
        """The columns a person reads in a preview, in the schema's order."""
        return [f.name for f in self.fields if f.shown]


class AfterUpsert(Protocol):
    """A step of Schema.after_upsert: `step(cursor=..., staging=..., schema=...)`, called once per import after the
    upsert, in its transaction, with the staging table's name (its rows: one per record, merged, with every field,
    `Field(stored=False)` ones included). It writes set-based what is not a column of the table (a record's
    many-to-many) and returns the identities of the records whose stored data it changed, so that a record
    changed only there counts as updated (and gets the import's update timestamps). It must reference the
    staging table once per statement (MariaDB cannot reopen a temporary table within one)."""

    def __call__(self, *, cursor, staging: str, schema: Schema) -> set: ...


class AroundUpsert(Protocol):
    """A step of Schema.around_upsert: a context manager, `step(cursor=..., staging=..., schema=..., now=...,
    run_id=...)`, entered just before the upsert (when the import creates or updates any record) and left just
    after it, in the import's transaction. Before, it sees the stored records as they were (what the upsert is
    about to overwrite); after, as the file left them. `now` is the import's clock (the timestamps it writes),
    `run_id` its ImportRun's id (None for a dry run or an import without a run). It writes set-based, a few
    statements whatever the number of rows (an app's audit of what the import changed), and must reference the
    staging table once per statement (see AfterUpsert)."""

    def __call__(self, *, cursor, staging: str, schema: Schema, now, run_id: int | None): ...


class BeforeRestore(Protocol):
    """A step of Schema.before_restore: `step(cursor=..., schema=..., run_id=..., before_columns=...,
    restoring=..., as_of=...)`, called by a revert (imports.reverting) in its transaction just before it restores
    the records the run updated, when there are any. `restoring` is an SQL subquery of those records,
    `(record_id, before)`: `before` their before-image, a JSON array in the order of `before_columns` ((column,
    kind) pairs; read an element with core.sql's json_element). `as_of` is the revert's moment. It writes
    set-based (an app's audit of what the revert puts back)."""

    def __call__(self, *, cursor, schema: Schema, run_id: int, before_columns, restoring: str, as_of): ...


_SQL_TYPES = {
    "CharField": "text",
    "EmailField": "text",
    "TextField": "text",
    "SlugField": "text",
    "DateTimeField": "datetime",
    "BooleanField": "bool",
    "IntegerField": "int",
    "PositiveIntegerField": "int",
    "PositiveSmallIntegerField": "int",
    "SmallIntegerField": "int",
    "BigIntegerField": "int",
    "DecimalField": "decimal",
}


def _sql_type(model_field) -> str:
    internal = model_field.get_internal_type()
    if internal not in _SQL_TYPES:
        raise TypeError(f"{model_field}: an import cannot load a {internal}")
    return _SQL_TYPES[internal]


def _default(model_field):
    """A field's default as plain data (a choice's value, not its enum member; a database default's value): the
    schema is unpickled where Django is not set up."""
    value = model_field.get_default()
    if isinstance(value, DatabaseDefault):
        value = model_field.db_default
        value = value.value if isinstance(value, Value) else value
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Decimal):
        value = str(value)
    if value is not None and not isinstance(value, str | int | float | bool):
        raise TypeError(f"{model_field}: an import cannot store the default {value!r}")
    return value


__all__ = [
    "AS_WRITTEN",
    "AfterUpsert",
    "AroundUpsert",
    "BeforeRestore",
    "Field",
    "Key",
    "Schema",
    "register",
    "schema_for",
]
