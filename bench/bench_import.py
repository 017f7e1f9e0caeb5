#!/usr/bin/env python
"""Benchmark: `manage.py import_leads` (the whole command) against raw inserts of the same cleaned rows.

    python bench/bench_import.py --sizes 100000,1000000 [--shapes iso-z,dayfirst] [--repeat 2]
    python bench/bench_import.py --before-images --sizes 200000,1000000   (the cost of keeping before-images)

For each file shape of bench/corpus.py (the same leads written as different exports: generator, iso-z,
dayfirst, salesforce, hubspot, utf16, semicolon) at each size (200,000 always included, the issue's target),
on an empty SQLite database: the first import, a re-import of the same file (everything
unchanged), each in its own process (wall time; peak RSS of the command plus its cleaning process); then, on
the rows the import stored, (a) sqlite3.executemany in one transaction into a table with the same indexes
and (b) the same into an unindexed table with the indexes built afterwards. On PostgreSQL (BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/crm_import_bench; skipped when unreachable) the import beside a raw COPY of
the same rows into a table with the same indexes.
"""

import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, ROOT, child_pids, ensure_data, high_water_mb, markdown_table, parse_sizes
from bench.corpus import SHAPES, file_name, write_shape
from crm.env import env_str

PYTHON = sys.executable
COLUMNS = [
    "name",
    "name_key",
    "email",
    "phone",
    "company",
    "source",
    "status",
    "created_at",
    "assigned_agent_id",
    "assigned_at",
    "added_at",
    "updated_at",
]


LAST_CPU = [0.0]  # CPU seconds (user + system) of the last run_command, its cleaning process included


def run_command(args: list[str], database_url: str) -> tuple[float, float, str]:
    """Run a manage.py command in its own process: (seconds, peak RSS in MB, stdout)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen([PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    # Peak of the command's process plus the peak of its cleaning process (big files), summed: an upper bound
    # of what the import holds at once.
    peaks: dict[int, float] = {}
    while process.poll() is None:
        for pid in [process.pid, *child_pids(process.pid)]:
            peaks[pid] = max(peaks.get(pid, 0.0), high_water_mb(pid))
        time.sleep(0.05)
    peak = sum(peaks.values())
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stdout = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return seconds, peak, stdout


AS_OF = "2026-11-24"  # the data's 'now' (bench.common.ensure_data's): before the real clock the command reads
ALWAYS_SIZE = 200_000  # the target size, measured whatever --sizes says


def ensure_corpus(n_leads: int, shape: str, seed: int = 42, dirty: float = 0.05) -> Path:
    """Write (once) and return the file of that shape and size."""
    import pandas as pd

    folder = OUT / f"corpus-{n_leads}-{seed}-{dirty}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name(shape)
    if not target.exists():
        write_shape(shape, n_leads, seed=seed, dirty=dirty, as_of=pd.Timestamp(AS_OF), out=folder)
    return target


def _take_option(name: str, default: str) -> str:
    if name not in sys.argv:
        return default
    at = sys.argv.index(name)
    value = sys.argv[at + 1]
    del sys.argv[at : at + 2]
    return value


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    run_command(["migrate", "--verbosity", "0"], url)
    return url


def sqlite_baselines(db_path: Path, work: Path) -> tuple[float, float, int]:
    source = sqlite3.connect(db_path)
    table_sql = source.execute("SELECT sql FROM sqlite_master WHERE name = 'leads_lead'").fetchone()[0]
    index_sql = [
        r[0]
        for r in source.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads_lead' AND sql IS NOT NULL"
        )
    ]
    rows = source.execute(f"SELECT {', '.join(COLUMNS)} FROM leads_lead ORDER BY id").fetchall()
    source.close()
    # The unindexed table: the same columns without the UNIQUE email constraint (built afterwards instead).
    unindexed_sql = table_sql.replace(" UNIQUE", "")
    insert = f"INSERT INTO leads_lead ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    results = []
    for label, create, after in (
        ("indexed", [table_sql, *index_sql], []),
        (
            "unindexed",
            [unindexed_sql],
            ['CREATE UNIQUE INDEX "leads_lead_email_uniq" ON "leads_lead" ("email")', *index_sql],
        ),
    ):
        path = work / f"baseline-{label}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE agents_agent (id integer PRIMARY KEY)")
        for sql in create:
            db.execute(sql)
        start = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(insert, rows)
        for sql in after:
            db.execute(sql)
        db.execute("COMMIT")
        results.append(time.perf_counter() - start)
        db.close()
    return results[0], results[1], len(rows)


def postgres_compare(csv_path: Path, url: str) -> tuple[float, float, float] | None:
    try:
        import psycopg
    except ImportError:
        return None
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"  PostgreSQL skipped: {exc}".splitlines()[0], file=sys.stderr)
        return None
    run_command(["migrate", "--verbosity", "0"], url)
    seconds, rss, _ = run_command(["import_leads", str(csv_path), "--json"], url)
    with psycopg.connect(url, autocommit=True) as db, db.cursor() as cursor:
        db.execute("CREATE TABLE raw_lead (LIKE leads_lead INCLUDING ALL)")
        buffer = bytearray()
        with cursor.copy(f"COPY leads_lead ({', '.join(COLUMNS)}) TO STDOUT") as copy:
            for block in copy:
                buffer += block
        start = time.perf_counter()
        with db.transaction(), cursor.copy(f"COPY raw_lead ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            copy.write(bytes(buffer))
        copy_seconds = time.perf_counter() - start
    return seconds, copy_seconds, rss


ADMIN_CHILD = """
import os, sys, time, django
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()  # keeps response.context, to read the preview's token
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
settings.ALLOWED_HOSTS = ["testserver"]
settings.IMPORT_MAX_UPLOAD_MB = 1000
user = User.objects.create_superuser("bench", "bench@example.org", "pw")
client = Client()
client.force_login(user)
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
preview = client.post("/admin/leads/lead/import/", {"import_file": SimpleUploadedFile("leads.csv", data)})
middle = time.perf_counter()
assert preview.status_code == 200, preview.status_code
done = client.post("/admin/leads/lead/process_import/", {"token": preview.context["token"]})
end = time.perf_counter()
assert done.status_code == 302, done.status_code
print(middle - start, end - middle, len(preview.content))
"""


def admin_import(rows: int, work: Path) -> tuple[float, float, int]:
    """The admin's upload + preview and confirmation of a file of `rows` leads, through Django's test client."""
    csv_path = ensure_data(rows) / "leads.csv"
    url = fresh_sqlite(work / "bench-admin.sqlite3")
    env = {**os.environ, "DATABASE_URL": url, "IMPORT_UPLOAD_DIR": str(work / "uploads")}
    out = subprocess.run(
        [PYTHON, "-c", ADMIN_CHILD, str(csv_path)], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


BEFORE_IMAGES_CHILD = """
import os, sys, time, django
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django.setup()
from imports.loading import load_file
from imports.runs import create_run, execute
from leads.importing import LEAD_SCHEMA
with_images = sys.argv[1] == "with"
def cpu():
    own, children = os.times()[:2], os.times()[2:4]
    return sum(own) + sum(children)
for path in sys.argv[2:]:
    start, start_cpu = time.perf_counter(), cpu()
    if with_images:
        run = create_run(schema=LEAD_SCHEMA, source="bench", path=path, dry_run=False, options={})
        result = execute(run, schema=LEAD_SCHEMA, path=path)
    else:
        result = load_file(path, LEAD_SCHEMA)
    print(time.perf_counter() - start, cpu() - start_cpu, result.created, result.updated)
"""


def updated_copy(csv_path: Path) -> Path:
    """The same file with every lead's company changed: a re-import updates every stored lead."""
    import pandas as pd

    target = csv_path.with_name("leads-updated.csv")
    if not target.exists():
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        column = next(c for c in frame.columns if c.strip().lower() in ("company", "company name", "account name"))
        frame[column] = frame[column].where(frame[column] == "", frame[column] + " Group")
        frame.loc[frame[column] == "", column] = "Some Group"
        frame.to_csv(target, index=False)
    return target


def before_images(sizes: list[int], work: Path) -> list[str]:
    """The import with and without keeping before-images (ImportRun + ImportChange rows): into an empty
    database (every lead created), then the same leads with another company each (every lead updated)."""
    table = []
    urls = {"SQLite": None, "PostgreSQL": env_str("BENCH_POSTGRES_URL", "")}
    for size in sizes:
        csv_path = ensure_data(size) / "leads.csv"
        changed = updated_copy(csv_path)
        for engine, pg_url in urls.items():
            if engine == "PostgreSQL" and not pg_url:
                continue
            times = {}  # mode -> [best wall, best CPU] of the first import, then of the update
            for mode in ("without", "with", "without", "with"):
                if pg_url:
                    import psycopg

                    base, _, name = pg_url.rpartition("/")
                    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                        admin.execute(f'CREATE DATABASE "{name}"')
                    url = pg_url
                    run_command(["migrate", "--verbosity", "0"], url)
                else:
                    url = fresh_sqlite(work / "bench-before-images.sqlite3")
                out = subprocess.run(
                    [PYTHON, "-c", BEFORE_IMAGES_CHILD, mode, str(csv_path), str(changed)],
                    cwd=ROOT,
                    env={**os.environ, "DATABASE_URL": url},
                    check=True,
                    stdout=subprocess.PIPE,
                    text=True,
                ).stdout.splitlines()
                (wall1, cpu1, created, _), (wall2, cpu2, _, updated) = (map(float, line.split()) for line in out)
                print(
                    f"  {engine} {size} {mode}: create {wall1:.2f} s (CPU {cpu1:.2f}), "
                    f"update {wall2:.2f} s (CPU {cpu2:.2f})",
                    file=sys.stderr,
                )
                new = [[wall1, cpu1], [wall2, cpu2]]
                best = times.setdefault(mode, new)
                times[mode] = [
                    [min(a, b) for a, b in zip(old, now, strict=True)] for old, now in zip(best, new, strict=True)
                ]
            for i, what in enumerate((f"{int(created):,} created", f"{int(updated):,} updated")):
                (wall0, cpu0), (wall, cpu) = times["without"][i], times["with"][i]
                basis = (cpu0, cpu) if engine == "SQLite" else (wall0, wall)
                cost = f"{(basis[1] / basis[0] - 1) * 100:+.0f}%"
                table.append([engine, f"{size:,}", what, wall0, wall, cpu0, cpu, cost])
    return [
        "## Import with and without before-images (`bench/bench_import.py --before-images`)",
        "",
        "`load_file` alone (without) beside `imports.runs.execute` (with: the ImportRun, and the ImportChange rows "
        "written set-based inside the import's transaction: one INSERT ... SELECT of the created records, one of "
        "the updated records with their stored values as JSON), timed in the process (Django start-up excluded), "
        "best of two runs each on a fresh database. First into an empty database (every lead created), then the "
        "same leads with another company each (every lead updated, every before-image kept). Budget: at most 25% "
        "slower. The machine is shared with other sessions' test runs, so wall times swing by 2x between identical "
        "runs; the cost is therefore taken on the CPU time of the importing process (its cleaning process "
        "included) on SQLite, where all the work is in that process, and on wall time on PostgreSQL, where the "
        "server does the SQL.",
        "",
        markdown_table(
            ["engine", "file rows", "rows", "without s", "with s", "without CPU s", "with CPU s", "cost"], table
        ),
    ]


def main() -> int:
    only_before_images = "--before-images" in sys.argv
    shapes = [name for name in _take_option("--shapes", ",".join(SHAPES)).split(",") if name]
    repeat = int(_take_option("--repeat", "1"))
    with_postgres = "--no-postgres" not in sys.argv
    if not with_postgres:
        sys.argv.remove("--no-postgres")
    if only_before_images:
        sys.argv.remove("--before-images")
    sizes = parse_sizes()
    if only_before_images:
        work = OUT / "import"
        work.mkdir(parents=True, exist_ok=True)
        print("\n".join(before_images(sizes, work)))
        return 0
    work = OUT / "import"
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted({*sizes, ALWAYS_SIZE})
    sqlite_rows, pg_rows = [], []
    for size in sizes:
        for shape in shapes:
            print(f"import: {shape}, {size} leads", file=sys.stderr)
            csv_path = ensure_corpus(size, shape)
            command = ["import_leads", str(csv_path), "--json", *SHAPES[shape]]
            db_path = work / "bench-import.sqlite3"
            firsts, agains, peaks = [], [], []
            for _ in range(repeat):
                url = fresh_sqlite(db_path)
                first, first_rss, _ = run_command(command, url)
                print(f"  import {first:.2f} s (CPU {LAST_CPU[0]:.2f} s), {first_rss:.0f} MB", file=sys.stderr)
                again, again_rss, _ = run_command(command, url)
                print(f"  re-import {again:.2f} s (CPU {LAST_CPU[0]:.2f} s), {again_rss:.0f} MB", file=sys.stderr)
                firsts.append(first)
                agains.append(again)
                peaks.append(max(first_rss, again_rss))
            first, again = min(firsts), min(agains)
            if repeat > 1:
                print(
                    f"  best/median import {first:.2f}/{sorted(firsts)[repeat // 2]:.2f} s, "
                    f"re-import {again:.2f}/{sorted(agains)[repeat // 2]:.2f} s",
                    file=sys.stderr,
                )
            indexed, unindexed, stored = sqlite_baselines(db_path, work)
            print(f"  baseline (a) {indexed:.2f} s, (b) {unindexed:.2f} s", file=sys.stderr)
            sqlite_rows.append(
                [
                    shape,
                    f"{size:,}",
                    f"{stored:,}",
                    first,
                    again,
                    indexed,
                    unindexed,
                    f"{first / indexed:.2f}",
                    f"{first / unindexed:.2f}",
                    f"{max(peaks):.0f}",
                ]
            )
        if "generator" not in shapes or not with_postgres:
            continue
        pg = postgres_compare(
            ensure_corpus(size, "generator"),
            env_str("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/crm_import_bench"),
        )
        if pg:
            pg_seconds, copy_seconds, pg_rss = pg
            print(f"  PostgreSQL import {pg_seconds:.2f} s, raw COPY {copy_seconds:.2f} s", file=sys.stderr)
            pg_rows.append([f"{size:,}", pg_seconds, copy_seconds, f"{pg_seconds / copy_seconds:.1f}", f"{pg_rss:.0f}"])
    lines = [
        "## Import (`import_leads`)",
        "",
        "Whole command (`manage.py import_leads FILE --json`, Django start-up included) into an empty SQLite "
        "database, each run in its own process; then the same file again (every row unchanged). One file per shape "
        "(bench/corpus.py: the same leads, seed 42, 5% dirty rows, written as generator: bench/generate.py's file; "
        "iso-z: lower-case headers, `2026-08-28T05:38:49Z`, sequential emails, 5% more emails upper-case in spaces; "
        "dayfirst: `28/08/2026 05:38` and `28.08.2026`, imported with --dayfirst; salesforce: `8/28/2026 5:38 AM`; "
        "hubspot: HubSpot headers, `2026-08-28 05:38`; utf16: iso-z in UTF-16 with a BOM; semicolon: `;`-separated, "
        "`28.08.2026 05:38`, `+49` phones, a `1.234,56` revenue column not imported). Baselines on the rows the "
        "import stored, in the same run: (a) `sqlite3.executemany` in one transaction into a table with the same "
        "indexes, (b) the same into an unindexed table with the indexes built afterwards. Targets: import faster than"
        " (a), within 1.5x of (b), peak memory under 1 GB (the command's process plus, for files of 32 MB or more, "
        "its cleaning process), re-import no slower than the import. The machine is shared with other work, so "
        "timings are noisy.",
        "",
        markdown_table(
            [
                "shape",
                "file rows",
                "leads stored",
                "import s",
                "re-import s",
                "(a) indexed executemany s",
                "(b) unindexed + index s",
                "import/(a)",
                "import/(b)",
                "peak RSS MB",
            ],
            sqlite_rows,
        ),
    ]
    try:
        preview, confirm, page = admin_import(50_000, work)
    except subprocess.CalledProcessError:  # its traceback is on stderr; the tables above still count
        print("  admin 50k: failed", file=sys.stderr)
    else:
        print(f"  admin 50k: preview {preview:.2f} s, confirm {confirm:.2f} s", file=sys.stderr)
        lines += [
            "",
            f"Admin import of a 50,000-lead file (upload + preview, then confirmation; Django test client, SQLite): "
            f"preview {preview:.2f} s ({page / 1024:.0f} KB of HTML), confirm {confirm:.2f} s.",
        ]
    if pg_rows:
        lines += [
            "",
            "PostgreSQL: the whole command (COPY into a staging table, upsert in SQL) beside a raw COPY of the same "
            "stored rows into a table with the same indexes.",
            "",
            markdown_table(["file rows", "import_leads s", "raw COPY s", "ratio", "peak RSS MB"], pg_rows),
        ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
