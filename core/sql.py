"""Per-engine SQL and the named locks: what differs between SQLite, PostgreSQL and MariaDB/MySQL, in one place.

Like Django's database backends (`django/db/backends/*/operations.py`): one small class per engine, each method
one thing that differs; callers ask `dialect()` for the current connection's and never test the vendor
themselves. Used by the set-based loading (imports/loading.py) and the assignment (leads/assignment.py).

Locks. `dialect().locked(key)` runs a block in a transaction that holds the named lock `key` (a key of LOCKS)
from its start until it ends (commit or rollback): a PostgreSQL transaction-scoped advisory lock, a MariaDB
named lock (GET_LOCK, which waits as long as MariaDB waits for any lock, `innodb_lock_wait_timeout`), SQLite's
one write lock (every transaction is BEGIN IMMEDIATE, crm/env.py). A lock that cannot be had in time raises
LockTimeout, which is_lock_timeout() recognizes like every other lock wait that timed out.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import OperationalError, connection, transaction

if TYPE_CHECKING:  # pandas and pyarrow load only when a frame is written, not at start-up
    import pandas as pd


@dataclass(frozen=True)
class NamedLock:
    name: str  # MariaDB/MySQL: the GET_LOCK name (after the database name: GET_LOCK names are server-wide)
    number: int  # PostgreSQL: the advisory lock key


# Every lock that serializes writers, by key. Imports of one kind queue behind each other; assignment runs
# (commands and admin actions) queue behind each other.
LOCKS = {
    "import:lead": NamedLock("crm-import-leads_lead", zlib.crc32(b"leads_lead")),
    "import:agent": NamedLock("crm-import-agents_agent", zlib.crc32(b"agents_agent")),
    "assignment": NamedLock("crm-assignment", 5_170_001),
}


@dataclass(frozen=True)
class CountedRows:
    """Counters of a table's rows per group, kept by triggers on that table (count_triggers).

    `table` holds one row per value of `source.group` (its primary key `key`) that ever counted a row, missing
    meaning zeros: for each (counter column, values) of `counts`, how many rows of `source` with that group have
    `column` in `values`. Rows whose group is NULL count nowhere, so inserting them fires no trigger work.
    """

    name: str  # prefix of the triggers' (and PostgreSQL's function's) names
    source: str
    group: str
    column: str
    table: str
    key: str
    counts: tuple[tuple[str, tuple[str, ...]], ...]

    def contribution(self, row: str, values: tuple[str, ...], sign: str = "") -> str:
        """SQL: 1 (or -1) when `row`'s column (OLD or NEW) is one of `values`, else 0."""
        listed = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
        return f"{sign}(CASE WHEN {row}.{self.column} IN ({listed}) THEN 1 ELSE 0 END)"

    def trigger_names(self) -> tuple[str, str, str]:
        return f"{self.name}_insert", f"{self.name}_update", f"{self.name}_delete"


class LockTimeout(OperationalError):
    """Another transaction held the named lock longer than the database waits: nothing was written."""


class Dialect:
    """SQLite's SQL unless an engine overrides it; PostgreSQL shares most of it (UPDATE ... FROM, TEXT)."""

    vendor = ""
    # Temporary tables that the end of the transaction drops: they can only be filled inside it.
    temporary_tables_end_with_transaction = False
    # The collation under which text compares exactly (None: it does by default), and the engine's default one.
    exact_collation: str | None = None
    default_collation: str | None = None

    # -- Tables and types ---------------------------------------------------------------------------------

    def column_type(self, kind: str, collation: str | None = None) -> str:
        """The SQL type of a staged column of this kind (text, datetime, bool, int, decimal)."""
        return {"text": "TEXT", "datetime": "TEXT", "bool": "BOOL", "decimal": "NUMERIC"}.get(kind, "BIGINT")

    def row_number_type(self) -> str:
        """The type of a staging table's line number column."""
        return "BIGINT"

    def column_collation(self, table: str, column: str) -> str | None:
        """The collation a text column compares with (where a staged copy must compare the same way)."""
        return None

    def create_temporary_table(self, cursor, name: str, columns: str) -> None:
        cursor.execute(f"CREATE TEMP TABLE {name} ({columns})")

    def drop_temporary_table(self, cursor, name: str, *, if_exists: bool = True) -> None:
        cursor.execute(f"DROP TABLE {'IF EXISTS ' if if_exists else ''}{name}")

    def analyze(self, cursor, table: str) -> None:
        """Give the planner a freshly filled temporary table's size (where it needs to be told)."""

    def max_query_params(self) -> int:
        """How many parameters one statement may bind (PostgreSQL's and MariaDB's protocol limit)."""
        return 65_535

    def analyze_table(self, cursor, table: str) -> None:
        """Refresh a table's planner statistics after a bulk change (run outside any transaction: MariaDB's
        ANALYZE TABLE commits). SQLite: ANALYZE samples at most analysis_limit rows per index, so it stays cheap
        at a million rows and still tells the planner how selective each index is."""
        cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute(f"ANALYZE {table}")

    # -- Counters kept by triggers ------------------------------------------------------------------------

    def count_triggers(self, spec: CountedRows) -> list[str]:
        """The statements that create the triggers keeping spec.table's counters (see CountedRows).

        SQLite: one trigger per event, a WHEN clause so that rows without a group (and, on update, rows whose
        group and column did not change) cost nothing, an UPDATE that subtracts the old row's contribution and
        an upsert that adds the new one's."""
        insert, update, delete = spec.trigger_names()
        changed = (
            f"(OLD.{spec.column} IS NOT NEW.{spec.column} OR OLD.{spec.group} IS NOT NEW.{spec.group}) "
            f"AND (OLD.{spec.group} IS NOT NULL OR NEW.{spec.group} IS NOT NULL)"
        )
        return [
            f"CREATE TRIGGER {insert} AFTER INSERT ON {spec.source} WHEN NEW.{spec.group} IS NOT NULL "
            f"BEGIN {self._count_upsert(spec, 'NEW', '')} END",
            f"CREATE TRIGGER {update} AFTER UPDATE OF {spec.column}, {spec.group} ON {spec.source} WHEN {changed} "
            f"BEGIN {self._count_subtract(spec)} {self._count_upsert(spec, 'NEW', '')} END",
            f"CREATE TRIGGER {delete} AFTER DELETE ON {spec.source} WHEN OLD.{spec.group} IS NOT NULL "
            f"BEGIN {self._count_subtract(spec)} END",
        ]

    def _count_subtract(self, spec: CountedRows) -> str:
        """Take the old row's contribution off its group's counters: an UPDATE, never an insert, so that a row
        whose counters were emptied first (a flush deleting the tables one by one) leaves nothing behind. While
        the counters are right, a row that counts has its group's counter row already."""
        sets = ", ".join(
            f"{column} = {column} - {spec.contribution('OLD', statuses)}" for column, statuses in spec.counts
        )
        return f"UPDATE {spec.table} SET {sets} WHERE {spec.key} = OLD.{spec.group};"

    def _count_upsert(self, spec: CountedRows, row: str, sign: str) -> str:
        names = ", ".join(column for column, _ in spec.counts)
        values = ", ".join(spec.contribution(row, statuses, sign) for _, statuses in spec.counts)
        sets = ", ".join(f"{column} = {column} + excluded.{column}" for column, _ in spec.counts)
        return (
            f"INSERT INTO {spec.table} ({spec.key}, {names}) SELECT {row}.{spec.group}, {values} "
            f"WHERE {row}.{spec.group} IS NOT NULL ON CONFLICT ({spec.key}) DO UPDATE SET {sets};"
        )

    def drop_count_triggers(self, spec: CountedRows) -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {name}" for name in spec.trigger_names()]

    def stored_count_triggers(self, spec: CountedRows) -> list[str]:
        """The triggers' definitions as the database holds them, to compare with count_triggers (in its
        order; an empty string for one that is missing)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [spec.source]
            )
            stored = dict(cursor.fetchall())
        return [stored.get(name, "") for name in spec.trigger_names()]

    def expected_count_triggers(self, spec: CountedRows) -> list[str]:
        """What stored_count_triggers reads once count_triggers has run with these values."""
        return self.count_triggers(spec)

    # -- Filling a table ----------------------------------------------------------------------------------

    def copy_rows(self, cursor, table: str, names: Sequence[str], rows: list[tuple], batch_size: int) -> None:
        """Insert the rows (tuples in the order of `names`) in bulk."""
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
        raw = cursor.cursor  # the driver's cursor: no per-row debug logging
        for start in range(0, len(rows), batch_size):
            raw.executemany(sql, rows[start : start + batch_size])

    def insert_rows(
        self, cursor, model, names: Sequence[str], rows: Sequence[Sequence], returning: Sequence[str] = ()
    ) -> list[tuple]:
        """Insert rows (values in the order of `names`, columns of `model`'s table, adapted for the driver) in
        as few statements as the engine allows; the `returning` columns of each inserted row, where the engine
        can return them from a multi-row INSERT ([] where it cannot). Multi-row VALUES, as many rows per
        statement as the parameter limit takes."""
        ops = connection.ops
        table = ops.quote_name(model._meta.db_table)
        into = f"INSERT INTO {table} ({', '.join(ops.quote_name(n) for n in names)}) VALUES "
        returns = bool(returning) and connection.features.can_return_rows_from_bulk_insert
        tail = f" RETURNING {', '.join(ops.quote_name(n) for n in returning)}" if returns else ""
        group = f"({', '.join(['%s'] * len(names))})"
        per_statement = max(1, self.max_query_params() // max(len(names), 1))
        returned: list[tuple] = []
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            cursor.execute(into + ", ".join([group] * len(part)) + tail, [v for row in part for v in row])
            if returns:
                returned += cursor.fetchall()
        return returned

    def copy_frame(self, cursor, table: str, frame: pd.DataFrame, batch_size: int) -> None:
        """Insert a frame's rows (columns named as in the table, missing values NULL) in bulk."""
        names = list(frame.columns)
        for start in range(0, len(frame), batch_size):
            self.copy_rows(cursor, table, names, _rows(frame.iloc[start : start + batch_size]), batch_size)

    def datetime_text(self, values: pd.Series) -> pd.Series:
        """UTC datetimes as text in the form the driver binds fastest and that compares exactly like the
        stored values. SQLite: exactly str(datetime) as Django stores it, a fraction only when there is one."""
        base, micro = _base_and_micro(values)
        return base.where(micro.fillna(0).eq(0), base + _fraction(micro))

    # -- Statements ---------------------------------------------------------------------------------------

    def exact(self, expression: str) -> str:
        """A text expression compared exactly (case and accents count)."""
        return expression

    def update_from(
        self,
        table: str,
        alias: str,
        source: str,
        source_alias: str,
        on: str,
        sets: Sequence[tuple[str, str]],
        where: str | None = None,
    ) -> str:
        """UPDATE `table` (as `alias`) from the rows of `source` (as `source_alias`) matching `on`: each
        (column, expression) of `sets`, where `where` holds. Parameters: those of `sets`, then of `where`."""
        assignments = ", ".join(f"{column} = {value}" for column, value in sets)
        condition = f"{on} AND ({where})" if where else on
        return f"UPDATE {table} AS {alias} SET {assignments} FROM {source} AS {source_alias} WHERE {condition}"

    def json_array(self, values: Sequence[str]) -> str:
        """The text of a JSON array built in SQL from the expressions' values."""
        return f"json_array({', '.join(values)})"

    def json_element(self, document: str, index: int, kind: str) -> str:
        """Element `index` of a JSON array written by json_array (text), back in the column type of `kind`
        (text, datetime, bool, int); a JSON null is NULL. SQLite: datetimes are stored as text, booleans as
        0/1, so json_extract gives the stored value back as it was."""
        return f"json_extract({document}, '$[{int(index)}]')"

    # -- Counting -----------------------------------------------------------------------------------------

    # What estimated_count returns above its cap: a lower bound (cap + 1 rows were found), or the planner's guess.
    estimated_count_is_lower_bound = True

    def estimated_count(self, cursor, sql: str, params: Sequence, cap: int) -> int | None:
        """How many rows the SELECT `sql` returns, without counting millions: the exact count when it is at most
        `cap`, otherwise a number above `cap` (estimated_count_is_lower_bound says which kind); None when the
        engine cannot tell cheaply whether it is at most `cap` (the caller then counts).

        SQLite has no planner estimate to read. MariaDB's EXPLAIN has one, but its `rows` are what the chosen
        index range or scan examines, from a few sampled pages (a full scan's is often off by half), before the
        other conditions of the WHERE clause: for the lead list's class filters it is off by orders of
        magnitude. Both count at most cap + 1 rows instead, which stops early on a long result and costs at worst
        what the exact count would (a rare match that no index finds still reads the whole table)."""
        cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(cap) + 1}) AS capped", params)
        return cursor.fetchone()[0]

    @contextmanager
    def indexes_built_after(self, cursor, table: str) -> Iterator[None]:
        """Around a bulk load into an empty table: where it pays, its secondary indexes are dropped before and
        built once after (SQLite, PostgreSQL: several times faster than maintaining them row by row; their DDL
        is transactional, so a rollback restores them). MariaDB's DDL commits, so it keeps them."""
        indexes = self.droppable_indexes(cursor, table)
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        yield
        if indexes:
            self.before_index_builds(cursor)
            for _name, sql in indexes:
                cursor.execute(sql)

    def droppable_indexes(self, cursor, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of each index indexes_built_after drops and builds again: none here."""
        return []

    def before_index_builds(self, cursor) -> None:
        pass

    # -- Locks and waits ----------------------------------------------------------------------------------

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """A transaction holding the named lock LOCKS[key] from its start until its commit or rollback.
        SQLite: every transaction begins IMMEDIATE and so holds the database's one write lock already."""
        lock = LOCKS[key]
        with transaction.atomic():
            self._lock_in_transaction(lock)
            yield

    def _lock_in_transaction(self, lock: NamedLock) -> None:
        pass

    def update_returning(
        self, cursor, table: str, assignments: str, params: Sequence, *, key: tuple[str, object], returning: str
    ) -> list:
        """`UPDATE table SET assignments` of the rows whose column key[0] equals key[1], giving back the `returning`
        column of each: one statement where the engine has UPDATE ... RETURNING (PostgreSQL, SQLite), else the
        UPDATE and a SELECT in the caller's transaction, whose row locks keep the values its own."""
        column, value = key
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {column} = %s RETURNING {returning}", [*params, value])
        return [row[0] for row in cursor.fetchall()]

    def commit_without_flush(self, cursor) -> None:
        """Let the current transaction's commit return before its log reaches the disk: a crash of the server
        may then lose the last fraction of a second of such commits (whole, never half of one), never corrupts.
        For bookkeeping that can afford that. PostgreSQL only: SQLite in WAL mode with synchronous=NORMAL
        (crm/env.py) commits without waiting for the disk already; MariaDB's setting is the server's, not a
        transaction's."""

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """True for "another transaction held the lock longer than we would wait"."""
        if isinstance(exc, LockTimeout):
            return True
        return isinstance(exc, OperationalError) and "database is locked" in str(exc)

    def lock_wait_text(self) -> str:
        """How long a writer waits for a lock, for the "database is busy" message."""
        return "longer than the database waits"

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Read one consistent state without taking (or waiting for) a write lock. MVCC engines: a plain
        transaction, whose reads never wait for writers."""
        if connection.in_atomic_block:
            yield
            return
        with transaction.atomic():
            yield


class SQLiteDialect(Dialect):
    vendor = "sqlite"

    def max_query_params(self) -> int:
        """The library's own limit (32,766 since SQLite 3.32; Django assumes the old 999)."""
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def row_number_type(self) -> str:
        return "INTEGER PRIMARY KEY"  # the rowid: staged rows are fetched and deleted by line

    def copy_rows(self, cursor, table: str, names: Sequence[str], rows: list[tuple], batch_size: int) -> None:
        """The driver runs an executemany statement once per row: one statement of as many rows as it binds
        parameters instead (several times faster at 800,000 rows), sent to the driver's connection as written
        (Django's cursor would rewrite its tens of thousands of placeholders)."""
        width = len(names)
        per = max(1, min(batch_size, self.max_query_params() // width))
        head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
        row_sql = f"({', '.join(['?'] * width)})"
        full = head + ", ".join([row_sql] * per)
        raw = cursor.cursor.connection  # the sqlite3 connection of Django's cursor
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            params = [value for row in chunk for value in row]
            raw.execute(full if len(chunk) == per else head + ", ".join([row_sql] * len(chunk)), params)

    def droppable_indexes(self, cursor, table: str) -> list[tuple[str, str]]:
        """Every index declared by a CREATE INDEX (a constraint's own index has no `sql`)."""
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        return cursor.fetchall()

    def lock_wait_text(self) -> str:
        return f"more than {connection.settings_dict['OPTIONS'].get('timeout', 5)} s"

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Every atomic block is BEGIN IMMEDIATE (takes the write lock): a plain deferred transaction instead
        reads one consistent snapshot in WAL mode and never waits."""
        if connection.in_atomic_block:
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")  # nothing was written: this only ends the snapshot


class PostgreSQLDialect(Dialect):
    vendor = "postgresql"
    temporary_tables_end_with_transaction = True

    def column_type(self, kind: str, collation: str | None = None) -> str:
        return {"text": "TEXT", "datetime": "TIMESTAMPTZ", "bool": "BOOLEAN", "decimal": "NUMERIC"}.get(kind, "BIGINT")

    def create_temporary_table(self, cursor, name: str, columns: str) -> None:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")

    def insert_rows(
        self, cursor, model, names: Sequence[str], rows: Sequence[Sequence], returning: Sequence[str] = ()
    ) -> list[tuple]:
        """One INSERT ... SELECT FROM unnest() of one array per column: a statement of fixed size, whatever the
        number of rows (the driver parses a multi-row VALUES of thousands of placeholders slower than the
        server inserts the rows)."""
        if not rows:
            return []
        ops, fields = connection.ops, {f.column: f for f in model._meta.concrete_fields}
        arrays = ", ".join(f"%s::{fields[n].db_type(connection)}[]" for n in names)
        tail = f" RETURNING {', '.join(ops.quote_name(n) for n in returning)}" if returning else ""
        cursor.execute(
            f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({', '.join(ops.quote_name(n) for n in names)}) "
            f"SELECT * FROM unnest({arrays}){tail}",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return cursor.fetchall() if returning else []

    def analyze(self, cursor, table: str) -> None:
        cursor.execute(f"ANALYZE {table}")

    def analyze_table(self, cursor, table: str) -> None:
        cursor.execute(f"ANALYZE {table}")

    def droppable_indexes(self, cursor, table: str) -> list[tuple[str, str]]:
        """The indexes that back no constraint (the primary key and the unique identity stay, for the INSERT's
        own checks). DROP INDEX locks the table until the commit: readers of the table, which was empty, wait for
        the load instead of seeing it empty."""
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
            [table],
        )
        return cursor.fetchall()

    def before_index_builds(self, cursor) -> None:
        # A table with pending deferred foreign-key checks cannot be indexed: they run now instead of at the commit
        # (Django declares every foreign key DEFERRABLE INITIALLY DEFERRED, as it is again after).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def count_triggers(self, spec: CountedRows) -> list[str]:
        """Updates and deletes: a statement-level trigger reading the statement's rows from transition tables,
        one aggregate and one upsert per statement, the counter rows locked in key order. Inserts: a row trigger.
        Row triggers made `assign_leads` over 800k leads run for more than 10 minutes instead of about 3:
        PostgreSQL writes a new version of a counter row at each of its updates, and every update must walk the
        versions the same transaction left before it. (Transition tables forbid `UPDATE OF columns` and WHEN:
        every UPDATE of the table runs it, adding nothing where no group or column changed.)"""
        insert, update, delete = spec.trigger_names()
        run = f"FOR EACH STATEMENT EXECUTE FUNCTION {spec.name}()"
        return [
            f"CREATE OR REPLACE FUNCTION {spec.name}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $body${self._count_body(spec)}$body$",
            f"CREATE OR REPLACE FUNCTION {spec.name}_row() RETURNS trigger LANGUAGE plpgsql "
            f"AS $body${self._count_row_body(spec)}$body$",
            # Inserts stay a row trigger with a WHEN clause: a bulk import of unassigned leads never calls it
            # (a transition table would hold a copy of every imported row).
            f"CREATE TRIGGER {insert} AFTER INSERT ON {spec.source} FOR EACH ROW "
            f"WHEN (NEW.{spec.group} IS NOT NULL) EXECUTE FUNCTION {spec.name}_row()",
            f"CREATE TRIGGER {update} AFTER UPDATE ON {spec.source} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {run}",
            f"CREATE TRIGGER {delete} AFTER DELETE ON {spec.source} REFERENCING OLD TABLE AS old_rows {run}",
        ]

    def _count_row_body(self, spec: CountedRows) -> str:
        names = ", ".join(column for column, _ in spec.counts)
        values = ", ".join(spec.contribution("NEW", statuses) for _, statuses in spec.counts)
        sets = ", ".join(f"{column} = c.{column} + EXCLUDED.{column}" for column, _ in spec.counts)
        return (
            f"\nBEGIN\n  INSERT INTO {spec.table} AS c ({spec.key}, {names}) VALUES (NEW.{spec.group}, {values}) "
            f"ON CONFLICT ({spec.key}) DO UPDATE SET {sets};\n  RETURN NULL;\nEND\n"
        )

    def _count_body(self, spec: CountedRows) -> str:
        names = ", ".join(column for column, _ in spec.counts)

        def rows(table: str, sign: str) -> str:
            values = ", ".join(
                f"{spec.contribution('r', statuses, sign)} AS {column}" for column, statuses in spec.counts
            )
            return f"SELECT r.{spec.group} AS k, {values} FROM {table} r WHERE r.{spec.group} IS NOT NULL"

        def upsert(deltas: str) -> str:
            sums = ", ".join(f"SUM(d.{column})" for column, _ in spec.counts)
            nonzero = " OR ".join(f"SUM(d.{column}) <> 0" for column, _ in spec.counts)
            sets = ", ".join(f"{column} = c.{column} + EXCLUDED.{column}" for column, _ in spec.counts)
            return (
                f"INSERT INTO {spec.table} AS c ({spec.key}, {names}) SELECT d.k, {sums} FROM ({deltas}) d "
                f"GROUP BY d.k HAVING {nonzero} ORDER BY d.k ON CONFLICT ({spec.key}) DO UPDATE SET {sets};"
            )

        # Deletes only subtract (an UPDATE, never an insert: see Dialect._count_subtract).
        sums = ", ".join(f"SUM(d.{column}) AS {column}" for column, _ in spec.counts)
        subtract = (
            f"UPDATE {spec.table} AS c SET "
            + ", ".join(f"{column} = c.{column} + g.{column}" for column, _ in spec.counts)
            + f" FROM (SELECT d.k, {sums} FROM ({rows('old_rows', '-')}) d GROUP BY d.k) g WHERE c.{spec.key} = g.k;"
        )
        return (
            "\nBEGIN\n"
            f"  IF TG_OP = 'UPDATE' THEN\n    {upsert(rows('old_rows', '-') + ' UNION ALL ' + rows('new_rows', ''))}\n"
            f"  ELSE\n    {subtract}\n  END IF;\n"
            "  RETURN NULL;\nEND\n"
        )

    def drop_count_triggers(self, spec: CountedRows) -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {name} ON {spec.source}" for name in spec.trigger_names()] + [
            f"DROP FUNCTION IF EXISTS {spec.name}()",
            f"DROP FUNCTION IF EXISTS {spec.name}_row()",
        ]

    def stored_count_triggers(self, spec: CountedRows) -> list[str]:
        """The functions' bodies (where the values live), then the name of each trigger that exists and is
        enabled."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT proname, prosrc FROM pg_proc WHERE proname IN (%s, %s)", [spec.name, f"{spec.name}_row"]
            )
            bodies = dict(cursor.fetchall())
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgenabled <> 'D'", [spec.source]
            )
            enabled = {name for (name,) in cursor.fetchall()}
        functions = [bodies.get(spec.name, ""), bodies.get(f"{spec.name}_row", "")]
        return functions + [name if name in enabled else "" for name in spec.trigger_names()]

    def expected_count_triggers(self, spec: CountedRows) -> list[str]:
        return [self._count_body(spec), self._count_row_body(spec), *spec.trigger_names()]

    def copy_rows(self, cursor, table: str, names: Sequence[str], rows: list[tuple], batch_size: int) -> None:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def copy_frame(self, cursor, table: str, frame: pd.DataFrame, batch_size: int) -> None:
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        # Cleaning leaves no empty strings (an empty cell is missing), so an unquoted empty field is NULL.
        sql = f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv)"
        with cursor.cursor.copy(sql) as copy:
            copy.write(buffer.getvalue())

    def datetime_text(self, values: pd.Series) -> pd.Series:
        base, micro = _base_and_micro(values)
        return base + _fraction(micro) + "+00:00"

    def json_array(self, values: Sequence[str]) -> str:
        return f"json_build_array({', '.join(values)})::text"

    def json_element(self, document: str, index: int, kind: str) -> str:
        return f"(({document})::json ->> {int(index)})::{self.column_type(kind)}"

    def _lock_in_transaction(self, lock: NamedLock) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock.number])

    def commit_without_flush(self, cursor) -> None:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")  # this transaction only

    estimated_count_is_lower_bound = False

    def estimated_count(self, cursor, sql: str, params: Sequence, cap: int) -> int | None:
        """The planner's estimate of the result's rows (EXPLAIN's "Plan Rows" of the top node): planning takes
        a millisecond at any size, where counting ten million rows takes seconds. At most `cap`: None, since the
        result is then cheap to count and a low estimate may be far off (correlated conditions)."""
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        rows = int(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])  # psycopg reads the json column as a list
        return rows if rows > cap else None


class MySQLDialect(Dialect):
    """MariaDB and MySQL."""

    vendor = "mysql"
    LOCK_WAIT_TIMEOUT = 1205  # ER_LOCK_WAIT_TIMEOUT
    # MariaDB/MySQL compare text ignoring case and accents by default: `üser@` would be the same as `user@`.
    exact_collation = "utf8mb4_bin"
    default_collation = "utf8mb4_general_ci"

    def column_type(self, kind: str, collation: str | None = None) -> str:
        if kind == "text":
            return f"VARCHAR(255) COLLATE {collation}" if collation else "VARCHAR(255)"
        return {"datetime": "DATETIME(6)", "bool": "BOOL", "decimal": "DECIMAL(30,10)"}.get(kind, "BIGINT")

    def column_collation(self, table: str, column: str) -> str | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COLLATION_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = %s",
                [table, column],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def create_temporary_table(self, cursor, name: str, columns: str) -> None:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ENGINE=InnoDB")

    def drop_temporary_table(self, cursor, name: str, *, if_exists: bool = True) -> None:
        cursor.execute(f"DROP TEMPORARY TABLE {'IF EXISTS ' if if_exists else ''}{name}")

    # copy_rows: mysqlclient's executemany sends an INSERT ... VALUES as multi-row INSERTs.
    # estimated_count: Dialect's capped count (EXPLAIN's rows estimate is too rough: see there).

    def datetime_text(self, values: pd.Series) -> pd.Series:
        base, micro = _base_and_micro(values)
        return base + _fraction(micro)

    def exact(self, expression: str) -> str:
        return f"BINARY {expression}"  # the default collation ignores case and accents

    def update_from(
        self,
        table: str,
        alias: str,
        source: str,
        source_alias: str,
        on: str,
        sets: Sequence[tuple[str, str]],
        where: str | None = None,
    ) -> str:
        assignments = ", ".join(f"{alias}.{column} = {value}" for column, value in sets)
        condition = f" WHERE {where}" if where else ""
        return f"UPDATE {table} {alias} JOIN {source} {source_alias} ON {on} SET {assignments}{condition}"

    def json_array(self, values: Sequence[str]) -> str:
        return f"JSON_ARRAY({', '.join(values)})"

    def json_element(self, document: str, index: int, kind: str) -> str:
        value = f"JSON_VALUE({document}, '$[{int(index)}]')"
        if kind == "datetime":
            return f"CAST({value} AS DATETIME(6))"
        if kind == "bool":  # JSON_ARRAY writes a BOOL column's 0/1 as a number, a boolean expression as true/false
            return f"(CASE {value} WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE CAST({value} AS SIGNED) END)"
        if kind == "int":
            return f"CAST({value} AS SIGNED)"
        if kind == "decimal":
            return f"CAST({value} AS DECIMAL(30,10))"
        return value

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """GET_LOCK belongs to the session, not the transaction: taken before the transaction begins and
        released once it has ended, committed or rolled back. (Inside a caller's own transaction, as in the
        tests' atomic blocks, it is released when the block ends, before that transaction does.)"""
        name = self.lock_name(key)
        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, @@innodb_lock_wait_timeout)", [name])
            (got,) = cursor.fetchone()
        if got == 0:
            raise LockTimeout(f"Timed out waiting for the named lock {name!r}.")
        if got is None:
            raise OperationalError(f"The named lock {name!r} could not be taken (GET_LOCK returned NULL).")
        try:
            with transaction.atomic():
                yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [name])

    def update_returning(
        self, cursor, table: str, assignments: str, params: Sequence, *, key: tuple[str, object], returning: str
    ) -> list:
        column, value = key  # MariaDB has no UPDATE ... RETURNING
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {column} = %s", [*params, value])
        cursor.execute(f"SELECT {returning} FROM {table} WHERE {column} = %s", [value])
        return [row[0] for row in cursor.fetchall()]

    def lock_name(self, key: str) -> str:
        """GET_LOCK names are the server's, not one database's: each database gets its own."""
        return f"{connection.settings_dict['NAME']}:{LOCKS[key].name}"

    def analyze_table(self, cursor, table: str) -> None:
        cursor.execute(f"ANALYZE TABLE {table}")
        cursor.fetchall()

    def count_triggers(self, spec: CountedRows) -> list[str]:
        """A FOR EACH ROW trigger per event (no WHEN clause: an IF), upserting with ON DUPLICATE KEY UPDATE."""
        return [
            f"CREATE TRIGGER {name} AFTER {event} ON {spec.source} FOR EACH ROW {body}"
            for name, event, body in zip(
                spec.trigger_names(), ("INSERT", "UPDATE", "DELETE"), self._count_bodies(spec), strict=True
            )
        ]

    def _count_bodies(self, spec: CountedRows) -> list[str]:
        def upsert(row: str, sign: str) -> str:
            names = ", ".join(column for column, _ in spec.counts)
            values = ", ".join(spec.contribution(row, statuses, sign) for _, statuses in spec.counts)
            sets = ", ".join(f"{column} = {column} + VALUES({column})" for column, _ in spec.counts)
            return (
                f"INSERT INTO {spec.table} ({spec.key}, {names}) VALUES ({row}.{spec.group}, {values}) "
                f"ON DUPLICATE KEY UPDATE {sets};"
            )

        old, new = f"OLD.{spec.group} IS NOT NULL", f"NEW.{spec.group} IS NOT NULL"
        changed = f"NOT (OLD.{spec.column} <=> NEW.{spec.column}) OR NOT (OLD.{spec.group} <=> NEW.{spec.group})"
        return [
            f"BEGIN IF {new} THEN {upsert('NEW', '')} END IF; END",
            f"BEGIN IF {changed} THEN IF {old} THEN {self._count_subtract(spec)} END IF; "
            f"IF {new} THEN {upsert('NEW', '')} END IF; END IF; END",
            f"BEGIN IF {old} THEN {self._count_subtract(spec)} END IF; END",
        ]

    def stored_count_triggers(self, spec: CountedRows) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = %s",
                [spec.source],
            )
            stored = dict(cursor.fetchall())
        return [stored.get(name, "") for name in spec.trigger_names()]

    def expected_count_triggers(self, spec: CountedRows) -> list[str]:
        return self._count_bodies(spec)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        if isinstance(exc, LockTimeout):
            return True
        return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] == self.LOCK_WAIT_TIMEOUT


DIALECTS = {d.vendor: d() for d in (SQLiteDialect, PostgreSQLDialect, MySQLDialect)}


def dialect(conn=None) -> Dialect:
    """The SQL of this connection's engine (the default connection's by default)."""
    return DIALECTS[(conn or connection).vendor]


def is_lock_timeout(exc: BaseException) -> bool:
    """True for "another transaction held the lock longer than we would wait" on any engine."""
    return dialect().is_lock_timeout(exc)


def lock_timeout_message() -> str:
    return (
        f"The database is busy: another write held its lock for {dialect().lock_wait_text()}. "
        "Nothing was written; try again."
    )


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Read one consistent state without taking (or waiting for) a write lock."""
    with dialect().read_snapshot():
        yield


# A bulk write of at least this many rows (and, where the caller knows it, this share of the table) refreshes
# the table's planner statistics once it commits (analyze_after_commit).
ANALYZE_AT_ROWS = 10_000
ANALYZE_AT_SHARE = 0.10


def analyze_after_commit(*tables: str) -> None:
    """Refresh the tables' planner statistics (Dialect.analyze_table) once the current transaction commits
    (right away outside one): after a bulk write, stale statistics make the planner choose plans that take
    seconds instead of milliseconds (docs/benchmarks.md). Only statistics: a failure is logged, never raised."""
    conn_dialect = dialect()

    def analyze() -> None:
        with connection.cursor() as cursor:
            for table in tables:
                conn_dialect.analyze_table(cursor, table)

    transaction.on_commit(analyze, robust=True)


@contextmanager
def locked(key: str) -> Iterator[None]:
    """A transaction holding the named lock LOCKS[key] until it ends (see the module docstring)."""
    with dialect().locked(key):
        yield


# ---------------------------------------------------------------------------------------------------------


def _rows(frame: pd.DataFrame) -> list[tuple]:
    import pyarrow as pa  # only the bulk writers need it; not imported at start-up

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


STRING = "string[pyarrow]"  # pd.StringDtype("pyarrow"), as imports.values.STRING, without importing pandas


def _base_and_micro(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.dt.strftime("%Y-%m-%d %H:%M:%S").astype(STRING), naive.dt.microsecond


def _fraction(micro: pd.Series) -> pd.Series:
    return ("." + micro.fillna(0).astype("int64").astype(str).str.zfill(6)).astype(STRING)
