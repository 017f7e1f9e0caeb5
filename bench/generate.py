#!/usr/bin/env python
"""Write realistic synthetic leads.csv and agents.csv files of any size.

    python bench/generate.py --leads 1000000 --agents 100 --seed 42 --out bench/out

Vectorized with numpy/pandas: a million leads take seconds. A share of the rows
(--dirty, default 5%) is dirty the way real exports are: stray spaces, upper-case
emails, NULL markers, duplicate emails, bad addresses, unknown statuses, unreadable
or future dates, missing names. The same seed always writes the same files.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

FIRST = np.array(
    "Mary Dorothy Katherine Christine Annie Hedy Grace Ada Rózsa Sophie Emmy Ida José Zoë Søren Łukasz "
    "François Björn Ana Chloé Noah Liam Olivia Emma Amelia Mateo Lucía Jürgen Aiko Kwame Priya Chen Omar "
    "Fatima Ingrid Nikolaj Siobhán Renée Andrés Hana".split()
)
LAST = np.array(
    "Jackson Vaughan Johnson Darden Easley Lamarr Hopper Lovelace Péter Germain Noether Rhodes Müller "
    "García Kierkegaard Nowak Dubois Öberg Silva Martín Smith Brown Wilson Taylor Nguyen Kim Okafor Patel "
    "Wang Haddad Núñez Larsen Ó'Brien Kowalczyk Fernández Yamamoto Mensah Sharma Rossi Schäfer".split()
)
COMPANIES = np.array(
    "Langley Aerospace|NACA|Göttingen Analytics|Acme, Inc.|Globex|Initech|Umbrella|Hooli|Stark Industries|"
    "Wayne Enterprises|Soylent|Vandelay Industries|Cyberdyne|Tyrell|Wonka|Massive Dynamic|Pied Piper|"
    "Dunder Mifflin|Oceanic|Nakatomi".split("|")
)
SOURCES = np.array(["Web", "Referral", "Trade Show", "Cold Call", "Partner", "LinkedIn", "Webinar", ""])
# Statuses as people write them, weighted so that most leads are open.
STATUSES = np.array(
    [
        "New",
        "Open - Not Contacted",
        "Working - Contacted",
        "Contacted",
        "In Progress",
        "Attempted to Contact",
        "Qualified",
        "Nurturing",
        "Closed - Converted",
        "Closed Won",
        "Closed - Not Converted",
        "Unqualified",
        "",
    ]
)
STATUS_WEIGHTS = np.array([20, 8, 10, 8, 6, 5, 8, 4, 5, 3, 5, 3, 15], dtype=float)
DOMAINS = np.array(["example.com", "example.org", "mail.test", "corp.example", "sales.example.net"])

HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Lead Source", "Lead Status", "Created Date"]


def generate_leads(n: int, *, seed: int, dirty: float, as_of: pd.Timestamp, max_age_days: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame, created, draw = base_leads(n, rng=rng, as_of=as_of, max_age_days=max_age_days)
    created_s = pd.Series(created.strftime("%Y-%m-%d %H:%M:%S"), dtype="string[pyarrow]")
    us_style = draw < 0.1
    created_s = created_s.mask(us_style, pd.Series(created.strftime("%m/%d/%Y"), dtype="string[pyarrow]"))
    frame["Created Date"] = created_s
    return make_dirty(frame, rng, dirty, as_of)


def base_leads(
    n: int, *, rng: np.random.Generator, as_of: pd.Timestamp, max_age_days: int = 90
) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray]:
    """The clean leads (every column but the created date's text), their created instants, and one uniform draw
    per lead for choosing how its date is written: the same rng draws whatever the dates are written as, so the
    files of bench/corpus.py hold the same leads."""
    first = FIRST[rng.integers(0, len(FIRST), n)]
    last = LAST[rng.integers(0, len(LAST), n)]
    ids = np.arange(n)
    first_s = pd.Series(first, dtype="string[pyarrow]")
    last_s = pd.Series(last, dtype="string[pyarrow]")
    ascii_first = first_s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
    ascii_last = (
        last_s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower().str.replace("'", "")
    )
    domain = pd.Series(DOMAINS[rng.integers(0, len(DOMAINS), n)], dtype="string[pyarrow]")
    email = ascii_first + "." + ascii_last + "." + pd.Series(ids.astype(str), dtype="string[pyarrow]") + "@" + domain

    phone_digits = rng.integers(2_000_000, 9_999_999, n).astype(str)
    area = rng.integers(200, 999, n).astype(str)
    phone = pd.Series(np.char.add(np.char.add(np.char.add("(", area), ") "), phone_digits), dtype="string[pyarrow]")
    phone = phone.mask(rng.random(n) < 0.2, "")

    age_seconds = rng.integers(0, max_age_days * 86400, n)
    created = as_of - pd.to_timedelta(age_seconds, unit="s")
    draw = rng.random(n)

    frame = pd.DataFrame(
        {
            "First Name": first_s,
            "Last Name": last_s,
            "Email": email,
            "Phone": phone,
            "Company": pd.Series(COMPANIES[rng.integers(0, len(COMPANIES), n)], dtype="string[pyarrow]"),
            "Lead Source": pd.Series(SOURCES[rng.integers(0, len(SOURCES), n)], dtype="string[pyarrow]"),
            "Lead Status": pd.Series(
                STATUSES[rng.choice(len(STATUSES), n, p=STATUS_WEIGHTS / STATUS_WEIGHTS.sum())],
                dtype="string[pyarrow]",
            ),
            "Created Date": pd.Series("", index=range(n), dtype="string[pyarrow]"),
        }
    )
    return frame, created, draw


def make_dirty(frame: pd.DataFrame, rng: np.random.Generator, share: float, as_of: pd.Timestamp) -> pd.DataFrame:
    n = len(frame)
    n_dirty = int(n * share)
    if n_dirty == 0:
        return frame
    rows = rng.choice(n, n_dirty, replace=False)
    kinds = rng.integers(0, 10, n_dirty)

    def pick(kind):
        return rows[kinds == kind]

    frame.loc[pick(0), "Email"] = "  " + frame.loc[pick(0), "Email"].str.upper() + " "  # fixable: spaces + case
    frame.loc[pick(1), "Email"] = frame.loc[pick(1), "Email"].str.replace(r"\.[a-z]+$", "", regex=True)  # no dot
    frame.loc[pick(2), "Email"] = rng.choice(["", "NULL", "N/A"], len(pick(2)))  # missing email
    frame.loc[pick(3), "Lead Status"] = rng.choice(["Bad Timing", "Call back", "???"], len(pick(3)))
    frame.loc[pick(4), "Created Date"] = rng.choice(["not a date", "31/31/2026", "yesterday"], len(pick(4)))
    frame.loc[pick(5), "Created Date"] = (as_of + pd.Timedelta(days=400)).strftime("%Y-%m-%d")  # future
    frame.loc[pick(6), ["First Name", "Last Name"]] = ""  # no name
    frame.loc[pick(7), "First Name"] = "  " + frame.loc[pick(7), "First Name"] + "   "  # stray spaces
    frame.loc[pick(8), "Lead Status"] = frame.loc[pick(8), "Lead Status"].str.upper()  # shouting
    # Duplicates: a later row repeats an earlier lead's email in another case.
    dup_rows = pick(9)
    sources = rng.integers(0, n, len(dup_rows))
    frame.loc[dup_rows, "Email"] = frame["Email"].iloc[sources].str.upper().to_numpy()
    return frame


def generate_agents(n: int, *, seed: int, dirty: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    ids = np.arange(1, n + 1)
    first = FIRST[rng.integers(0, len(FIRST), n)]
    last = LAST[rng.integers(0, len(LAST), n)]
    names = pd.Series(np.char.add(np.char.add(first, " "), last), dtype="string[pyarrow]")
    email = pd.Series(np.char.add(np.char.add("agent", ids.astype(str)), "@sales.example"), dtype="string[pyarrow]")
    active = pd.Series(rng.choice(["yes", "Yes", "Y", "true", "1", "no"], n, p=[0.3, 0.2, 0.1, 0.1, 0.2, 0.1]))
    capacity = pd.Series(np.where(rng.random(n) < 0.3, "", rng.integers(50, 500, n).astype(str)))
    frame = pd.DataFrame({"Agent Name": names, "E-mail": email, "Enabled": active, "Max Leads": capacity})
    n_dirty = int(n * dirty)
    if n_dirty:
        rows = rng.choice(n, n_dirty, replace=False)
        frame.loc[rows[0::2], "Enabled"] = "maybe"
        frame.loc[rows[1::2], "E-mail"] = frame.loc[rows[1::2], "E-mail"].str.upper()
    return frame


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty", type=float, default=0.05, help="share of dirty lead rows (0..1)")
    parser.add_argument("--as-of", default=None, help="the 'now' of the data (ISO date); default: today")
    parser.add_argument("--max-age-days", type=int, default=90)
    parser.add_argument("--out", default="bench/out", help="output folder")
    args = parser.parse_args(argv)
    if not 0 <= args.dirty <= 1:
        parser.error("--dirty must be between 0 and 1")
    as_of = pd.Timestamp(args.as_of) if args.as_of else pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    leads = generate_leads(args.leads, seed=args.seed, dirty=args.dirty, as_of=as_of, max_age_days=args.max_age_days)
    leads.to_csv(out / "leads.csv", index=False)
    agents = generate_agents(args.agents, seed=args.seed, dirty=args.dirty)
    agents.to_csv(out / "agents.csv", index=False)
    print(f"wrote {len(leads)} leads and {len(agents)} agents to {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
