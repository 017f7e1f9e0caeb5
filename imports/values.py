"""Cleaning values: vectorized over pyarrow-backed pandas strings, a whole column at a time.

The functions turn a column of cells into typed values (`parse_datetimes`, `name_keys`, ...); the cleaners
(`Text`, `Email`, `Choice`, `YesNo`, `WholeNumber`, `DecimalNumber`, `DateTime`, `Checked`,
`NameList`) are what an import schema (imports.schema)
puts on a column: each cleans the column's cells and names, per row, the rule a cell breaks. They hold only
plain data, so a schema travels to the cleaning process pickled.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.normalize import name_key

STRING = pd.StringDtype("pyarrow")
MISSING_MARKERS = frozenset({"", "null", "n/a", "na", "nan", "none", "-"})

# Regexes are written for RE2 (pyarrow) so they run vectorized: pandas falls back to Python's re, one call per
# value, for \s, \d on non-ASCII data and other constructs RE2 treats differently.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())  # Python's whitespace, as literals
_WS = f"[{WHITESPACE}]"
_NOT_WS_OR_AT = f"[^@{WHITESPACE}]"

_ISO_DATE = (
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?:[Tt]| +)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?)?"
    r" *(?P<z>Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_SLASH_DATE = (
    r"^(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})/(?P<y>[0-9]{4})"
    r"(?:(?:[Tt]| +)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?(?: *(?P<p>[AaPp][Mm]))?)?$"
)
_DOT_DATE = (
    r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})"
    r"(?:(?:[Tt]| +)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?)?$"
)


# Exact shapes read in C before any regex extraction: those of real files (ISO 8601 with or without a Z, exports'
# month-first dates with AM/PM, European dotted and day-first dates). Each shape's `pattern` (RE2 and Python's re
# alike) picks its values; `iso` rewrites them to ISO 8601 (None: read as written), which pandas reads by `fmt`.
# A shape is tried only if one of the values left matches it (the first one, tested in Python), so a file pays
# for the shapes it uses, not for all of them.
@dataclass(frozen=True)
class _Shape:
    pattern: str
    fmt: str
    iso: str | None = None
    offset: int | None = None  # minutes: 0 for a written Z; None where the import's zone applies
    meridiem: bool = False  # ends with AM/PM: the hour (1-12) is read on a 24-hour clock


_D = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_HM = r"([0-9]{1,2}):([0-9]{2})"
_S = r":([0-9]{2})"
_F = r"\.([0-9]{1,9})"
_DMY = r"([0-9]{1,2})[.]([0-9]{1,2})[.]([0-9]{4})"
_SLASHED = r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})"
_CLOCK12 = r"(1[0-2]|0?[1-9]):([0-9]{2})"
_FAST_SHAPES = [
    _Shape(f"{_D} {_HM}{_S}", "%Y-%m-%d %H:%M:%S"),
    _Shape(f"{_D}T{_HM}{_S}", "%Y-%m-%dT%H:%M:%S"),
    _Shape(f"{_D}[T ]{_HM}{_S}[Zz]", "%Y-%m-%dT%H:%M:%S", r"\1-\2-\3T\4:\5:\6", offset=0),
    _Shape(f"{_D}T{_HM}{_S}{_F}", "%Y-%m-%dT%H:%M:%S.%f"),
    _Shape(f"{_D}[T ]{_HM}{_S}{_F}[Zz]", "%Y-%m-%dT%H:%M:%S.%f", r"\1-\2-\3T\4:\5:\6.\7", offset=0),
    _Shape(f"{_D} {_HM}", "%Y-%m-%d %H:%M"),
    _Shape(f"{_D}T{_HM}", "%Y-%m-%dT%H:%M"),
    _Shape(f"{_D}[T ]{_HM}[Zz]", "%Y-%m-%dT%H:%M", r"\1-\2-\3T\4:\5", offset=0),
    _Shape(_D, "%Y-%m-%d"),
    _Shape(_DMY, "%Y-%m-%d", r"\3-\2-\1"),
    _Shape(f"{_DMY} {_HM}", "%Y-%m-%d %H:%M", r"\3-\2-\1 \4:\5"),
    _Shape(f"{_DMY} {_HM}{_S}", "%Y-%m-%d %H:%M:%S", r"\3-\2-\1 \4:\5:\6"),
]


def _slash_shapes(dayfirst: bool) -> list[_Shape]:
    """Slashed dates: month first, or day first when the import says so."""
    md = r"\3-\2-\1" if dayfirst else r"\3-\1-\2"
    return [
        _Shape(_SLASHED, "%Y-%m-%d", md),
        _Shape(f"{_SLASHED} {_HM}", "%Y-%m-%d %H:%M", md + r" \4:\5"),
        _Shape(f"{_SLASHED} {_HM}{_S}", "%Y-%m-%d %H:%M:%S", md + r" \4:\5:\6"),
        _Shape(f"{_SLASHED} {_CLOCK12} ?[AaPp][Mm]", "%Y-%m-%d %H:%M", md + r" \4:\5", meridiem=True),
        _Shape(f"{_SLASHED} {_CLOCK12}{_S} ?[AaPp][Mm]", "%Y-%m-%d %H:%M:%S", md + r" \4:\5:\6", meridiem=True),
    ]


_SAMPLE_MISSES = 8  # values matching no fast shape before the rest goes to the patterns

# Created dates are accepted from this instant on (and up to the import's clock): earlier ones are typing
# mistakes, and year 1 with a positive offset would be year 0, which Python's datetime cannot hold.
EARLIEST_DATE = pd.Timestamp("1900-01-01", tz="UTC")
MAX_OFFSET_MINUTES = 14 * 60  # the widest offsets in use are -12:00 and +14:00
_OFFSET = r"(?:[T ][0-9:.,]+) *[+-](?P<h>[0-9]{2}):?(?P<m>[0-9]{2})?$"
_PLAIN_DATE = "[!-~]+(?: [!-~]+)*"  # printable ASCII, single spaces: what the exact shapes may read
_MAYBE_OFFSET = "[T ][0-9:.,]+ *[+-][0-9]{2}"  # in every value _OFFSET matches (RE2 reads it alike)
_EMAIL = f"{_NOT_WS_OR_AT}+@[^@.{WHITESPACE}]+(?:[.][^@.{WHITESPACE}]+)+"
_EMAIL_RE = re.compile(_EMAIL)
_WHOLE, _POINT_ZEROS = r"[0-9]+(?:[.]0*)?", r"\.0*$"  # a whole number (12, 12.0); what is cut off it
_WHOLE_RE, _POINT_ZEROS_RE = re.compile(_WHOLE), re.compile(_POINT_ZEROS)
# A decimal number, its whole part (no sign, no leading zeros) and its fraction (no trailing zeros).
_DECIMAL, _DECIMAL_WHOLE, _DECIMAL_FRACTION = r"\+?[0-9]*(?:[.][0-9]*)?", r"^\+?0*([0-9]*)", r"[.]([0-9]*?)0*$"
_DECIMAL_RE, _DECIMAL_WHOLE_RE, _DECIMAL_FRACTION_RE = (
    re.compile(_DECIMAL),
    re.compile(_DECIMAL_WHOLE),
    re.compile(_DECIMAL_FRACTION),
)


def missing_to_na(values: pd.Series) -> pd.Series:
    """Trim, and turn empty cells and NULL/N/A/NA/nan/None/- markers into <NA>."""
    trimmed = values.astype(STRING).str.strip()
    return trimmed.mask(trimmed.str.lower().isin(MISSING_MARKERS))


def collapse_spaces(values: pd.Series) -> pd.Series:
    return values.str.replace(_WS + "+", " ", regex=True)


# ---------------------------------------------------------------------------------------------------------
# One value at a time: the same rules in plain Python, for a request of a few records (imports.records), where a
# pandas call's fixed cost outweighs the work. Each helper matches its column's twin exactly (test_records
# proves the two agree); the patterns are the same ones, compiled.

_SPACES = re.compile(_WS + "+")
_CHOICE_HYPHEN = " ?- ?"
_CHOICE_HYPHEN_RE = re.compile(_CHOICE_HYPHEN)


def lower(text: str) -> str:
    """`str.lower` as pyarrow's (utf8proc) does it: Python's own for ASCII, pyarrow's for the rest (their Unicode
    tables differ, and Python lowers a final sigma and İ by context)."""
    return text.lower() if text.isascii() else pc.utf8_lower(pa.scalar(text, pa.string())).as_py()


def missing_or_trimmed(value: str) -> str | None:
    """missing_to_na for one cell: trimmed, None for an empty cell or a missing marker."""
    trimmed = value.strip()  # pyarrow's utf8_trim_whitespace trims the same characters
    return None if lower(trimmed) in MISSING_MARKERS else trimmed


def collapse_spaces_of(value: str) -> str:
    return _SPACES.sub(" ", value)


def name_key_of(name: str, max_length: int = 200) -> str:
    """name_keys for one name (its ASCII path reads an ASCII name exactly as core.normalize.name_key does)."""
    return name_key(name)[:max_length]


_ASCII_WHITESPACE = "[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ]+"
_PLAIN_ASCII = "[ -~\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f]*"  # printable ASCII and ASCII whitespace


def per_distinct(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`function(values)` for a `function` that reads each value on its own (a vectorized `map`), computed once
    per distinct value when the values repeat (a company, a status: a few hundred values written a million
    times) and spread back; on a column of mostly distinct values, over the column itself."""
    codes, distinct = pd.factorize(values.astype(STRING))
    if 2 * len(distinct) > len(values):
        return function(values)
    # The distinct values, then a missing one (what function makes of <NA>, for the missing cells).
    once = function(pd.Series(pd.array([*distinct, None], dtype=STRING)))
    taken = once.array.take(np.where(codes < 0, len(distinct), codes))
    return pd.Series(taken, index=values.index)


def name_keys(names: pd.Series, max_length: int = 200) -> pd.Series:  # name_key_of for one name
    """`core.normalize.name_key` over a column: ASCII names vectorized, the rest mapped per distinct name."""
    return per_distinct(names, lambda column: _name_keys(column, max_length))


def _name_keys(names: pd.Series, max_length: int) -> pd.Series:
    names = names.astype(STRING)
    ascii_only = names.str.fullmatch(_PLAIN_ASCII).fillna(False).astype(bool)
    keys = (
        names.where(ascii_only)
        .str.lower()
        .str.replace(_ASCII_WHITESPACE, " ", regex=True)
        .str.strip("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")
    )
    others = names[~ascii_only & names.notna()]
    if len(others):
        distinct = others.unique()
        mapping = dict(zip(distinct, (name_key(n) for n in distinct), strict=True))
        keys = keys.mask(~ascii_only & names.notna(), _mapped(others, mapping))
    return keys.fillna("").str.slice(0, max_length).astype(STRING)


def phone_keys(phones: pd.Series) -> pd.Series:
    """`core.normalize.phone_key` over a column (digits, last first); a missing phone stays missing."""
    digits = phones.astype(STRING).str.replace("[^0-9]", "", regex=True)
    return digits.str.slice(step=-1).astype(STRING)


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's cells as floats, NaN where missing or not a number (`pd.to_numeric(errors="coerce")`)."""
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    values = frame[column]
    digits = _digit_floats(values)
    if digits is not None:
        return pd.Series(digits, index=frame.index)
    numbers = pd.to_numeric(values, errors="coerce")
    return pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=frame.index)


_DIGITS = "^[0-9]{1,15}$"  # exact as a float64


def _digit_floats(values: pd.Series) -> np.ndarray | None:
    """A pyarrow string column of plain digits (or missing cells), as floats cast in C: what to_numeric makes of
    it, without its per-value Python conversion. None for any other column (to_numeric then reads it)."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    cells = values.array._pa_array
    if cells.null_count == len(cells):
        return np.full(len(cells), np.nan)
    if not pc.all(pc.match_substring_regex(cells, _DIGITS), skip_nulls=True).as_py():
        return None
    return pc.cast(cells, pa.int64()).to_numpy(zero_copy_only=False).astype("float64", copy=False)


def _floats(values: pd.Series) -> pd.Series:
    return pd.Series(pd.array(values, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan), index=values.index)


def offsets_out_of_range(values: pd.Series) -> pd.Series:
    """Whether a date-time ends with an offset beyond ±14:00 or with more than 59 minutes (`+25:00`, `+99:99`)."""
    values = values.astype(STRING)
    # Only the values with a time and a sign after it can end with an offset: found in C, and those alone are
    # read by the regex (in Python, value by value).
    maybe = values.str.contains(_MAYBE_OFFSET).fillna(False).to_numpy(dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    if maybe.any():
        parts = values[maybe].str.extract(_OFFSET)
        minutes = _numbers(parts, "h") * 60 + _numbers(parts, "m").fillna(0)
        out[maybe] = ((minutes > MAX_OFFSET_MINUTES) | (_numbers(parts, "m") > 59)).fillna(False).to_numpy(bool)
    return pd.Series(out, index=values.index)


def _fast_parse(values: pd.Series, todo: np.ndarray, *, dayfirst: bool) -> tuple[np.ndarray, np.ndarray]:
    """Read what the exact shapes read, in C; clears `todo` where read. Returns (naive stamps, offsets in minutes,
    NaN where none was written).

    A shape is run over the values left only when the first of them matches it, so a column in one shape costs
    a few vectorized calls; pandas reads only the values the shape's pattern matches. Only plain ASCII with
    single spaces and no ":6" (C reads a second of 60 as the next minute) is tried; what a shape does not read
    is left to the patterns, so the shapes accept nothing the patterns would not (test_cleaning proves the two
    agree)."""
    stamps = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    offsets = np.full(len(values), np.nan)
    plain = values.str.fullmatch(_PLAIN_DATE).to_numpy(dtype=bool, na_value=False)
    plain &= ~values.str.contains(":6", regex=False).to_numpy(dtype=bool, na_value=False)
    candidates = todo & plain
    untried = [*_FAST_SHAPES, *_slash_shapes(dayfirst)]
    misses = 0
    while untried and candidates.any() and misses <= _SAMPLE_MISSES:
        at = int(np.argmax(candidates))
        sample = values.iloc[at]
        shape = next((s for s in untried if re.fullmatch(s.pattern, sample)), None)
        if shape is None:
            candidates[at] = False  # left to the patterns
            misses += 1
            continue
        untried.remove(shape)
        positions = np.flatnonzero(candidates)
        texts = values.iloc[positions]
        matched = texts.str.fullmatch(shape.pattern).to_numpy(dtype=bool, na_value=False)
        positions, texts = positions[matched], texts[matched]
        if shape.iso is not None:
            texts = texts.str.replace(f"^{shape.pattern}$", shape.iso, regex=True)
        parsed = pd.to_datetime(texts, format=shape.fmt, errors="coerce").to_numpy(dtype="datetime64[us]", copy=True)
        if shape.meridiem:
            pm = values.iloc[positions].str.slice(-2).str.lower().eq("pm").to_numpy(dtype=bool, na_value=False)
            noon = (parsed - parsed.astype("datetime64[D]")) >= np.timedelta64(12, "h")  # 12:xx
            parsed = parsed + np.where(pm & ~noon, 12, np.where(~pm & noon, -12, 0)).astype("timedelta64[h]")
        read = ~np.isnat(parsed)
        stamps[positions[read]] = parsed[read]
        if shape.offset is not None:
            offsets[positions[read]] = shape.offset
        todo[positions[read]] = False
        candidates[positions[read]] = False
        candidates[at] = False  # matched by the sample's test but not read: the patterns decide
    return stamps, offsets


def _parse_by_patterns(rest: pd.Series, *, dayfirst: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every readable shape (the regexes above), over the values the exact shapes left. Returns (naive stamps,
    offsets in minutes, NaN where none was written), NaT where unreadable."""
    parts = rest.str.extract(_ISO_DATE)
    slash = rest.str.extract(_SLASH_DATE)
    dot = rest.str.extract(_DOT_DATE)
    month_col, day_col = ("b", "a") if dayfirst else ("a", "b")
    year = _numbers(parts, "y").fillna(_numbers(slash, "y")).fillna(_numbers(dot, "y"))
    month = _numbers(parts, "m").fillna(_numbers(slash, month_col)).fillna(_numbers(dot, "m"))
    day = _numbers(parts, "d").fillna(_numbers(slash, day_col)).fillna(_numbers(dot, "d"))
    hour = _numbers(parts, "H").fillna(_numbers(slash, "H")).fillna(_numbers(dot, "H"))
    minute = _numbers(parts, "M").fillna(_numbers(slash, "M")).fillna(_numbers(dot, "M"))
    second = _numbers(parts, "S").fillna(_numbers(slash, "S")).fillna(_numbers(dot, "S"))
    meridiem = slash["p"].str.lower()
    is_pm = (meridiem == "pm").fillna(False).to_numpy(dtype=bool)
    is_am = (meridiem == "am").fillna(False).to_numpy(dtype=bool)
    bad_clock = (is_pm | is_am) & ((hour < 1) | (hour > 12)).to_numpy(dtype=bool)
    hour = hour.where(~(is_pm & (hour != 12)), hour + 12)
    hour = hour.where(~(is_am & (hour == 12)), 0)
    fraction = parts["f"].str.pad(9, side="right", fillchar="0").str.slice(0, 6)
    micros = _numbers(pd.DataFrame({"f": fraction}), "f").fillna(0)
    stamp = pd.to_datetime(
        pd.DataFrame(
            {
                "year": year,
                "month": month,
                "day": day,
                "hour": hour.fillna(0),
                "minute": minute.fillna(0),
                "second": second.fillna(0),
            }
        ),
        errors="coerce",
    )
    stamp = stamp.astype("datetime64[us]") + pd.to_timedelta(micros, unit="us")
    stamp = stamp.mask(bad_clock | (hour > 23) | (minute > 59) | (second > 59))
    zone = parts["z"].str.upper()
    sign = _floats(zone.str.slice(0, 1).map({"+": 1.0, "-": -1.0, "Z": 0.0}))
    digits = pd.DataFrame(
        {
            "h": zone.str.slice(1, 3),
            "m": zone.str.replace(r"[^0-9]", "", regex=True).str.slice(2, 4),
        }
    )
    minutes = _numbers(digits, "h").fillna(0) * 60 + _numbers(digits, "m").fillna(0)
    bad_offset = ((minutes > MAX_OFFSET_MINUTES) | (_numbers(digits, "m") > 59)).to_numpy(dtype=bool)
    stamps = stamp.to_numpy(dtype="datetime64[us]", copy=True)
    stamps[bad_offset] = np.datetime64("NaT")
    return stamps, (sign * minutes).to_numpy(dtype="float64", copy=True)


def parse_datetimes(values: pd.Series, *, dayfirst: bool, time_zone: str, fast: bool = True) -> pd.Series:
    """Readable dates and date-times as UTC timestamps; <NaT> where unreadable.

    ISO 8601 (T, t or spaces, optional seconds/fraction, optional Z or ±HH:MM up to ±14:00), MM/DD/YYYY with an
    optional time (DD/MM/YYYY with dayfirst), DD.MM.YYYY. Values without a zone are in `time_zone`. The common
    shapes are read in C first (_FAST_SHAPES; `fast=False` reads every value by the patterns alone: the same
    result, slower).
    """
    values = values.astype(STRING)
    # pandas reads "now" and "today" as its own clock, whatever the format: a cell must hold the date itself.
    todo = (values.notna() & ~values.str.strip().str.lower().isin(["now", "today"])).to_numpy(dtype=bool).copy()
    if fast:
        stamps, offsets = _fast_parse(values, todo, dayfirst=dayfirst)
    else:
        stamps = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
        offsets = np.full(len(values), np.nan)
    if todo.any():
        positions = np.flatnonzero(todo)
        stamps[positions], offsets[positions] = _parse_by_patterns(values.iloc[positions], dayfirst=dayfirst)
    naive = pd.Series(stamps, index=values.index)
    has_zone = pd.Series(~np.isnan(offsets), index=values.index)
    if time_zone == "UTC":
        local = naive.dt.tz_localize("UTC")
    else:
        local = (
            naive.where(~has_zone)
            .dt.tz_localize(
                zoneinfo.ZoneInfo(time_zone),
                ambiguous=np.ones(len(naive), dtype=bool),
                nonexistent="shift_forward",
            )
            .dt.tz_convert("UTC")
        )
    if has_zone.any():
        offset = pd.Series(offsets, index=values.index)
        zoned = (naive - pd.to_timedelta(offset.fillna(0), unit="min")).dt.tz_localize("UTC")
        local = local.where(~has_zone, zoned)
    return local.astype("datetime64[us, UTC]")


def dayfirst_only(values: pd.Series, *, time_zone: str) -> pd.Series:
    """Whether each value reads as a date day-first only (30/11/2026): unreadable month-first, readable day-first."""
    month_first = parse_datetimes(values, dayfirst=False, time_zone=time_zone)
    day_first = parse_datetimes(values, dayfirst=True, time_zone=time_zone)
    return (month_first.isna() & day_first.notna()).astype(bool)


_ISO_DATE_RE, _SLASH_DATE_RE, _DOT_DATE_RE = (re.compile(p) for p in (_ISO_DATE, _SLASH_DATE, _DOT_DATE))
_OFFSET_RE = re.compile(_OFFSET)
_UTC = zoneinfo.ZoneInfo("UTC")  # what pyarrow hands back a UTC timestamp in
_EARLIEST = EARLIEST_DATE.to_pydatetime()


def parse_datetime(value: str, *, dayfirst: bool, time_zone: str) -> datetime | None:
    """parse_datetimes for one value, by the patterns (what the exact shapes read, they read alike): an aware
    datetime in UTC, None where unreadable."""
    iso, slash, dot = _ISO_DATE_RE.search(value), _SLASH_DATE_RE.search(value), _DOT_DATE_RE.search(value)
    if iso:
        year, month, day = iso["y"], iso["m"], iso["d"]
    elif slash:
        year, month, day = slash["y"], *((slash["b"], slash["a"]) if dayfirst else (slash["a"], slash["b"]))
    elif dot:
        year, month, day = dot["y"], dot["m"], dot["d"]
    else:
        return None
    parts = iso or slash or dot
    hour, minute, second = (int(parts[g] or 0) for g in ("H", "M", "S"))
    meridiem = lower(slash["p"]) if slash and slash["p"] else None
    if meridiem is not None and not 1 <= hour <= 12:
        return None
    if meridiem == "pm" and hour != 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    micros = int((iso["f"] or "").ljust(9, "0")[:6]) if iso else 0
    try:
        naive = datetime(int(year), int(month), int(day), hour, minute, second, micros)
    except ValueError:
        # pandas reads year 0 (a leap year, like year 4), which Python's datetime cannot hold: before 1900.
        if int(year) == 0 and _is_date(4, int(month), int(day)):
            return datetime.min.replace(tzinfo=_UTC)
        return None
    zone = iso["z"].upper() if iso and iso["z"] else None
    if zone is None:
        return _localized(naive, time_zone)
    offset_minutes = re.sub("[^0-9]", "", zone)[2:4]
    minutes = int(zone[1:3] or 0) * 60 + int(offset_minutes or 0)
    if minutes > MAX_OFFSET_MINUTES or (offset_minutes and int(offset_minutes) > 59):
        return None
    sign = {"+": 1, "-": -1, "Z": 0}[zone[0]]
    try:
        return (naive - timedelta(minutes=sign * minutes)).replace(tzinfo=_UTC)
    except OverflowError:  # beyond year 1 or 9999: pandas holds it, and it is before 1900 or in the future anyway
        return datetime.min.replace(tzinfo=_UTC) if sign > 0 else datetime.max.replace(tzinfo=_UTC)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    return True


def _localized(naive: datetime, time_zone: str) -> datetime:
    """tz_localize as parse_datetimes calls it: an ambiguous time read as summer time (fold 0), a time in a gap
    moved forward to the gap's end (the transition itself)."""
    if time_zone == "UTC":
        return naive.replace(tzinfo=_UTC)
    zone = zoneinfo.ZoneInfo(time_zone)
    utc = naive.replace(tzinfo=zone).astimezone(_UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == naive:
        return utc
    # In a gap: the transition (at a whole second) lies between the instants read by the offset after it (fold 1:
    # earlier, still under the old offset) and by the offset before it (fold 0: later, under the new one).
    low = naive.replace(tzinfo=zone, fold=1).astimezone(_UTC).replace(microsecond=0)
    high = utc.replace(microsecond=0) + timedelta(seconds=1 if utc.microsecond else 0)
    after = utc.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def offset_out_of_range(value: str) -> bool:
    """offsets_out_of_range for one value."""
    found = _OFFSET_RE.search(value)
    if found is None:
        return False
    minutes = int(found["h"]) * 60 + int(found["m"] or 0)
    return minutes > MAX_OFFSET_MINUTES or (found["m"] is not None and int(found["m"]) > 59)


# ---------------------------------------------------------------------------------------------------------
# Rows


# ---------------------------------------------------------------------------------------------------------
# Cleaners: what a schema puts on a column


@dataclass(frozen=True)
class Context:
    """What cleaning depends on besides the cells: the import's clock and how to read dates."""

    now: datetime
    dayfirst: bool = False
    time_zone: str = "UTC"


class Cleaner:
    """Cleans one column: `given` is the column's cells, trimmed, with missing markers as <NA>; `reasons.add(mask,
    text, values)` rejects rows (`text` names the column, its `{}` becomes the quoted value). Returns the values
    to load, <NA> where missing."""

    dtype: object = STRING

    def clean(self, given: pd.Series, label: str, reasons, context: Context) -> pd.Series:
        return given

    def clean_value(self, given: str, label: str, context: Context) -> tuple[object, list[str]]:
        """`clean` for one present cell (trimmed, no missing marker), in plain Python: the value to load as the
        cleaned column's pyarrow form reads back (str, int, bool, an aware UTC datetime; None where missing) and
        the messages of the rules it breaks, in rule order. This default runs `clean` over a column of that one
        cell; the cleaners below do it without pandas (test_records proves they agree)."""
        collected = _Collected()
        out = self.clean(pd.Series([given], dtype=STRING), label, collected, context)
        return _plain(out.iloc[0]), collected.messages

    def empty(self, index: pd.Index) -> pd.Series:
        """The column of a file that has none: every value missing."""
        return pd.Series(pd.NA, index=index, dtype=self.dtype)


@dataclass(frozen=True)
class Text(Cleaner):
    """Text as written; `collapse` turns each run of spaces into one (names)."""

    collapse: bool = False

    def clean(self, given, label, reasons, context):
        return collapse_spaces(given) if self.collapse else given

    def clean_value(self, given, label, context):
        return (collapse_spaces_of(given) if self.collapse else given), []


@dataclass(frozen=True)
class Email(Cleaner):
    """An email address, lower-cased; a value that cannot be one is rejected."""

    def clean(self, given, label, reasons, context):
        email = given.str.lower()
        plausible = email.str.fullmatch(_EMAIL).fillna(False).astype(bool)
        reasons.add(email.notna() & ~plausible, f"{label}: {{}} is not a valid email address", given)
        return email

    def clean_value(self, given, label, context):
        email = lower(given)
        return email, [] if _EMAIL_RE.fullmatch(email) else [f"{label}: '{given}' is not a valid email address"]


def _mapped(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """`values.map(mapping)` as pyarrow strings (<NA> where missing or not in it), looked up once per distinct
    value: a column of a few statuses written a million times costs a few look-ups."""
    codes, distinct = pd.factorize(values)
    looked_up = pd.array([mapping.get(value) for value in distinct] + [None], dtype=STRING)
    return pd.Series(looked_up.take(np.where(codes < 0, len(distinct), codes)), index=values.index)


def choice_key(values: pd.Series) -> pd.Series:
    """How a choice is compared: lower case, single spaces, a hyphen between spaces (`Closed-Won`)."""
    return collapse_spaces(values.str.lower()).str.replace(_CHOICE_HYPHEN, " - ", regex=True)


def choice_key_of(value: str) -> str:
    return _CHOICE_HYPHEN_RE.sub(" - ", collapse_spaces_of(lower(value)))


@dataclass(frozen=True)
class Choice(Cleaner):
    """One of a few values, each written several ways (`synonyms`: value -> the words that mean it, compared by
    choice_key); `noun` names it in the reason (`'x' is not a known status (new, ...)`)."""

    synonyms: tuple[tuple[str, tuple[str, ...]], ...]
    noun: str

    def clean(self, given, label, reasons, context):
        by_word = {word: value for value, words in self.synonyms for word in words}
        out = per_distinct(given, lambda column: _mapped(choice_key(column), by_word))
        known = ", ".join(value for value, _words in self.synonyms)
        reasons.add(given.notna() & out.isna(), f"{label}: {{}} is not a known {self.noun} ({known})", given)
        return out

    def clean_value(self, given, label, context):
        by_word = {word: value for value, words in self.synonyms for word in words}
        value = by_word.get(choice_key_of(given))
        if value is not None:
            return value, []
        known = ", ".join(value for value, _words in self.synonyms)
        return None, [f"{label}: '{given}' is not a known {self.noun} ({known})"]


@dataclass(frozen=True)
class YesNo(Cleaner):
    """True or false, each written as one of `pairs` (true word, false word), any case."""

    pairs: tuple[tuple[str, str], ...]
    dtype = "boolean"

    def clean(self, given, label, reasons, context):
        words = {**{yes: True for yes, _no in self.pairs}, **{no: False for _yes, no in self.pairs}}
        out = given.str.lower().map(words).astype("boolean")
        written = ", ".join(f"{yes}/{no}" for yes, no in self.pairs)
        reasons.add(given.notna() & out.isna(), f"{label}: {{}} is not {written}", given)
        return out

    def clean_value(self, given, label, context):
        words = {**{yes: True for yes, _no in self.pairs}, **{no: False for _yes, no in self.pairs}}
        value = words.get(lower(given))
        if value is not None:
            return value, []
        written = ", ".join(f"{yes}/{no}" for yes, no in self.pairs)
        return None, [f"{label}: '{given}' is not {written}"]


@dataclass(frozen=True)
class WholeNumber(Cleaner):
    """A whole number from 0 to `maximum` (`12` or `12.0`)."""

    maximum: int
    dtype = "Int64"

    def clean(self, given, label, reasons, context):
        whole = given.str.fullmatch(_WHOLE).fillna(False).astype(bool)
        number = pd.to_numeric(given.where(whole).str.replace(_POINT_ZEROS, "", regex=True), errors="coerce")
        too_big = number > self.maximum
        reasons.add(given.notna() & (~whole | too_big), f"{label}: {{}} is not a whole number 0 or more", given)
        return number.where(~too_big).astype("Int64")

    def clean_value(self, given, label, context):
        if _WHOLE_RE.fullmatch(given) and (number := int(_POINT_ZEROS_RE.sub("", given))) <= self.maximum:
            return number, []
        return None, [f"{label}: '{given}' is not a whole number 0 or more"]


@dataclass(frozen=True)
class DateTime(Cleaner):
    """A date or date-time (parse_datetimes), from EARLIEST_DATE up to the import's clock."""

    dtype = "datetime64[us, UTC]"

    def clean(self, given, label, reasons, context):
        stamps = parse_datetimes(given, dayfirst=context.dayfirst, time_zone=context.time_zone)
        unread = given.notna() & stamps.isna()
        # Only an unread value can be one with too wide an offset: the others need no look.
        offset_too_wide = (
            offsets_out_of_range(given[unread]).reindex(given.index, fill_value=False) if unread.any() else unread
        )
        reasons.add(offset_too_wide, f"{label}: {{}} has a time zone offset beyond ±14:00", given)
        reasons.add(unread & ~offset_too_wide, f"{label}: {{}} is not a readable date", given)
        reasons.add(stamps < EARLIEST_DATE, f"{label}: {{}} is before {EARLIEST_DATE:%Y-%m-%d}", given)
        reasons.add(stamps > pd.Timestamp(context.now).tz_convert("UTC"), f"{label}: {{}} is in the future", given)
        return stamps

    def clean_value(self, given, label, context):
        stamp = parse_datetime(given, dayfirst=context.dayfirst, time_zone=context.time_zone)
        if stamp is None:
            if offset_out_of_range(given):
                return None, [f"{label}: '{given}' has a time zone offset beyond ±14:00"]
            return None, [f"{label}: '{given}' is not a readable date"]
        if stamp < _EARLIEST:
            return stamp, [f"{label}: '{given}' is before {EARLIEST_DATE:%Y-%m-%d}"]
        if stamp > context.now:
            return stamp, [f"{label}: '{given}' is in the future"]
        return stamp, []

    def empty(self, index):
        return pd.Series(pd.NaT, index=index, dtype=self.dtype)


@dataclass(frozen=True)
class DecimalNumber(Cleaner):
    """A decimal number above 0 (`positive`) or from 0, with at most `decimal_places` decimals and `max_digits`
    digits in all (`0.5`, `1`, `1,25` with a decimal comma); loaded as its text (`0.5`)."""

    max_digits: int
    decimal_places: int
    positive: bool = True

    def clean(self, given, label, reasons, context):
        text = given.str.replace(",", ".", regex=False)
        number_like = text.str.fullmatch(_DECIMAL).fillna(False).astype(bool) & text.str.contains("[0-9]").fillna(False)
        whole = text.str.extract(_DECIMAL_WHOLE)[0].fillna("")
        fraction = text.str.extract(_DECIMAL_FRACTION)[0].fillna("")
        too_precise = number_like & (fraction.str.len() > self.decimal_places)
        too_big = number_like & (whole.str.len() > self.max_digits - self.decimal_places)
        value = pd.to_numeric(text.where(number_like), errors="coerce")
        below = number_like & ((value <= 0) if self.positive else (value < 0)).fillna(False).astype(bool)
        bound = "above 0" if self.positive else "0 or more"
        reasons.add(given.notna() & ~number_like, f"{label}: {{}} is not a number {bound}", given)
        reasons.add(below, f"{label}: {{}} is not a number {bound}", given)
        reasons.add(too_precise & ~below, f"{label}: {{}} has more than {self.decimal_places} decimals", given)
        largest = "9" * (self.max_digits - self.decimal_places)
        reasons.add(too_big & ~below, f"{label}: {{}} is larger than {largest}", given)
        canonical = whole.where(whole != "", "0") + ("." + fraction).where(fraction != "", "")
        return canonical.where(number_like).astype(STRING)

    def clean_value(self, given, label, context):
        text = given.replace(",", ".")
        bound = "above 0" if self.positive else "0 or more"
        if not (_DECIMAL_RE.fullmatch(text) and re.search("[0-9]", text)):
            return None, [f"{label}: '{given}' is not a number {bound}"]
        whole = _DECIMAL_WHOLE_RE.search(text)[1]  # the pattern matches every text
        fraction = found[1] if (found := _DECIMAL_FRACTION_RE.search(text)) else ""
        value = float(text)
        if value <= 0 if self.positive else value < 0:
            messages = [f"{label}: '{given}' is not a number {bound}"]
        else:
            messages = []
            if len(fraction) > self.decimal_places:
                messages.append(f"{label}: '{given}' has more than {self.decimal_places} decimals")
            if len(whole) > self.max_digits - self.decimal_places:
                largest = "9" * (self.max_digits - self.decimal_places)
                messages.append(f"{label}: '{given}' is larger than {largest}")
        return (whole or "0") + ("." + fraction if fraction else ""), messages


@dataclass(frozen=True)
class Checked(Cleaner):
    """A value a function checks: `check(text)` returns the value to load (the text, or its canonical form) or
    raises ValueError, whose message becomes the reason (`{label}: {message}`). Called once per distinct value;
    `check` must be picklable by reference (a module-level function of a module that needs no Django)."""

    check: Callable[[str], str]

    def clean(self, given, label, reasons, context):
        distinct = given.dropna().unique()
        good: dict[str, str] = {}
        bad: dict[str, str] = {}
        for value in distinct:
            try:
                good[value] = self.check(value)
            except ValueError as exc:
                bad[value] = f"{label}: {exc}"
        if bad:
            reasons.add_messages(given[given.isin(list(bad))].map(bad).astype(object))
        return given.map(good).astype(STRING)

    def clean_value(self, given, label, context):
        try:
            return self.check(given), []
        except ValueError as exc:
            return None, [f"{label}: {exc}"]


@dataclass(frozen=True)
class NameList(Cleaner):
    """Names in one cell, separated by any of `separators` (`EMEA; Key accounts`): each trimmed, spaces collapsed,
    empty ones dropped, and loaded joined by `JOINED` (`EMEA; Key accounts`); a name longer than `max_length` is
    rejected."""

    separators: str = ",;"
    max_length: int = 100
    JOINED = "; "

    @property
    def _separator(self) -> str:
        return "[" + "".join("\\" + s for s in self.separators) + "]"

    def clean(self, given, label, reasons, context):
        names = collapse_spaces(given).str.split(self._separator, regex=True)
        exploded = names.explode().str.strip()
        exploded = exploded[exploded.notna() & (exploded != "")]
        long = exploded[exploded.str.len() > self.max_length]
        if len(long):
            first_long = long.groupby(level=0).first()
            reasons.add_messages(
                f"{label}: the name '" + first_long.astype(object) + f"' is longer than {self.max_length} characters"
            )
        joined = exploded.groupby(level=0).agg(self.JOINED.join) if len(exploded) else pd.Series(dtype=object)
        return joined.reindex(given.index).astype(STRING)

    def clean_value(self, given, label, context):
        names = [name.strip() for name in re.split(self._separator, collapse_spaces_of(given))]
        names = [name for name in names if name]
        long = [name for name in names if len(name) > self.max_length]
        messages = [f"{label}: the name '{long[0]}' is longer than {self.max_length} characters"] if long else []
        return (self.JOINED.join(names) or None), messages


class _Collected:
    """What a cleaner's `clean` rejects in a column of one cell (Cleaner.clean_value): the messages."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, mask, text: str, values=None) -> None:
        if bool(pd.Series(mask).fillna(False).iloc[0]):
            self.messages.append(text if values is None else text.replace("{}", f"'{values.iloc[0]}'", 1))

    def add_messages(self, messages: pd.Series) -> None:
        self.messages += [str(m) for m in messages]


def _plain(value) -> object:
    """A cleaned cell as pyarrow reads it back (intake's form): None for <NA>, Python scalars, UTC datetimes."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().astimezone(_UTC)
    return value.item() if isinstance(value, np.generic) else value
