#!/usr/bin/env python
"""Write the same leads as lead CSV files of several shapes (a corpus), from one seed.

    python bench/corpus.py --leads 200000 --seed 42 --as-of 2026-11-24 --out bench/out/corpus-200000

The leads (names, emails, phones, companies, sources, statuses, created instants relative to --as-of, and the
~5% dirty rows) are bench/generate.py's; only how a file writes them differs:

- generator: bench/generate.py's own file (Salesforce-like headers, `2026-08-28 05:38:49`, 10% `08/28/2026`);
- iso-z: plain lower-case headers (`name,email,...,created_at`), `2026-08-28T05:38:49Z`, sequential emails
  (`lead0000001@...`), 5% more emails upper-case with spaces around them;
- dayfirst: day-first dates (`28/08/2026 05:38`, a fifth `28.08.2026`), imported with --dayfirst;
- salesforce: a Salesforce report export (`First Name`, ..., `Created Date`), `8/28/2026 5:38 AM`;
- hubspot: a HubSpot contact export (`Phone Number`, `Company Name`, `Original Source`, `Create Date`),
  `2026-08-28 05:38`;
- utf16: the iso-z file in UTF-16 with a BOM;
- semicolon: `;`-separated, European content: `28.08.2026 05:38`, `+49 ...` phones, an `Annual Revenue`
  column (not imported) written `1.234.567,89`.

Deterministic: the same seed and as-of always write the same files. `SHAPES` maps each shape to its file name
and the import_leads options it is imported with.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import DOMAINS, base_leads, generate_leads, make_dirty

STRING = "string[pyarrow]"
# shape -> the import_leads options it needs
SHAPES: dict[str, list[str]] = {
    "generator": [],
    "iso-z": [],
    "dayfirst": ["--dayfirst"],
    "salesforce": [],
    "hubspot": [],
    "utf16": [],
    "semicolon": [],
}


def file_name(shape: str) -> str:
    return f"leads-{shape}.csv"


def _text(values) -> pd.Series:
    return pd.Series(np.asarray(values).astype(str), dtype=STRING)


def _two(values) -> pd.Series:
    return _text(np.char.zfill(np.asarray(values).astype(str), 2))


def _parts(created: pd.DatetimeIndex) -> dict[str, pd.Series]:
    return {
        "Y": _text(created.year),
        "m": _two(created.month),
        "d": _two(created.day),
        "H": _two(created.hour),
        "M": _two(created.minute),
        "S": _two(created.second),
        "-m": _text(created.month),
        "-d": _text(created.day),
        "-I": _text((created.hour + 11) % 12 + 1),
        "p": pd.Series(np.where(created.hour < 12, "AM", "PM"), dtype=STRING),
    }


def _dates(shape: str, created: pd.DatetimeIndex, draw: np.ndarray) -> pd.Series:
    p = _parts(created)
    if shape == "iso-z":
        return p["Y"] + "-" + p["m"] + "-" + p["d"] + "T" + p["H"] + ":" + p["M"] + ":" + p["S"] + "Z"
    if shape == "dayfirst":
        slash = p["d"] + "/" + p["m"] + "/" + p["Y"] + " " + p["H"] + ":" + p["M"]
        return slash.mask(draw < 0.2, p["d"] + "." + p["m"] + "." + p["Y"])
    if shape == "salesforce":
        return p["-m"] + "/" + p["-d"] + "/" + p["Y"] + " " + p["-I"] + ":" + p["M"] + " " + p["p"]
    if shape == "hubspot":
        return p["Y"] + "-" + p["m"] + "-" + p["d"] + " " + p["H"] + ":" + p["M"]
    if shape == "semicolon":
        return p["d"] + "." + p["m"] + "." + p["Y"] + " " + p["H"] + ":" + p["M"]
    raise ValueError(shape)


def shape_frame(shape: str, n: int, *, seed: int, dirty: float, as_of: pd.Timestamp) -> pd.DataFrame:
    """The leads of `seed` as the shape writes them (utf16: as iso-z; the encoding is the writer's)."""
    if shape == "generator":
        return generate_leads(n, seed=seed, dirty=dirty, as_of=as_of)
    rng = np.random.default_rng(seed)
    frame, created, draw = base_leads(n, rng=rng, as_of=as_of)
    date_shape = "iso-z" if shape == "utf16" else shape
    frame["Created Date"] = _dates(date_shape, created, draw)
    # A second generator for what only some shapes add, so that the leads and their dirty rows stay the same.
    extra = np.random.default_rng([seed, 1])
    if date_shape == "iso-z":
        domain = pd.Series(DOMAINS[extra.integers(0, len(DOMAINS), n)], dtype=STRING)
        frame["Email"] = "lead" + _text(np.char.zfill(np.arange(1, n + 1).astype(str), 7)) + "@" + domain
    frame = make_dirty(frame, rng, dirty, as_of)
    if date_shape == "iso-z":
        loud = extra.random(n) < 0.05
        frame.loc[loud, "Email"] = " " + frame.loc[loud, "Email"].str.upper() + "  "
        name = (frame["First Name"].str.strip() + " " + frame["Last Name"].str.strip()).str.strip()
        return pd.DataFrame(
            {
                "name": name,
                "email": frame["Email"],
                "phone": frame["Phone"],
                "company": frame["Company"],
                "source": frame["Lead Source"],
                "status": frame["Lead Status"],
                "created_at": frame["Created Date"],
            }
        )
    if shape == "hubspot":
        return frame.rename(
            columns={
                "Phone": "Phone Number",
                "Company": "Company Name",
                "Lead Source": "Original Source",
                "Created Date": "Create Date",
            }
        )
    if shape == "semicolon":
        digits = _text(extra.integers(1_000_000, 9_999_999, n))
        area = _text(extra.integers(30, 99, n))
        frame["Phone"] = ("+49 " + area + " " + digits).where(frame["Phone"] != "", "")
        cents = extra.integers(10_000_00, 50_000_000_00, n)
        euros = pd.Series(cents // 100).map("{:,}".format).str.replace(",", ".")
        frame["Annual Revenue"] = (euros + "," + pd.Series(cents % 100).map("{:02d}".format)).astype(STRING)
    return frame


def write_shape(shape: str, n: int, *, seed: int, dirty: float, as_of: pd.Timestamp, out: Path) -> Path:
    frame = shape_frame(shape, n, seed=seed, dirty=dirty, as_of=as_of)
    target = out / file_name(shape)
    if shape == "utf16":
        frame.to_csv(target, index=False, encoding="utf-16")  # Python's utf-16 writes a BOM
    elif shape == "semicolon":
        frame.to_csv(target, index=False, sep=";")
    else:
        frame.to_csv(target, index=False)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty", type=float, default=0.05, help="share of dirty lead rows (0..1)")
    parser.add_argument("--as-of", required=True, help="the 'now' of the data (ISO date): dates are before it")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes")
    parser.add_argument("--out", default="bench/out/corpus", help="output folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for shape in args.shapes.split(","):
        if shape not in SHAPES:
            parser.error(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
        target = write_shape(
            shape, args.leads, seed=args.seed, dirty=args.dirty, as_of=pd.Timestamp(args.as_of), out=out
        )
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
