"""Set-based loading of cleaned rows: a staging table, then one UPDATE and one INSERT ... SELECT in SQL.

Every import path (the commands, the admin) goes through `load_file` with the schema of the model it loads
(imports.schema): the file is cleaned chunk by chunk (imports.pipeline), each chunk is bulk-copied into a
temporary staging table (COPY on PostgreSQL, executemany on SQLite, multi-row INSERTs on MariaDB), rows sharing
an identity (an email) are merged, and the counts of created/updated/unchanged rows are computed in SQL before
the upsert. One transaction per file: a crash, Ctrl-C or a dry run leaves the database as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

from core import clock, sql
from imports import history
from imports.export_safety import FORMULA_STARTS, neutralize_formula
from imports.pipeline import read_clean
from imports.reading import DEFAULT_CHUNK_ROWS, RefusedFile, SourceFile
from imports.rows import merge_duplicates
from imports.schema import Schema
from imports.values import STRING


@dataclass(frozen=True)
class Column:
    """A staged column: a schema's field or key."""

    name: str
    kind: str  # text, datetime, bool, int, decimal
    stored: bool = True  # a column of the target table (else only staged, for a Schema.after_upsert step)
    nullable: bool = True  # whether the target column accepts NULL
    default: object = None  # stored for a new record when the file leaves it empty
    compare: bool = True  # a difference makes the record "updated"


def staged_columns(schema: Schema) -> tuple[Column, ...]:
    fields = [
        Column(f.name, f.sql_type, f.stored, f.nullable, f.default, compare=f.stored and f.name != schema.identity)
        for f in schema.fields
    ]
    keys = [Column(k.name, "text", nullable=False, default=k.default, compare=False) for k in schema.keys]
    return (*fields, *keys)


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged_duplicates: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    delimiter: str = ","  # the file's: the rejects file is written with it
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    samples: dict[str, list[dict]] = field(default_factory=dict, repr=False)
    merged: list[dict] = field(default_factory=list, repr=False)  # what merging kept and dropped, first identities
    identity: str = "email"  # the field that identifies a record: the key of each `merged` item naming it

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged_duplicates": self.merged_duplicates,
            "rejected": self.rejected,
            "rejects_file": self.rejects_file,
            "ignored_columns": self.ignored_columns,
            "dry_run": self.dry_run,
        }

    def write_rejects(self, path: str | Path) -> str:
        """Write the rejected rows (original columns, `line`, `reason`) as CSV; create the folder."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        rejects_csv(self.rejects, path, delimiter=self.delimiter)
        self.rejects_file = str(path)
        return self.rejects_file


def rejects_csv(rejects: pd.DataFrame, out, *, delimiter: str = ",") -> None:
    """UTF-8 with a BOM (Excel then reads accents right) in the file's delimiter: fixed, it re-imports as is."""
    frame = rejects.reset_index()
    if "line" not in frame:
        frame["line"] = pd.Series(dtype="int64")
    if "reason" not in frame:
        frame["reason"] = pd.Series(dtype="string")
    columns = [c for c in frame.columns if c not in ("line", "reason")] + ["line", "reason"]
    frame = frame[columns].copy()
    # Cells a spreadsheet would run as formulas get a leading ' as in the export (the header row included).
    for column in [*columns[:-2], "reason"]:
        text = frame[column].astype(STRING)
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            frame[column] = text.where(~risky, text[risky].map(neutralize_formula))
    frame = frame.rename(columns=neutralize_formula)
    frame.to_csv(out, index=False, sep=delimiter, encoding="utf-8-sig")


# ---------------------------------------------------------------------------------------------------------
# SQL (what differs per engine: core.sql)


def _differs(column: Column, new: str, old: str) -> str:
    """SQL true when the staged value is present and differs from the stored one."""
    a, b = f"{new}.{column.name}", f"{old}.{column.name}"
    if column.kind == "text":
        a, b = sql.dialect().exact(a), sql.dialect().exact(b)
    stored_null = f"{old}.{column.name} IS NULL OR " if column.nullable else ""
    return f"({new}.{column.name} IS NOT NULL AND ({stored_null}{a} <> {b}))"


def _changed(staging: Staging, new: str = "s", old: str = "t") -> str:
    return " OR ".join(_differs(c, new, old) for c in staging.staged if c.compare)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


class Staging:
    """A temporary table holding the cleaned rows of one file."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.staged = staged_columns(schema)
        self.dialect = sql.dialect()
        self.name = f"crm_stage_{uuid.uuid4().hex[:12]}"
        self.columns = [Column("line", "int", compare=False), *self.staged]

    def create(self) -> None:
        # Staged text compares the way the stored identities do (MariaDB: the column's collation).
        collation = self.dialect.column_collation(self.schema.table, self.schema.identity)
        defs = ", ".join(
            [f"line {self.dialect.row_number_type()}"]
            + [f"{c.name} {self.dialect.column_type(c.kind, collation)}" for c in self.staged]
        )
        with connection.cursor() as cursor:
            self.dialect.create_temporary_table(cursor, self.name, defs)

    def drop(self) -> None:
        with connection.cursor() as cursor:
            self.dialect.drop_temporary_table(cursor, self.name)

    # Values in the form each driver binds fastest and compares exactly like the stored ones.
    def _prepared(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"line": frame.index.to_numpy(dtype=np.int64)})
        for column in self.staged:
            values = frame[column.name].reset_index(drop=True)
            if column.kind == "datetime":
                values = self.dialect.datetime_text(values)
            out[column.name] = values
        return out

    def insert(self, frame: pd.DataFrame, batch_size: int) -> None:
        if frame.empty:
            return
        with connection.cursor() as cursor:
            self.dialect.copy_frame(cursor, self.name, self._prepared(frame), batch_size)

    def fetch(self, where: str, params=()) -> pd.DataFrame:
        names = [c.name for c in self.columns]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(names)} FROM {self.name} s WHERE {where}", params)
            rows = cursor.fetchall()
        return pd.DataFrame(rows, columns=names, dtype=object).set_index("line")

    def delete(self, where: str, params=()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.name} WHERE {where}", params)

    def insert_objects(self, frame: pd.DataFrame) -> None:
        """Re-insert rows already in the staged form (after merging duplicates)."""
        if frame.empty:
            return
        names = [c.name for c in self.columns]
        data = frame.reset_index()[names]
        rows = [tuple(None if _is_missing(v) else v for v in row) for row in data.itertuples(index=False)]
        with connection.cursor() as cursor:
            cursor.cursor.executemany(
                f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})", rows
            )


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


# ---------------------------------------------------------------------------------------------------------
# The load


def _scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _merge_duplicates(
    staging: Staging, lines: np.ndarray, hashes: np.ndarray, sample_size: int = 0
) -> tuple[int, list[dict]]:
    """Merge rows sharing an identity (later non-empty values win); return how many rows were merged away and,
    for the first `sample_size` merged identities, what the merge kept and dropped (`_merge_report`).

    `lines` and `hashes` hold every staged row's line and the hash of its identity (16 bytes a row, where the
    identities themselves would hold the whole column in memory): the rows whose hash repeats are fetched by line
    (SQLite's staging rowid), those whose identity repeats (two identities may share a hash) are deleted, merged
    by the cleaning rules and staged again.
    """
    candidates = lines[pd.Series(hashes).duplicated(keep=False).to_numpy(dtype=bool)]
    if len(candidates) == 0:
        return 0, []
    identity = staging.schema.identity
    with _marked_lines(staging, pd.Index(candidates)) as marked:
        rows = staging.fetch(f"s.line IN {marked}")
    rows = rows[rows[identity].duplicated(keep=False).to_numpy(dtype=bool)]
    if rows.empty:
        return 0, []
    merged_away = int(rows[identity].duplicated().sum())
    with _marked_lines(staging, rows.index) as marked:
        staging.delete(f"line IN {marked}")
    rows = rows.map(lambda v: None if _is_missing(v) else v)
    merged = merge_duplicates(rows, identity)
    staging.insert_objects(merged)
    fields = [name for name in staging.schema.shown if name != identity]
    return merged_away, _merge_report(rows, merged, identity, fields, sample_size) if sample_size else []


@contextmanager
def _marked_lines(staging: Staging, lines: pd.Index):
    """A temporary table of the lines, for the time of the block: yields the subquery `(SELECT line FROM ...)`
    naming them, so that one statement fetches or deletes them all (one pass over the staging table, whatever
    the number of lines)."""
    marker = f"{staging.name}_lines"
    rows = [(int(n),) for n in lines.unique()]
    with connection.cursor() as cursor:
        staging.dialect.create_temporary_table(cursor, marker, "line BIGINT PRIMARY KEY")
        staging.dialect.copy_rows(cursor, marker, ["line"], rows, batch_size=max(len(rows), 1))
    yield f"(SELECT line FROM {marker})"
    with connection.cursor() as cursor:  # not after an error: the transaction rolls back and drops it anyway
        staging.dialect.drop_temporary_table(cursor, marker, if_exists=False)


def _merge_report(rows: pd.DataFrame, merged: pd.DataFrame, identity: str, fields: list[str], size: int) -> list[dict]:
    """For the first `size` merged identities (by first line): their lines and each field whose non-empty values
    differed, with the value kept and its line and the values dropped and their lines.

    `rows` are the duplicated rows by line, `merged` their merged records (indexed by each identity's first line).
    """
    shown = merged.sort_index().head(size)
    sample = rows[rows[identity].isin(shown[identity])].reset_index()
    cells = sample.melt(id_vars=["line", identity], value_vars=fields, var_name="field").dropna(subset=["value"])
    kept = shown.melt(id_vars=[identity], value_vars=fields, var_name="field", value_name="kept")
    cells = cells.merge(kept, on=[identity, "field"])
    won = cells["value"] == cells["kept"]
    kept_lines = cells[won].groupby([identity, "field"])["line"].max()
    dropped = cells[~won].groupby([identity, "field", "value"], sort=False)["line"].agg(list)
    lines = sample.groupby(identity)["line"].agg(list)
    differed: dict[tuple[str, str], list[dict]] = {}
    for (key, name, value), at in dropped.items():
        differed.setdefault((key, name), []).append({"value": value, "lines": [int(n) for n in at]})
    return [
        {
            identity: record[identity],
            "lines": [int(n) for n in lines[record[identity]]],
            "fields": [
                {
                    "field": name,
                    "kept": record[name],
                    "kept_line": int(kept_lines[(record[identity], name)]),
                    "dropped": differed[(record[identity], name)],
                }
                for name in fields
                if (record[identity], name) in differed
            ],
        }
        for record in shown.to_dict("records")
    ]


def _counts(staging: Staging) -> tuple[int, int, int]:
    schema = staging.schema
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), "
            f"COALESCE(SUM(CASE WHEN t.id IS NULL THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN t.id IS NOT NULL AND ({_changed(staging)}) THEN 1 ELSE 0 END), 0) "
            f"FROM {staging.name} s LEFT JOIN {_q(schema.table)} t ON {_same_record(schema)}"
        )
        total, created, updated = (int(v) for v in cursor.fetchone())
    return created, updated, total - created - updated


def _same_record(schema: Schema, new: str = "s", old: str = "t") -> str:
    return f"{old}.{schema.identity} = {new}.{schema.identity}"


def _samples(staging: Staging, size: int) -> dict[str, list[dict]]:
    schema = staging.schema
    table = _q(schema.table)
    cases = {
        "created": "t.id IS NULL",
        "updated": f"t.id IS NOT NULL AND ({_changed(staging)})",
        "unchanged": f"t.id IS NOT NULL AND NOT ({_changed(staging)})",
    }
    shown = schema.shown
    out = {}
    with connection.cursor() as cursor:
        for action, condition in cases.items():
            cursor.execute(
                f"SELECT s.line, {', '.join('s.' + n for n in shown)} FROM {staging.name} s "
                f"LEFT JOIN {table} t ON {_same_record(schema)} WHERE {condition} ORDER BY s.line LIMIT {int(size)}"
            )
            out[action] = [dict(zip(["line", *shown], row, strict=True)) for row in cursor.fetchall()]
    return out


def _reject_incomplete_new(staging: Staging, source: SourceFile, kept_raw: list[pd.DataFrame], identities: pd.Series):
    """A new record needs more than its identity (Field.needed_for_new: a lead a name and a created date, an agent
    a name); an existing one is updated from what the row has. Checked after merging duplicates, against the
    database: the rows of a new identity that still lacks a needed value are taken out of the staging table and
    rejected. Returns them, and how many of them had been counted as merged duplicates.

    `kept_raw` and `identities` are the rows that lack a needed value (CleanChunk.raw_incomplete), by line: every
    row of an identity still lacking one after the merge lacked it too."""
    schema = staging.schema
    needed, key = schema.needed_for_new, schema.identity
    if not needed:
        return pd.DataFrame(), 0
    lacking = " OR ".join(f"s.{name} IS NULL" for name in needed)
    flags = ", ".join(f"CASE WHEN s.{name} IS NULL THEN 1 ELSE 0 END" for name in needed)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.{key}, {flags} FROM {staging.name} s WHERE ({lacking}) AND NOT EXISTS "
            f"(SELECT 1 FROM {_q(schema.table)} t WHERE {_same_record(schema)})"
        )
        missing = {row[0]: row[1:] for row in cursor.fetchall()}
    if not missing:
        return pd.DataFrame(), 0
    marker = list(missing)
    lines = identities[identities.isin(marker)]
    # By line (every line of those identities; the staged one among them): one pass over the staging table,
    # where deleting by identity scanned it once per 500 identities (it has no index on them).
    with _marked_lines(staging, lines.index) as marked:
        staging.delete(f"line IN {marked}")
    reasons = {
        identity: ", ".join(source.column_label(name) for name, null in zip(needed, nulls, strict=True) if null)
        + f": missing ({schema.new_record_rule})"
        for identity, nulls in missing.items()
    }
    raw = pd.concat(kept_raw).loc[lines.index].copy()
    raw["reason"] = lines.map(reasons).astype(STRING)
    merged_back = len(lines) - len(marker)
    return raw, merged_back


def _upsert(staging: Staging, now: datetime, *, empty_target: bool, update: bool, insert: bool, run_id=None):
    """One UPDATE of the changed records, one INSERT ... SELECT of the new ones; with a run, its before-images
    (imports.history) first."""
    schema = staging.schema
    table = _q(schema.table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if update and not empty_target:
            if run_id is not None:
                history.record_updates(
                    cursor,
                    run_id=run_id,
                    schema=schema,
                    staging=staging.name,
                    same=_same_record(schema),
                    changed=_changed(staging),
                )
            sets = [
                (c.name, f"COALESCE(s.{c.name}, t.{c.name})")
                for c in staging.staged
                if c.stored and c.name != schema.identity
            ]
            sets += [(name, "%s") for name in schema.update_timestamps]
            cursor.execute(
                staging.dialect.update_from(
                    table, "t", staging.name, "s", _same_record(schema), sets, _changed(staging)
                ),
                [stamp] * len(schema.update_timestamps),
            )
        if not insert:
            return
        stored = [c for c in staging.staged if c.stored]
        names = [c.name for c in stored]
        values = [f"COALESCE(s.{c.name}, %s)" if c.default is not None else f"s.{c.name}" for c in stored]
        defaults = [c.default for c in stored if c.default is not None]
        for name, expression in schema.inserted:  # computed from the staged row; {now}: the import's clock
            names.append(name)
            values.append(expression.replace("{now}", "%s"))
            defaults += [stamp] * expression.count("{now}")
        missing = "" if empty_target else f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {_same_record(schema)})"
        stamps = ", ".join(["%s"] * len(schema.insert_timestamps))
        # Into an empty table, rows go in identity order: its unique index then grows at its end instead of at
        # random places, several times faster (ids follow the identities, not the file's order).
        order = f"s.{schema.identity}" if empty_target else "s.line"
        above = history.largest_id(cursor, schema) if run_id is not None else 0
        with staging.dialect.indexes_built_after(cursor, schema.table) if empty_target else nullcontext():
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(names + list(schema.insert_timestamps))}) "
                f"SELECT {', '.join(values)}, {stamps} FROM {staging.name} s {missing} ORDER BY {order}",
                [*defaults, *[stamp] * len(schema.insert_timestamps)],
            )
        if run_id is not None:
            history.record_creations(cursor, run_id=run_id, schema=schema, above=above, stamp=stamp)


def update_records(frame: pd.DataFrame, schema: Schema, now: datetime) -> None:
    """Update stored records from cleaned rows (one per identity) by the import's rule: a value present and
    different replaces the stored one, a missing one keeps it, the update timestamps become `now`. One staging
    table and one UPDATE ... FROM, in the caller's transaction (the intake API's updates)."""
    staging = Staging(schema)
    staging.create()
    staging.insert(frame, batch_size=max(len(frame), 1))
    _upsert(staging, now, empty_target=False, update=True, insert=False)
    staging.drop()


def _load_through_staging(
    chunks, source, schema, result, rejects, now, batch_size, sample_size, progress, *, empty_target, run_id
):
    # Kept for the whole file: a line and an identity hash per row, and the rows lacking a value a new record needs.
    lines: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    kept_raw: list[pd.DataFrame] = []
    incomplete: list[pd.Series] = []
    staging = Staging(schema)
    staging.create()
    for chunk in chunks:
        result.rows += len(chunk.valid) + len(chunk.rejects)
        rejects.append(chunk.rejects)
        identities = chunk.valid[schema.identity]
        lines.append(identities.index.to_numpy(dtype=np.int64))
        hashes.append(pd.util.hash_pandas_object(identities, index=False).to_numpy())
        staging.insert(chunk.valid, batch_size)
        if chunk.raw_incomplete is not None and len(chunk.raw_incomplete):
            kept_raw.append(chunk.raw_incomplete)
            incomplete.append(identities.loc[chunk.raw_incomplete.index])
        if progress:
            progress(result.rows)
    result.merged_duplicates, result.merged = _merge_duplicates(
        staging, _joined(lines, np.int64), _joined(hashes, np.uint64), sample_size
    )
    late, merged_back = _reject_incomplete_new(
        staging, source, kept_raw, pd.concat(incomplete) if incomplete else pd.Series(dtype=STRING)
    )
    if len(late):
        rejects.append(late)
        result.merged_duplicates -= merged_back
    if empty_target:  # every record is new: nothing to compare
        result.created = _scalar(f"SELECT COUNT(*) FROM {staging.name}")
    else:
        result.created, result.updated, result.unchanged = _counts(staging)
    if sample_size:
        result.samples = _samples(staging, sample_size)
    unchanged = _unchanged_identities(staging) if schema.after_upsert and result.unchanged else set()
    if result.created or result.updated:
        with _around_upsert(staging, now, run_id):
            _upsert(
                staging,
                now,
                empty_target=empty_target,
                update=bool(result.updated),
                insert=bool(result.created),
                run_id=run_id,
            )
    if schema.after_upsert:
        _after_upsert(staging, now, result, unchanged)
    staging.drop()


def _joined(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


@contextmanager
def _around_upsert(staging: Staging, now: datetime, run_id):
    """The schema's around-upsert steps (imports.schema.AroundUpsert), entered in order, left in reverse."""
    with connection.cursor() as cursor, ExitStack() as steps:
        for path in staging.schema.around_upsert:
            step = import_string(path)
            steps.enter_context(
                step(cursor=cursor, staging=staging.name, schema=staging.schema, now=now, run_id=run_id)
            )
        yield


def _unchanged_identities(staging: Staging) -> set:
    """The identities of the stored records whose columns the file does not change (before the upsert)."""
    schema = staging.schema
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.{schema.identity} FROM {staging.name} s JOIN {_q(schema.table)} t ON {_same_record(schema)} "
            f"WHERE NOT ({_changed(staging)})"
        )
        return {row[0] for row in cursor.fetchall()}


def _after_upsert(staging: Staging, now: datetime, result: ImportResult, unchanged: set) -> None:
    """Run the schema's after-upsert steps; a record they changed that its columns left unchanged counts as
    updated, and gets the import's update timestamps."""
    schema = staging.schema
    changed: set = set()
    with connection.cursor() as cursor:
        for path in schema.after_upsert:
            changed |= import_string(path)(cursor=cursor, staging=staging.name, schema=schema)
        moved = sorted(changed & unchanged)
        result.updated += len(moved)
        result.unchanged -= len(moved)
        if moved and schema.update_timestamps:
            stamp = connection.ops.adapt_datetimefield_value(now)
            sets = ", ".join(f"{_q(name)} = %s" for name in schema.update_timestamps)
            for start in range(0, len(moved), 500):
                part = moved[start : start + 500]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"UPDATE {_q(schema.table)} SET {sets} WHERE {_q(schema.identity)} IN ({marks})",
                    [stamp] * len(schema.update_timestamps) + part,
                )


def _refresh_statistics_after_commit(result: ImportResult, schema: Schema) -> None:
    """Once the import's transaction commits (MariaDB's ANALYZE TABLE would commit it), ANALYZE the target table
    when the import wrote a large share of it (core.sql.ANALYZE_AT_ROWS and ANALYZE_AT_SHARE): after a million
    new leads the old statistics make the planner pick plans that take seconds instead of milliseconds."""
    written = result.created + result.updated
    if written < sql.ANALYZE_AT_ROWS:
        return
    if written < sql.ANALYZE_AT_SHARE * _scalar(f"SELECT COUNT(*) FROM {_q(schema.table)}"):
        return
    sql.analyze_after_commit(_q(schema.table))


def load_file(
    path: str | Path,
    schema: Schema,
    *,
    dry_run: bool = False,
    dayfirst: bool = False,
    batch_size: int = DEFAULT_CHUNK_ROWS,
    rejects_path: str | Path | None = None,
    sample_size: int = 0,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    run=None,
) -> ImportResult:
    """Clean and load one file in one transaction. Raises RefusedFile before writing anything.

    `run` (an imports.models.ImportRun, saved): keep its before-images for a revert (imports.history); a dry run
    keeps none."""
    now = now or clock.now()
    if batch_size < 1:
        raise RefusedFile(f"--batch-size must be 1 or more, not {batch_size}.")
    source, chunks = read_clean(
        path, schema, now=now, dayfirst=dayfirst, time_zone=settings.TIME_ZONE, chunk_rows=batch_size
    )
    result = ImportResult(
        ignored_columns=list(source.ignored_columns),
        dry_run=dry_run,
        delimiter=source.delimiter,
        identity=schema.identity,
    )
    rejects: list[pd.DataFrame] = []
    with sql.locked(f"import:{schema.kind}"):  # imports of one kind queue behind each other
        empty_target = not _scalar(f"SELECT EXISTS (SELECT 1 FROM {_q(schema.table)})")
        _load_through_staging(
            chunks,
            source,
            schema,
            result,
            rejects,
            now,
            batch_size,
            sample_size,
            progress,
            empty_target=empty_target,
            run_id=run.pk if run is not None and not dry_run else None,
        )
        if dry_run:
            transaction.set_rollback(True)
        else:
            _refresh_statistics_after_commit(result, schema)
    frames = [r for r in rejects if len(r)]
    result.rejects = (
        pd.concat(frames).sort_index()
        if frames
        else pd.DataFrame(columns=[*source.headers, "reason"], index=pd.Index([], name="line", dtype="int64"))
    )
    result.rejected = len(result.rejects)
    if rejects_path:
        result.write_rejects(rejects_path)
    return result
