"""Each per-engine method of core.sql, run on the engine the suite runs on (DATABASE_URL)."""

from datetime import timedelta
from io import StringIO

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from core.sql import (
    LOCKS,
    LockTimeout,
    MySQLDialect,
    PostgreSQLDialect,
    SQLiteDialect,
    dialect,
    is_lock_timeout,
    lock_timeout_message,
    locked,
    read_snapshot,
)

pytestmark = pytest.mark.django_db

TMP, OTHER = "crm_test_sql_a", "crm_test_sql_b"


@pytest.fixture
def cursor():
    with connection.cursor() as cursor:
        yield cursor
        for name in (TMP, OTHER):
            dialect().drop_temporary_table(cursor, name)


def rows(cursor, sql, params=()):
    cursor.execute(sql, params)
    return [tuple(row) for row in cursor.fetchall()]


def test_the_dialect_is_the_one_of_the_connections_engine():
    expected = {"sqlite": SQLiteDialect, "postgresql": PostgreSQLDialect, "mysql": MySQLDialect}[connection.vendor]
    assert type(dialect()) is expected
    assert type(dialect(connections["default"])) is expected


def test_a_temporary_table_of_every_column_type_is_created_filled_in_bulk_and_dropped(cursor):
    sql = dialect()
    columns = ", ".join(
        [f"line {sql.row_number_type()}"]
        + [f"{kind}_value {sql.column_type(kind)}" for kind in ("text", "bool", "int")]
    )
    sql.create_temporary_table(cursor, TMP, columns)
    staged = [(1, "Ada", True, 5), (2, None, False, None), (3, "Zoë", None, 2**40)]
    sql.copy_rows(cursor, TMP, ["line", "text_value", "bool_value", "int_value"], staged, batch_size=2)
    sql.analyze(cursor, TMP)
    got = rows(cursor, f"SELECT line, text_value, bool_value, int_value FROM {TMP} ORDER BY line")
    assert [(line, text, None if flag is None else bool(flag), n) for line, text, flag, n in got] == staged
    sql.drop_temporary_table(cursor, TMP, if_exists=False)
    sql.drop_temporary_table(cursor, TMP)  # IF EXISTS: no error
    sql.create_temporary_table(cursor, TMP, columns)  # the name is free again
    assert rows(cursor, f"SELECT COUNT(*) FROM {TMP}") == [(0,)]


def test_a_frame_is_copied_with_missing_values_as_null(cursor):
    sql = dialect()
    sql.create_temporary_table(cursor, TMP, f"line BIGINT, name {sql.column_type('text')}, n {sql.column_type('int')}")
    frame = pd.DataFrame(
        {
            "line": [1, 2, 3],
            "name": pd.Series(["Ada", None, 'Grace, "the" admiral'], dtype=pd.StringDtype("pyarrow")),
            "n": pd.Series([1, None, 3], dtype="Int64"),
        }
    )
    sql.copy_frame(cursor, TMP, frame, batch_size=2)
    assert rows(cursor, f"SELECT line, name, n FROM {TMP} ORDER BY line") == [
        (1, "Ada", 1),
        (2, None, None),
        (3, 'Grace, "the" admiral', 3),
    ]


def test_staged_datetimes_compare_equal_to_the_stored_ones(cursor):
    sql = dialect()
    whole = timezone.now().replace(microsecond=0)
    stamps = [whole, whole + timedelta(seconds=1, microseconds=120)]
    for i, stamp in enumerate(stamps):
        User.objects.create(username=f"u{i}", date_joined=stamp)
    sql.create_temporary_table(cursor, TMP, f"line BIGINT, joined {sql.column_type('datetime')}")
    texts = sql.datetime_text(pd.Series(pd.to_datetime(stamps, utc=True)))
    sql.copy_frame(cursor, TMP, pd.DataFrame({"line": [1, 2], "joined": texts}), batch_size=10)
    joined = rows(
        cursor, f"SELECT s.line, u.username FROM {TMP} s JOIN auth_user u ON u.date_joined = s.joined ORDER BY s.line"
    )
    assert joined == [(1, "u0"), (2, "u1")]


def test_staged_text_compares_with_the_stored_column_in_its_collation(cursor):
    sql = dialect()
    User.objects.create(username="ada", email="Ada@Example.org")
    collation = sql.column_collation("auth_user", "email")
    sql.create_temporary_table(cursor, TMP, f"email {sql.column_type('text', collation)}")
    sql.copy_rows(cursor, TMP, ["email"], [("Ada@Example.org",)], batch_size=10)
    assert rows(cursor, f"SELECT u.username FROM {TMP} s JOIN auth_user u ON u.email = s.email") == [("ada",)]


@pytest.mark.parametrize(("a", "b", "same"), [("Ada", "Ada", 1), ("Ada", "ada", 0), ("Zoë", "Zoe", 0)])
def test_an_exact_compare_tells_case_and_accents_apart(cursor, a, b, same):
    exact = dialect().exact
    assert rows(cursor, f"SELECT CASE WHEN {exact('%s')} = {exact('%s')} THEN 1 ELSE 0 END", [a, b]) == [(same,)]


def test_update_from_sets_the_joined_rows_where_the_condition_holds(cursor):
    sql = dialect()
    text = sql.column_type("text")
    sql.create_temporary_table(cursor, TMP, f"id BIGINT, v {text}, w {text}")
    sql.create_temporary_table(cursor, OTHER, f"id BIGINT, v {text}")
    sql.copy_rows(cursor, TMP, ["id", "v", "w"], [(1, "x", "-"), (2, "y", "-"), (3, "z", "-")], batch_size=10)
    sql.copy_rows(cursor, OTHER, ["id", "v"], [(1, "X"), (2, "Y")], batch_size=10)
    cursor.execute(
        sql.update_from(TMP, "t", OTHER, "s", "s.id = t.id", [("v", "s.v"), ("w", "%s")], "s.v <> %s"), ["new", "Y"]
    )
    assert rows(cursor, f"SELECT id, v, w FROM {TMP} ORDER BY id") == [(1, "X", "new"), (2, "y", "-"), (3, "z", "-")]
    cursor.execute(sql.update_from(TMP, "t", OTHER, "s", "s.id = t.id", [("w", "s.v")]))
    assert rows(cursor, f"SELECT id, w FROM {TMP} ORDER BY id") == [(1, "X"), (2, "Y"), (3, "-")]


def test_a_bulk_load_into_an_empty_table_builds_its_secondary_indexes_after_it_where_ddl_is_transactional(cursor):
    def secondary_indexes():
        constraints = connection.introspection.get_constraints(cursor, "leads_lead")
        return sorted(
            name for name, c in constraints.items() if c["index"] and not c["unique"] and not c["primary_key"]
        )

    before = secondary_indexes()
    with dialect().indexes_built_after(cursor, "leads_lead"):
        during = secondary_indexes()
    assert before and secondary_indexes() == before
    assert during == ([] if connection.vendor in ("sqlite", "postgresql") else before)


def test_a_lock_timeout_is_recognized_and_explained_in_one_line():
    assert is_lock_timeout(LockTimeout("busy"))
    assert not is_lock_timeout(ValueError("database is locked"))
    message = lock_timeout_message()
    assert message.startswith("The database is busy: another write held its lock for ") and "\n" not in message


def test_a_snapshot_read_leaves_no_transaction_open():
    with read_snapshot():
        assert User.objects.count() == 0
    assert User.objects.count() == 0


@pytest.fixture
def other_connection():
    other = connections.create_connection("default")
    yield other
    other.close()


def lock_is_free(other, key: str) -> bool:
    with other.cursor() as cursor:
        if other.vendor == "postgresql":  # in autocommit: a lock taken now is released at once
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCKS[key].number])
        else:
            cursor.execute("SELECT IS_FREE_LOCK(%s)", [dialect().lock_name(key)])
        return bool(cursor.fetchone()[0])


server_only = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's lock is the database file's write lock (leads/tests/test_lock_waits.py holds it on a file)",
)


@server_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", sorted(LOCKS))
def test_a_named_lock_is_held_from_the_start_of_its_transaction_to_its_end(other_connection, key):
    assert lock_is_free(other_connection, key)
    with locked(key):
        assert connection.in_atomic_block
        assert not lock_is_free(other_connection, key)
    assert lock_is_free(other_connection, key)
    with pytest.raises(RuntimeError), locked(key):
        raise RuntimeError("rolled back")
    assert lock_is_free(other_connection, key)  # released on rollback too


mariadb_only = pytest.mark.skipif(
    connection.vendor != "mysql", reason="GET_LOCK's timeout is MariaDB/MySQL's: run with DATABASE_URL=mysql://..."
)


@pytest.fixture
def short_lock_wait():
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")


BUSY = (
    "The database is busy: another write held its lock for longer than the database waits. "
    "Nothing was written; try again."
)


@mariadb_only
@pytest.mark.django_db(transaction=True)
def test_an_import_and_an_assignment_that_cannot_get_the_named_lock_in_time_refuse_in_one_line(
    tmp_path, other_connection, short_lock_wait
):
    from agents.models import Agent
    from leads.models import AssignmentRun, Lead

    agent = Agent.objects.create(name="Ada", email="ada@sales.test")
    Lead.objects.create(name="Old Lead", name_key="old lead", email="old@example.org", created_at=timezone.now())
    path = tmp_path / "leads.csv"
    path.write_text("name,email,status,created\nNew Lead,new@example.org,new,2026-11-01\n")
    with other_connection.cursor() as cursor:
        for key in ("import:lead", "assignment"):
            cursor.execute("SELECT GET_LOCK(%s, 0)", [dialect().lock_name(key)])
            assert cursor.fetchone() == (1,)

    for command in (["import_leads", str(path)], ["assign_leads", "--seed", "1"]):
        with pytest.raises(CommandError) as error:
            call_command(*command, stdout=StringIO())
        assert (error.value.returncode, str(error.value)) == (75, BUSY)
    assert list(Lead.objects.values_list("email", "assigned_agent")) == [("old@example.org", None)]
    assert not AssignmentRun.objects.exists()

    other_connection.close()  # the other session ends: its named locks go with it
    call_command("import_leads", str(path), stdout=StringIO())
    call_command("assign_leads", "--seed", "1", stdout=StringIO())
    assert Lead.objects.filter(assigned_agent=agent).count() == 2


@pytest.fixture
def five_users():
    User.objects.bulk_create([User(username=f"counted{i}") for i in range(5)])
    if not dialect().estimated_count_is_lower_bound:  # the planner's estimate needs the table's statistics
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE auth_user")


def estimated(sql, params=(), cap=2):
    with connection.cursor() as cursor:
        return dialect().estimated_count(cursor, sql, params, cap)


def test_a_count_within_the_cap_is_exact_or_left_to_the_caller(five_users):
    # The capped count has counted it; the planner's estimate is not trusted there.
    expected = 5 if dialect().estimated_count_is_lower_bound else None
    assert estimated("SELECT id FROM auth_user", cap=5) == expected
    assert estimated("SELECT id FROM auth_user WHERE username LIKE %s", ["counted%"], cap=10) == expected


def test_a_count_beyond_the_cap_is_the_planners_estimate_or_a_bound_just_above_the_cap(five_users):
    # Capped: 3 rows were found (the count stopped there). PostgreSQL: the planner knows the table has 5 rows.
    expected = 3 if dialect().estimated_count_is_lower_bound else 5
    assert estimated("SELECT id FROM auth_user", cap=2) == expected


def test_an_estimated_count_binds_the_querys_parameters(five_users):
    # One row matches: the capped count finds it; the planner estimates one row for a value of a unique index.
    assert estimated("SELECT id FROM auth_user WHERE username = %s", ["counted1"], cap=0) == 1


def test_only_postgresql_reads_a_planner_estimate():
    assert PostgreSQLDialect.estimated_count_is_lower_bound is False
    assert SQLiteDialect.estimated_count_is_lower_bound is MySQLDialect.estimated_count_is_lower_bound is True


def durability(cursor) -> str:
    """How this session's commits reach the disk, in the engine's own terms."""
    query = {
        "sqlite": "PRAGMA synchronous",  # 1: NORMAL (no sync at a commit in WAL mode)
        "postgresql": "SHOW synchronous_commit",
        "mysql": "SELECT @@innodb_flush_log_at_trx_commit",  # the server's: a session cannot change it
    }[connection.vendor]
    cursor.execute(query)
    return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_commit_without_flush_is_asked_for_one_transaction_only(cursor):
    before = durability(cursor)
    with transaction.atomic():
        dialect().commit_without_flush(cursor)
        inside = durability(cursor)
    after = durability(cursor)
    if connection.vendor == "postgresql":
        assert (before, inside, after) == ("on", "off", "on")
    elif connection.vendor == "sqlite":
        assert (before, inside, after) == ("1", "1", "1")
    else:
        assert before == inside == after
