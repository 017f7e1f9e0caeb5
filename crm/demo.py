"""The demo data: the sample leads with their created dates moved to the day of the run.

fixtures/leads.csv was generated on SAMPLE_DATE (README, Development), so on any later day its leads have
aged: a month on, none is fresh and every open one is stale. `make run` writes a copy whose readable created
dates are moved on by whole days (the run's date - SAMPLE_DATE), so the team looks the same every day: same
names, same dirt, same classes. Everything else stays byte for byte: the other cells, the quoting, the line
endings, the encoding, each date's own format (2026-11-15 17:39:05 stays YYYY-MM-DD hh:mm:ss, 10/27/2026
stays MM/DD/YYYY), and the dates the import cannot read (`yesterday`) stay as they are.

Two runs on the same day write the same file, so the second import finds every row unchanged. A run on a
later day moves the dates again: those leads are `updated` (their created date follows the day) and keep
their agents; the database then matches that day's file.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from imports.reading import open_source
from imports.values import parse_datetimes
from leads.importing import LEAD_SCHEMA

SAMPLE_DATE = date(2026, 11, 24)

# The calendar date at the start of each format the import reads (imports/values.py); what follows it (a time,
# a zone) is kept as written.
_LEADING_DATE = re.compile(
    r"^(?:(?P<iso_y>[0-9]{4})-(?P<iso_m>[0-9]{1,2})-(?P<iso_d>[0-9]{1,2})"
    r"|(?P<a>[0-9]{1,2})(?P<sep>[/.])(?P<b>[0-9]{1,2})(?P=sep)(?P<y>[0-9]{4}))"
)


@dataclass(frozen=True)
class DemoFile:
    path: Path
    days: int  # how far the dates moved
    moved: int  # created dates moved
    kept: int  # rows whose created date stays as written (unreadable or missing)


def _same_width(number: int, written: str) -> str:
    return str(number).zfill(len(written))


def shift_date_text(text: str, days: int, *, dayfirst: bool = False) -> str:
    """`text` (a created-date cell the import can read) with its calendar date moved by `days`, format kept."""
    stripped = text.strip()
    match = _LEADING_DATE.match(stripped)
    if match is None:
        return text
    try:
        new = _moved_date(match, days, dayfirst=dayfirst)
    except ValueError:  # not a calendar date (2026-02-30): the import rejects it, so it stays as written
        return text
    start = text.index(stripped)
    return text[:start] + new + stripped[match.end() :] + text[start + len(stripped) :]


def _moved_date(match: re.Match, days: int, *, dayfirst: bool) -> str:
    if match["iso_y"]:
        moved = date(int(match["iso_y"]), int(match["iso_m"]), int(match["iso_d"])) + timedelta(days=days)
        return (
            f"{_same_width(moved.year, match['iso_y'])}-{_same_width(moved.month, match['iso_m'])}"
            f"-{_same_width(moved.day, match['iso_d'])}"
        )
    day_first = match["sep"] == "." or dayfirst
    day_text, month_text = (match["a"], match["b"]) if day_first else (match["b"], match["a"])
    moved = date(int(match["y"]), int(month_text), int(day_text)) + timedelta(days=days)
    day_new, month_new = _same_width(moved.day, day_text), _same_width(moved.month, month_text)
    first, second = (day_new, month_new) if day_first else (month_new, day_new)
    return f"{first}{match['sep']}{second}{match['sep']}{_same_width(moved.year, match['y'])}"


def _records(text: str, delimiter: str):
    """(raw text, cells) per CSV record, the raw text with its line ending(s), so unchanged rows stay exact."""
    consumed: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    for cells in csv.reader(lines(), delimiter=delimiter):
        raw = "".join(consumed)
        consumed.clear()
        yield raw, cells
    if consumed:  # blank lines at the end
        yield "".join(consumed), []


def _rewritten(raw: str, cells: list[str], column: int, value: str, delimiter: str) -> str:
    ending = raw[len(raw.rstrip("\r\n")) :]

    def written(row):
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow(row)
        return out.getvalue()

    if written(cells) == raw:  # quoted the way csv writes it: write the new cell the same way
        return written([*cells[:column], value, *cells[column + 1 :]])
    if raw.count(cells[column]) == 1:
        return raw.replace(cells[column], value)
    return raw


def make_demo_leads(
    *, source: Path, out_dir: Path, as_of_date: date, time_zone: str, dayfirst: bool = False
) -> DemoFile:
    """Write out_dir/leads.csv: `source` with every readable created date moved by (as_of_date - SAMPLE_DATE).

    Raises imports.reading.RefusedFile when `source` cannot be read as a leads file.
    """
    sample = open_source(source, LEAD_SCHEMA)
    column = sample.headers.index(sample.columns["created_at"])
    days = (as_of_date - SAMPLE_DATE).days
    text = Path(source).read_bytes().decode(sample.encoding)
    records = list(_records(text, sample.delimiter))
    dates = pd.Series([cells[column].strip() if len(cells) > column else None for _, cells in records[1:]])
    readable = parse_datetimes(dates, dayfirst=dayfirst, time_zone=time_zone).notna().to_numpy()
    parts, moved = [records[0][0]] if records else [], 0
    for (raw, cells), ok in zip(records[1:], readable, strict=True):
        if ok and days:
            value = shift_date_text(cells[column], days, dayfirst=dayfirst)
            raw = _rewritten(raw, cells, column, value, sample.delimiter)
        moved += bool(ok)
        parts.append(raw)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "leads.csv"
    path.write_bytes("".join(parts).encode(sample.encoding))
    rows = sum(1 for _, cells in records[1:] if any(cell.strip() for cell in cells))
    return DemoFile(path=path, days=days, moved=moved, kept=rows - moved)
