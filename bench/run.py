#!/usr/bin/env python
"""Run every bench/bench_*.py and write docs/benchmarks.md with the machine and date.

python bench/run.py [--sizes 100000,1000000] [--only import,assign] [--extra "--full --engines postgres"]

With --only, the sections of the benches run replace the sections of the same heading in the file (or are added
at its end) and the others are kept as they were.
"""

import argparse
import datetime
import os
import platform
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}"
    )


def split_sections(text: str) -> tuple[str, list[str]]:
    """(what comes before the first `## ` heading, the sections from each `## ` heading on)."""
    parts = re.split(r"^(?=## )", text, flags=re.MULTILINE)
    return parts[0], [part.strip() for part in parts[1:]]


def splice(existing: str, sections: list[str]) -> str:
    """The file with each new section in place of the one with its heading, or at the end."""
    head, kept = split_sections(existing)
    for section in sections:
        heading = section.splitlines()[0]
        at = next((i for i, old in enumerate(kept) if old.splitlines()[0] == heading), None)
        if at is None:
            kept.append(section)
        else:
            kept[at] = section
    return head.rstrip() + "\n\n" + "\n\n".join(kept) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--only", default="", help="comma-separated bench names (bench_<name>.py)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--extra", default="", help="more arguments for each bench (make bench-scale: --full ...)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    scripts = sorted(p for p in (ROOT / "bench").glob("bench_*.py") if not only or p.stem[6:] in only)
    sections = []
    for script in scripts:
        print(f"== {script.name}", file=sys.stderr)
        result = subprocess.run(
            [sys.executable, str(script), "--sizes", args.sizes, *args.extra.split()],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        if result.returncode != 0:
            print(f"{script.name} failed with exit {result.returncode}", file=sys.stderr)
            return result.returncode
        sections += split_sections(result.stdout)[1]
    out = Path(args.out)
    if only and out.exists():
        out.write_text(splice(out.read_text(), sections))
        print(f"updated {args.out}", file=sys.stderr)
        return 0
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` (bench/run.py) on {datetime.date.today().isoformat()}.\n\n"
        f"Machine: {machine()}.\n\n"
        "Each section times the product's own code beside a raw baseline measured in the same run, on the same data "
        "(bench/generate.py, seed 42, 5% dirty rows, 100 agents).\n"
    )
    Path(args.out).write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
