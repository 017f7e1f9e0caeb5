"""Shared plumbing for the bench_*.py scripts: a fresh database, a timer, a table.

Each bench script runs in its own process (Django is set up once per process),
takes --sizes, and prints one Markdown section to stdout; bench/run.py collects
the sections into docs/benchmarks.md.
"""

import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

# The benchmarks, and the commands they start, run as on a developer's machine (DEBUG defaults to off).
os.environ.setdefault("DEBUG", "1")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def setup_django(db_path: Path | None = None, database_url: str | None = None):
    """Point Django at a fresh database (SQLite file by default) and migrate it."""
    if database_url is None:
        db_path = db_path or OUT / "bench.sqlite3"
        db_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-writers"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{db_path}"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def ensure_data(n_leads: int, n_agents: int = 100, seed: int = 42, dirty: float = 0.05) -> Path:
    """Generate (once) and return the folder holding leads.csv/agents.csv of that size."""
    from bench.generate import main as generate

    folder = OUT / f"data-{n_leads}-{n_agents}-{seed}-{dirty}"
    if not (folder / "leads.csv").exists():
        generate(
            [
                "--leads",
                str(n_leads),
                "--agents",
                str(n_agents),
                "--seed",
                str(seed),
                "--dirty",
                str(dirty),
                "--as-of",
                "2026-11-24",
                "--out",
                str(folder),
            ]
        )
    return folder


class Timer:
    def __init__(self):
        self.seconds = None


@contextmanager
def timed(label: str = ""):
    timer = Timer()
    start = time.perf_counter()
    yield timer
    timer.seconds = time.perf_counter() - start
    if label:
        print(f"  {label}: {timer.seconds:.2f} s", file=sys.stderr)


def high_water_mb(pid: int) -> float:
    """A process's own peak RSS (VmHWM): unlike getrusage, not inflated by the parent's size at fork."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # the process has ended
        pass
    return 0.0


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_sizes(default: str = "100000,1000000"):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=default, help="comma-separated lead counts")
    args = parser.parse_args()
    return [int(s) for s in args.sizes.split(",") if s]


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(f"{c:.2f}" if isinstance(c, float) else str(c) for c in row) + " |")
    return "\n".join(lines)
