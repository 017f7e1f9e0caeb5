"""The rules for reading and cleaning lead and agent files: the one place every import path uses.

Reading: encoding (UTF-8 with or without BOM, UTF-16 with BOM, else cp1252), delimiter (, ; tab |),
header aliases, refusal of files that cannot be processed at all (`RefusedFile`, a one-line message).
Cleaning: vectorized over pyarrow-backed pandas strings, chunk by chunk, so a million rows stream through
in bounded memory. Each chunk splits into valid rows (cleaned values, missing = <NA>) and rejected rows
(the original cells plus `line` and a `reason` naming the column and the value).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import io
import itertools
import os
import queue
import re
import stat
import threading
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.normalize import name_key

STRING = pd.StringDtype("pyarrow")
DELIMITERS = [",", ";", "\t", "|"]
MISSING_MARKERS = frozenset({"", "null", "n/a", "na", "nan", "none", "-"})
DEFAULT_CHUNK_ROWS = 50_000


# Limits no real export reaches: beyond them the file is refused before its rows are read (a header of 100k
# columns or a line of 100 MB would otherwise cost minutes and gigabytes).
MAX_COLUMNS = 1_000
MAX_LINE_BYTES = 1 << 20  # 1 MB: a physical line of the file, the header included
SHOWN_HEADERS = 5  # headers named in a message, at most


class RefusedFile(Exception):
    """A file that cannot be processed at all: nothing is imported and the command exits 2."""


# ---------------------------------------------------------------------------------------------------------
# Headers


def header_key(header: str) -> str:
    """Headers match case-insensitively, trimmed, with spaces, hyphens and underscores alike."""
    return re.sub(r"[\s_\-]+", " ", str(header).strip().lower()).strip()


def _aliases(*names: str) -> tuple[str, ...]:
    return tuple(header_key(n) for n in names)


EMAIL_ALIASES = _aliases("email", "e-mail", "email address")
FIRST_NAME_ALIASES = _aliases("first name")
LAST_NAME_ALIASES = _aliases("last name")

LEAD_HEADERS: dict[str, tuple[str, ...]] = {
    "name": _aliases("name", "full name", "lead name", "contact name"),
    "email": EMAIL_ALIASES,
    "phone": _aliases("phone", "phone number", "mobile", "telephone"),
    "company": _aliases("company", "company name", "organization", "account name"),
    "source": _aliases("source", "lead source"),
    "status": _aliases("status", "lead status", "work status"),
    "created_at": _aliases("created_at", "created", "created date", "create date", "date created", "creation date"),
}
AGENT_HEADERS: dict[str, tuple[str, ...]] = {
    "name": _aliases("name", "full name", "agent", "agent name"),
    "email": EMAIL_ALIASES,
    "active": _aliases("active", "is active", "enabled"),
    "capacity": _aliases("capacity", "max leads", "max open leads"),
}

# Longest values the database columns hold (leads.Lead, agents.Agent).
LEAD_MAX_LENGTHS = {"name": 200, "email": 254, "phone": 50, "company": 200, "source": 100}
AGENT_MAX_LENGTHS = {"name": 200, "email": 254}
CAPACITY_MAX = 2_147_483_647

# What a new record needs besides its email, and the rule a reason cites when a row for a new email lacks it.
NEW_RECORD_NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "lead": (("name", "created_at"), "a new lead needs a name and a created date"),
    "agent": (("name",), "a new record needs a name"),
}

# ---------------------------------------------------------------------------------------------------------
# Values

STATUS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "new": ("new", "open", "open - not contacted", "not contacted", "unworked"),
    "contacted": (
        "contacted",
        "working",
        "working - contacted",
        "attempted",
        "attempting contact",
        "in progress",
        "worked",
        "attempted to contact",
        "connected",
    ),
    "qualified": ("qualified", "nurturing", "open deal"),
    "converted": ("converted", "closed - converted", "won", "closed won"),
    "lost": ("lost", "closed - not converted", "unqualified", "disqualified", "closed lost", "junk"),
}
STATUS_BY_WORD = {word: status for status, words in STATUS_SYNONYMS.items() for word in words}

ACTIVE_WORDS = {
    **dict.fromkeys(["yes", "true", "y", "1", "active", "enabled"], True),
    **dict.fromkeys(["no", "false", "n", "0", "inactive", "disabled"], False),
}

# Regexes are written for RE2 (pyarrow) so they run vectorized: pandas falls back to Python's re, one call per
# value, for \s, \d on non-ASCII data and other constructs RE2 treats differently.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())  # Python's whitespace, as literals
_WS = f"[{WHITESPACE}]"
_NOT_WS_OR_AT = f"[^@{WHITESPACE}]"

_ISO_DATE = (
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:[T ](?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?)?"
    r" *(?P<z>Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_SLASH_DATE = (
    r"^(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})/(?P<y>[0-9]{4})"
    r"(?:[ T](?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?(?: *(?P<p>[AaPp][Mm]))?)?$"
)
_DOT_DATE = (
    r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})"
    r"(?:[ T](?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?)?$"
)
# Exact formats parsed in C before any regex: the bulk of real files.
_FAST_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%d.%m.%Y"]
# Created dates are accepted from this instant on (and up to the import's clock): earlier ones are typing
# mistakes, and year 1 with a positive offset would be year 0, which Python's datetime cannot hold.
EARLIEST_DATE = pd.Timestamp("1900-01-01", tz="UTC")
MAX_OFFSET_MINUTES = 14 * 60  # the widest offsets in use are -12:00 and +14:00
_OFFSET = r"(?:[T ][0-9:.,]+) *[+-](?P<h>[0-9]{2}):?(?P<m>[0-9]{2})?$"
_EMAIL = f"{_NOT_WS_OR_AT}+@[^@.{WHITESPACE}]+(?:[.][^@.{WHITESPACE}]+)+"


# ---------------------------------------------------------------------------------------------------------
# Reading the file


@dataclass
class SourceFile:
    """A readable file, its encoding and delimiter, and how its headers map to our fields."""

    path: Path
    encoding: str
    delimiter: str
    headers: list[str]
    columns: dict[str, str]  # field -> header as written in the file
    first_last: tuple[str | None, str | None] = (None, None)
    ignored_columns: list[str] = field(default_factory=list)

    def column_label(self, field_name: str) -> str:
        """The field's column as written in the file; the field's own name when the file has no such column."""
        if field_name == "name" and "name" not in self.columns and any(self.first_last):
            return "/".join(h for h in self.first_last if h)
        return self.columns.get(field_name, field_name)


def bomless_utf16(head: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" when the bytes look like UTF-16 text without a BOM: a CSV's header and most of
    its text are ASCII, so every other byte is NUL (the high byte) and the others are not."""
    sample = head[: min(len(head), 4096) // 2 * 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if even.count(0) == 0 and odd.count(0) >= 0.9 * len(odd):
        return "utf-16-le"
    if odd.count(0) == 0 and even.count(0) >= 0.9 * len(even):
        return "utf-16-be"
    return None


def detect_encoding(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4096)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if utf16 := bomless_utf16(head):
            return utf16
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _refuse_binary(path: Path, head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise RefusedFile(f"{path}: this is a zip/Excel (.xlsx) file, not text: save it as CSV and import that.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RefusedFile(f"{path}: this is an Excel (.xls) file, not text: save it as CSV and import that.")
    is_utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or bomless_utf16(head) is not None
    if not is_utf16 and b"\x00" in head:
        raise RefusedFile(f"{path}: not a text file (it contains binary data).")


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the header into the most fields, consistently over the first rows."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (1, 0)
    text = "\n".join(lines)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for row in rows[1:] if len(row) == width)
        score = (width, consistent)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _refuse_long_lines(path: Path) -> None:
    """Refuse a file with a line longer than MAX_LINE_BYTES, naming it, before anything reads whole lines: one
    pass of byte searches over blocks, in bounded memory."""
    line, line_start, position = 1, 0, 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + position
            if len(ends):
                lengths = np.diff(np.concatenate(([line_start], ends + 1)))
                too_long = np.flatnonzero(lengths > MAX_LINE_BYTES + 1)  # + 1: the line break itself
                if len(too_long):
                    line += int(too_long[0])
                    break
                line += len(ends)
                line_start = int(ends[-1]) + 1
            position += len(block)
            if position - line_start > MAX_LINE_BYTES:
                break
        else:
            return
    raise RefusedFile(
        f"{path}: line {line:,} is longer than {MAX_LINE_BYTES // (1 << 20)} MB, the most a line may "
        "hold (a file without line breaks, or not a CSV file?)."
    )


def _read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    """The header record's cells, read from at most MAX_LINE_BYTES characters of the file."""
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        text = handle.read(MAX_LINE_BYTES + 1)
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True))
    except StopIteration:
        return []
    except csv.Error as exc:
        raise RefusedFile(f"{path}: line 1: cannot read the header ({_one_line(exc)}).") from None


def _header_names(cells: list[str]) -> list[str]:
    """Unique column names for the header's cells: an empty header is `column 3 (no header)`, a repeated one
    `Notes (column 7)`; one pass with a set."""
    names: list[str] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells, start=1):
        name = cell if cell.strip() else f"column {position} (no header)"
        if name in seen:
            name = f"{name} (column {position})"
        seen.add(name)
        names.append(name)
    return names


def _some(headers: list[str]) -> str:
    """At most SHOWN_HEADERS headers, for a one-line message."""
    shown = ", ".join(headers[:SHOWN_HEADERS])
    return shown + (f" and {len(headers) - SHOWN_HEADERS:,} more" if len(headers) > SHOWN_HEADERS else "")


_FIELD_WORDS = {"_first": "first name", "_last": "last name"}


def map_headers(
    headers: list[str], aliases: dict[str, tuple[str, ...]], written: list[str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Each field's column, and the other columns; `written` holds the headers as in the file when `headers` are
    the names given to them (_header_names). Two columns for one field are refused: which one the user meant
    cannot be guessed, and silently ignoring one would import the wrong values."""
    written = headers if written is None else written
    columns: dict[str, str] = {}
    used: set[str] = set()
    field_by_key = {key: field_name for field_name, names in reversed(aliases.items()) for key in names}
    positions: dict[str, int] = {}
    for position, (header, cell) in enumerate(zip(headers, written, strict=True), start=1):
        field_name = field_by_key.get(header_key(cell))
        if field_name is None:
            continue
        if field_name in columns:
            first = positions[field_name]
            raise RefusedFile(
                f"line 1: columns {first} ({written[first - 1]!r}) and {position} ({cell!r}) are both "
                f"the {_FIELD_WORDS.get(field_name, field_name)} column: keep one."
            )
        columns[field_name] = header
        positions[field_name] = position
        used.add(header)
    return columns, [h for h in headers if h not in used]


_NOT_REGULAR = (
    (stat.S_ISDIR, "is a folder"),
    (stat.S_ISFIFO, "is a named pipe (FIFO)"),
    (stat.S_ISSOCK, "is a socket"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
)


def _read_head(path: Path) -> bytes:
    """The first bytes of a readable regular file; anything else is refused with the true reason.

    stat() first, so a FIFO or a device is refused without being opened (opening a FIFO blocks until a writer
    comes). A regular file can still fail to read (`/proc/self/mem`): that is refused too, not raised.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise RefusedFile(f"{path}: no such file.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RefusedFile(f"{path}: a loop of symbolic links (it never reaches a file).") from None
        raise RefusedFile(f"{path}: cannot be read ({exc.strerror}).") from None
    for test, what in _NOT_REGULAR:
        if test(mode):
            raise RefusedFile(f"{path}: {what}, not a file.")
    if not stat.S_ISREG(mode):
        raise RefusedFile(f"{path}: not a regular file.")
    if not os.access(path, os.R_OK):
        raise RefusedFile(f"{path}: cannot be read (permission denied).")
    try:
        with open(path, "rb") as handle:
            return handle.read(65536)
    except OSError as exc:
        raise RefusedFile(f"{path}: cannot be read ({exc.strerror or _one_line(exc)}).") from None


def open_source(path: str | Path, *, kind: str) -> SourceFile:
    """Check that the file can be read at all and map its headers; raise RefusedFile if not."""
    path = Path(path)
    head = _read_head(path)
    if not head.strip():
        raise RefusedFile(f"{path}: the file is empty.")
    _refuse_binary(path, head)
    encoding = detect_encoding(path)
    sample = head.decode(encoding, errors="ignore")
    if sample.startswith("\ufeff"):
        sample = sample[1:]
    if not sample.strip():
        raise RefusedFile(f"{path}: the file is empty.")
    _refuse_long_lines(path)
    delimiter = sniff_delimiter(sample)
    cells = _read_header(path, encoding, delimiter)
    headers = _header_names(cells)
    if len(headers) > MAX_COLUMNS:
        raise RefusedFile(
            f"{path}: line 1: the header has {len(headers):,} columns, more than the {MAX_COLUMNS:,} an import reads."
        )
    aliases = LEAD_HEADERS if kind == "lead" else AGENT_HEADERS
    all_aliases = {**aliases}
    if "name" in aliases:
        all_aliases = {**aliases, "_first": FIRST_NAME_ALIASES, "_last": LAST_NAME_ALIASES}
    try:
        columns, ignored = map_headers(headers, all_aliases, cells[: len(headers)])
    except RefusedFile as exc:
        raise RefusedFile(f"{path}: {exc}") from None
    first, last = columns.pop("_first", None), columns.pop("_last", None)
    if "name" in columns:  # a full-name column wins; first/last are then extra columns
        extra = {*ignored, first, last}
        ignored = [h for h in headers if h in extra]
        first = last = None
    # Only the email is required: a file of emails and a few columns updates existing records; what a new record
    # needs besides (NEW_RECORD_NEEDS) is checked per row against the database when loading.
    if "email" not in columns:
        found = _some(headers) if headers else "none"
        raise RefusedFile(f"{path}: missing required column(s): email (found headers: {found}).")
    return SourceFile(path, encoding, delimiter, headers, columns, (first, last), ignored)


# Cells beyond the header: the fast reader takes this many more columns per row, so that the usual ragged row (one
# unquoted delimiter inside a value, or two) is read by the C parser and rejected on its own. A row longer still
# makes the C parser stop; the rest of the file is then read by Python's csv module (slower, only for such files).
SURPLUS_CELLS = 2
EXTRA_CELLS = "extra_cells"  # the column of the rejects file holding the cells beyond the header
_EXTRA = "\x00extra cells"  # the raw frames' private column: the list of cells beyond the header, per row
_TOO_MANY_FIELDS = re.compile(r"Expected \d+ fields in line \d+, saw \d+")
_DELIMITER_NAMES = {",": '","', ";": '";"', "\t": "tab", "|": '"|"'}


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _numbered(frame: pd.DataFrame, newlines: np.ndarray, next_line: int) -> int:
    """Index `frame` by the line each record starts on; return the line after it. A quoted cell holding a
    newline spans lines: the next record starts that much later."""
    starts = next_line + np.arange(len(frame), dtype=np.int64) + np.concatenate(([0], np.cumsum(newlines)[:-1]))
    frame.index = pd.Index(starts, name="line")
    return int(starts[-1] + newlines[-1] + 1) if len(frame) else next_line


def _batches(reader, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The reader's records in batches of `chunk_rows` data rows: the first batch takes one more, the header."""
    size = chunk_rows + 1
    while True:
        try:
            yield reader.get_chunk(size)
        except StopIteration:
            return
        size = chunk_rows


def _may_hold_newlines(values: pd.Series, byte: int = 10) -> bool:
    """Whether a cell of this column may hold a line break (or another ASCII `byte`): one byte search over the
    column's character buffer (an ASCII byte cannot be part of another UTF-8 character) instead of a count per
    cell; most files have none, and the count is then skipped."""
    try:
        pieces = values.array.__arrow_array__().chunks
    except AttributeError:
        return True
    for piece in pieces:
        data = piece.buffers()[-1]
        if data is not None and (np.frombuffer(data, dtype=np.uint8) == byte).any():
            return True
    return False


def _trailing_blanks_dropped(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def iter_raw_chunks(source: SourceFile, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The file's rows as all-string frames under the file's headers, with `line` (the header is line 1) as the
    index.

    Blank lines stay in the stream as empty rows so line numbers are right; cleaning drops them. A row with
    more non-blank cells than the header gets its cells beyond the header as a list in the private `_EXTRA`
    column (present only in chunks that have such a row); cleaning rejects it. Blank cells after the last
    header column (a trailing delimiter) hold nothing and are dropped.
    """
    headers = list(source.headers)
    surplus = [f"\x00surplus {i}" for i in range(SURPLUS_CELLS)]
    # The header line is read as the first row, so the names (header + surplus) set how many cells a row may
    # have; with header=0 the header line would, and a longer first row would silently become the index.
    reader = pd.read_csv(
        source.path,
        sep=source.delimiter,
        encoding=source.encoding,
        encoding_errors="replace",
        dtype=STRING,
        header=None,
        names=headers + surplus,
        index_col=False,
        na_filter=False,
        keep_default_na=False,
        skip_blank_lines=False,
        chunksize=chunk_rows,
        engine="c",
        quotechar='"',
        doublequote=True,
    )
    next_line = 1
    rows_read = 0  # records read so far, the header included
    try:
        for chunk in _batches(reader, chunk_rows):
            chunk = chunk.fillna("")
            # Surplus cells are empty in almost every chunk: only a length check then.
            used = [column for column in surplus if (chunk[column].str.len() > 0).any()]
            newlines = np.zeros(len(chunk), dtype=np.int64)
            spanning = [column for column in [*headers, *used] if _may_hold_newlines(chunk[column])]
            for column in spanning:
                newlines += chunk[column].str.count("\n").to_numpy(dtype=np.int64, na_value=0)
            next_line = _numbered(chunk, newlines, next_line)
            _refuse_long_cells(source, chunk, spanning)
            if rows_read == 0:
                chunk = chunk.iloc[1:]
            rows_read += len(newlines)
            held = np.zeros(len(chunk), dtype=np.int64)  # how many surplus cells a row holds, to its last non-blank
            for column in used:
                filled = (chunk[column].str.strip() != "").to_numpy(dtype=bool, na_value=False)
                held[filled] = surplus.index(column) + 1
            frame = chunk[headers]
            if held.any():
                extra = np.full(len(frame), None, dtype=object)
                for i in np.flatnonzero(held):
                    extra[i] = [chunk[surplus[j]].iat[i] for j in range(held[i])]
                frame = frame.assign(**{_EXTRA: pd.Series(extra, index=frame.index, dtype=object)})
            yield frame
    except pd.errors.ParserError as exc:
        if not _TOO_MANY_FIELDS.search(str(exc)):
            if "EOF inside string" in str(exc):
                _refuse_open_quote(source, *_last_record(source))
            raise RefusedFile(f"{source.path}: cannot split the file into rows ({_one_line(exc)}).") from None
    else:
        return
    yield from _iter_raw_chunks_by_csv(source, chunk_rows, skip=rows_read)


def _refuse_long_cells(source: SourceFile, frame: pd.DataFrame, columns: list[str]) -> None:
    """Refuse a cell longer than MAX_LINE_BYTES characters. Only a quoted cell spanning lines can be (a line is
    limited already), so only the `columns` holding a line break are measured."""
    for column in columns:
        too_long = (frame[column].str.len() > MAX_LINE_BYTES).to_numpy(dtype=bool, na_value=False)
        if too_long.any():
            line = int(frame.index[np.flatnonzero(too_long)[0]])
            raise RefusedFile(
                f"{source.path}: line {line:,}: a cell holds more than 1 MB (1,048,576 characters), the "
                "most a cell may hold (a quote left open?)."
            )


def _iter_raw_chunks_by_csv(source: SourceFile, chunk_rows: int, *, skip: int):
    """iter_raw_chunks for the rest of a file that has a row longer than the fast reader takes: Python's csv
    module, which takes rows of any length, from the record after the first `skip` ones (the header included,
    so at least 1), numbering lines the same way."""
    headers = list(source.headers)
    width = len(headers)
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # the C parser has no limit either
    dialect = {"delimiter": source.delimiter, "quotechar": '"', "doublequote": True}
    with open(source.path, encoding=source.encoding, errors="replace", newline="") as handle:
        # The lines of the record being read: at the end, they tell whether the file ended inside a quote (the
        # csv module then returns the rest of the file as one cell, where the C parser refuses the file).
        read: list[list[str]] = [[], []]  # the record being read, the last one read

        def lines():
            for text in handle:
                read[0].append(text)
                yield text

        reader = csv.reader(lines(), **dialect)

        def records():
            for row in reader:
                read[1], read[0] = read[0], []
                yield row

        rows = records()
        try:
            next_line = 1
            for row in itertools.islice(rows, max(skip, 1)):
                next_line += 1 + sum(cell.count("\n") for cell in row)
            while block := list(itertools.islice(rows, chunk_rows)):
                cells = [row if len(row) == width else (row + [""] * width)[:width] for row in block]
                frame = pd.DataFrame({h: pd.array(c, dtype=STRING) for h, c in zip(headers, zip(*cells), strict=True)})
                newlines = np.fromiter(
                    (sum(cell.count("\n") for cell in row) for row in block), dtype=np.int64, count=len(block)
                )
                next_line = _numbered(frame, newlines, next_line)
                _refuse_long_cells(source, frame, [h for h in headers if _may_hold_newlines(frame[h])])
                extra = [_trailing_blanks_dropped(row[width:]) if len(row) > width else [] for row in block]
                if any(extra):
                    frame[_EXTRA] = pd.Series([e or None for e in extra], index=frame.index, dtype=object)
                yield frame
            _refuse_open_quote(source, read[1], reader.line_num - len(read[1]) + 1)
        except csv.Error as exc:
            raise RefusedFile(f"{source.path}: line {reader.line_num}: {_one_line(exc)}") from None


_DIALECT = {"quotechar": '"', "doublequote": True}


def _refuse_open_quote(source: SourceFile, last_lines: list[str], line: int) -> None:
    """Refuse the file if its last record (`last_lines`, starting on file line `line`) opens a quote it never
    closes: the csv module would return the rest of the file as one cell."""
    try:
        list(csv.reader(last_lines, strict=True, delimiter=source.delimiter, **_DIALECT))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            message = f'{source.path}: line {line}: a quote (") is opened and never closed before the end of the file.'
            raise RefusedFile(message) from None


def _last_record(source: SourceFile) -> tuple[list[str], int]:
    """The lines of the file's last record and the line it starts on (read again with the csv module, only for
    a file the fast reader refused)."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    with open(source.path, encoding=source.encoding, errors="replace", newline="") as handle:
        current: list[str] = []

        def lines():
            for text in handle:
                current.append(text)
                yield text

        reader = csv.reader(lines(), delimiter=source.delimiter, **_DIALECT)
        last: list[str] = []
        for _row in reader:
            last, current[:] = list(current), []
        return last, reader.line_num - len(last) + 1


# ---------------------------------------------------------------------------------------------------------
# Cleaning values


def missing_to_na(values: pd.Series) -> pd.Series:
    """Trim, and turn empty cells and NULL/N/A/NA/nan/None/- markers into <NA>."""
    trimmed = values.astype(STRING).str.strip()
    return trimmed.mask(trimmed.str.lower().isin(MISSING_MARKERS))


def collapse_spaces(values: pd.Series) -> pd.Series:
    return values.str.replace(_WS + "+", " ", regex=True)


_ASCII_WHITESPACE = "[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ]+"
_PLAIN_ASCII = "[ -~\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f]*"  # printable ASCII and ASCII whitespace


def name_keys(names: pd.Series, max_length: int = 200) -> pd.Series:
    """`core.normalize.name_key` over a column: ASCII names vectorized, the rest mapped per distinct name."""
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
        keys = keys.mask(~ascii_only & names.notna(), others.map(mapping).astype(STRING))
    return keys.fillna("").str.slice(0, max_length).astype(STRING)


def phone_keys(phones: pd.Series) -> pd.Series:
    """`core.normalize.phone_key` over a column (digits, last first); a missing phone stays missing."""
    digits = phones.astype(STRING).str.replace("[^0-9]", "", regex=True)
    return digits.str.slice(step=-1).astype(STRING)


def normalize_status(values: pd.Series) -> pd.Series:
    key = collapse_spaces(values.str.lower()).str.replace(" ?- ?", " - ", regex=True)
    return key.map(STATUS_BY_WORD).astype(STRING)


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    numbers = pd.to_numeric(frame[column], errors="coerce")
    return pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=frame.index)


def _floats(values: pd.Series) -> pd.Series:
    return pd.Series(pd.array(values, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan), index=values.index)


def offsets_out_of_range(values: pd.Series) -> pd.Series:
    """Whether a date-time ends with an offset beyond ±14:00 or with more than 59 minutes (`+25:00`, `+99:99`)."""
    parts = values.astype(STRING).str.extract(_OFFSET)
    minutes = _numbers(parts, "h") * 60 + _numbers(parts, "m").fillna(0)
    return ((minutes > MAX_OFFSET_MINUTES) | (_numbers(parts, "m") > 59)).fillna(False).astype(bool)


def parse_datetimes(values: pd.Series, *, dayfirst: bool, time_zone: str) -> pd.Series:
    """Readable dates and date-times as UTC timestamps; <NaT> where unreadable.

    ISO 8601 (T or space, optional seconds/fraction, optional Z or ±HH:MM up to ±14:00), MM/DD/YYYY with an
    optional time (DD/MM/YYYY with dayfirst), DD.MM.YYYY. Values without a zone are in `time_zone`.
    """
    values = values.astype(STRING)
    stamps = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    offset = pd.Series(np.nan, index=values.index)
    # pandas reads "now" and "today" as its own clock, whatever the format: a cell must hold the date itself.
    todo = (values.notna() & ~values.str.strip().str.lower().isin(["now", "today"])).to_numpy(dtype=bool).copy()
    for fmt in [*_FAST_FORMATS, "%d/%m/%Y" if dayfirst else "%m/%d/%Y"]:
        if not todo.any():
            break
        positions = np.flatnonzero(todo)
        parsed = pd.to_datetime(values.iloc[positions], format=fmt, errors="coerce")
        parsed = parsed.to_numpy(dtype="datetime64[us]", copy=True)
        stamps[positions] = parsed
        todo[positions] = np.isnat(parsed)
    naive = pd.Series(stamps, index=values.index)
    if todo.any():
        rest = values[todo]
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
        naive.loc[rest.index] = stamp
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
        naive.loc[rest.index[bad_offset]] = pd.NaT
        offset.loc[rest.index] = (sign * minutes).to_numpy()
    has_zone = offset.notna()
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
        zoned = (naive - pd.to_timedelta(offset.fillna(0), unit="min")).dt.tz_localize("UTC")
        local = local.where(~has_zone, zoned)
    return local.astype("datetime64[us, UTC]")


# ---------------------------------------------------------------------------------------------------------
# Rows


@dataclass
class CleanChunk:
    valid: pd.DataFrame  # index: line; cleaned columns, <NA> for missing
    rejects: pd.DataFrame  # index: line; the original columns plus `reason`
    skipped_blank: int = 0
    # The original cells of the valid rows lacking a value a new record needs (NEW_RECORD_NEEDS): the loader
    # rejects them if their email is new, after merging duplicates.
    raw_incomplete: pd.DataFrame | None = None


class _Reasons:
    """Collects, per row, every rule a row breaks. Messages are built only for the rows that break a rule."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.messages: list[pd.Series] = []

    def add(self, mask: pd.Series, text: str, values: pd.Series | None = None) -> None:
        """`text` names the column; with `values`, its `{}` becomes the quoted original value."""
        mask = np.asarray(pd.Series(mask, index=self.index).fillna(False), dtype=bool)
        if not mask.any():
            return
        if values is None:
            message = pd.Series(text, index=self.index[mask], dtype=object)
        else:
            before, after = text.split("{}")
            message = before + "'" + values[mask].astype(object).fillna("") + "'" + after
        self.messages.append(message.astype(object))

    def add_messages(self, messages: pd.Series) -> None:
        """A message per row, already written, indexed by the rows' lines."""
        if len(messages):
            self.messages.append(messages.astype(object))

    @property
    def text(self) -> pd.Series:
        """One reason per rejected row: its messages in rule order, joined by "; "."""
        if not self.messages:
            return pd.Series(dtype=object)
        messages = pd.concat(self.messages)
        several = messages.index.duplicated(keep=False)
        if not several.any():
            return messages
        joined = messages[several].groupby(level=0, sort=False).agg("; ".join)
        return pd.concat([messages[~several], joined])

    @property
    def rejected(self) -> np.ndarray:
        if not self.messages:
            return np.zeros(len(self.index), dtype=bool)
        return self.index.isin(pd.concat([m.index.to_series() for m in self.messages]).index)


def _drop_blank_lines(raw: pd.DataFrame, extra: pd.Series | None) -> tuple[pd.DataFrame, int]:
    if raw.empty:
        return raw, 0
    blank = np.ones(len(raw), dtype=bool) if extra is None else extra.isna().to_numpy(dtype=bool, copy=True)
    for column in raw.columns:
        blank &= (raw[column].str.strip() == "").to_numpy(dtype=bool, na_value=True)
    return raw[~blank], int(blank.sum())


def _take_extra_cells(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series | None]:
    """The raw cells under the file's headers, and the cells beyond them per row (a list, or None)."""
    if _EXTRA not in raw:
        return raw, None
    return raw.drop(columns=[_EXTRA]), raw[_EXTRA]


def _reject_extra_cells(extra: pd.Series | None, index: pd.Index, source: SourceFile, reasons: _Reasons) -> None:
    """A row with more cells than the header cannot be trusted column by column (most often a delimiter inside an
    unquoted value shifted its cells): it is rejected, first of all its reasons."""
    if extra is None:
        return
    extra = extra.reindex(index).dropna()
    width = len(source.headers)
    hint = _DELIMITER_NAMES.get(source.delimiter, repr(source.delimiter))
    reasons.add_messages(
        pd.Series(
            [
                f"line has {width + len(cells)} cells, the header has {width} (an unquoted {hint} inside a value?)"
                for cells in extra
            ],
            index=extra.index,
            dtype=object,
        )
    )


def _reject_nul_bytes(raw: pd.DataFrame, reasons: _Reasons) -> None:
    """A NUL byte is no text (no database stores it the same way; PostgreSQL refuses it): the row is rejected,
    naming the column. A NUL near the top of the file makes it a binary file instead (open_source)."""
    for column in raw.columns:
        if _may_hold_newlines(raw[column], byte=0):
            reasons.add(raw[column].str.contains("\x00", regex=False), f"{column}: contains a NUL byte (binary data)")


def _with_extra_cells(rejects: pd.DataFrame, extra: pd.Series | None, source: SourceFile) -> pd.DataFrame:
    """The rejected rows' cells beyond the header, in one column, written as they would be in the file
    (joined by its delimiter, quoted where needed): the header's columns then this one give the whole row."""
    if extra is None:
        return rejects
    extra = extra.reindex(rejects.index).dropna()
    if extra.empty:
        return rejects
    text = []
    for cells in extra:
        out = io.StringIO()
        csv.writer(out, delimiter=source.delimiter, lineterminator="").writerow(cells)
        text.append(out.getvalue())
    column = EXTRA_CELLS if EXTRA_CELLS not in rejects else EXTRA_CELLS + "_"
    rejects[column] = pd.Series(text, index=extra.index, dtype=STRING).reindex(rejects.index)
    return rejects


def _name_column(raw: pd.DataFrame, source: SourceFile) -> pd.Series:
    if "name" not in source.columns and not any(source.first_last):
        return pd.Series(pd.NA, index=raw.index, dtype=STRING)
    if "name" in source.columns:
        names = missing_to_na(raw[source.columns["name"]])
    else:
        first, last = source.first_last
        parts = [missing_to_na(raw[h]).fillna("") for h in (first, last) if h]
        names = parts[0] if len(parts) == 1 else (parts[0] + " " + parts[1])
        names = names.str.strip().replace("", pd.NA)
    return collapse_spaces(names)


def _clean_email(raw: pd.DataFrame, source: SourceFile, reasons: _Reasons) -> pd.Series:
    label = source.column_label("email")
    original = raw[label]
    email = missing_to_na(original).str.lower()
    reasons.add(email.isna(), f"{label}: missing (every row needs an email)")
    plausible = email.str.fullmatch(_EMAIL).fillna(False).astype(bool)
    reasons.add(email.notna() & ~plausible, f"{label}: {{}} is not a valid email address", original.str.strip())
    return email


def _check_lengths(frame: pd.DataFrame, source: SourceFile, limits: dict[str, int], reasons: _Reasons) -> None:
    for field_name, limit in limits.items():
        if field_name not in frame:
            continue
        too_long = frame[field_name].str.len() > limit
        reasons.add(too_long, f"{source.column_label(field_name)}: longer than {limit} characters")


def clean_lead_chunk(
    raw: pd.DataFrame, source: SourceFile, *, now: datetime, dayfirst: bool = False, time_zone: str = "UTC"
) -> CleanChunk:
    raw, extra = _take_extra_cells(raw)
    raw, blank = _drop_blank_lines(raw, extra)
    reasons = _Reasons(raw.index)
    _reject_extra_cells(extra, raw.index, source, reasons)
    _reject_nul_bytes(raw, reasons)
    out = pd.DataFrame(index=raw.index)
    out["email"] = _clean_email(raw, source, reasons)
    out["name"] = _name_column(raw, source)
    for field_name in ("phone", "company", "source"):
        if field_name in source.columns:
            out[field_name] = missing_to_na(raw[source.columns[field_name]])
        else:
            out[field_name] = pd.Series(pd.NA, index=raw.index, dtype=STRING)
    if "status" in source.columns:
        label = source.columns["status"]
        given = missing_to_na(raw[label])
        out["status"] = normalize_status(given)
        reasons.add(
            given.notna() & out["status"].isna(),
            f"{label}: {{}} is not a known status (new, contacted, qualified, converted, lost)",
            given,
        )
    else:
        out["status"] = pd.Series(pd.NA, index=raw.index, dtype=STRING)
    label = source.column_label("created_at")
    given = (
        missing_to_na(raw[label]) if "created_at" in source.columns else pd.Series(pd.NA, index=raw.index, dtype=STRING)
    )
    created = parse_datetimes(given, dayfirst=dayfirst, time_zone=time_zone)
    offset_too_wide = offsets_out_of_range(given) & created.isna()
    reasons.add(offset_too_wide, f"{label}: {{}} has a time zone offset beyond ±14:00", given)
    reasons.add(given.notna() & created.isna() & ~offset_too_wide, f"{label}: {{}} is not a readable date", given)
    reasons.add(created < EARLIEST_DATE, f"{label}: {{}} is before {EARLIEST_DATE:%Y-%m-%d}", given)
    reasons.add(created > pd.Timestamp(now).tz_convert("UTC"), f"{label}: {{}} is in the future", given)
    out["created_at"] = created
    _check_lengths(out, source, LEAD_MAX_LENGTHS, reasons)
    rejected = reasons.rejected
    valid = out[~rejected].copy()
    valid["name_key"] = name_keys(valid["name"]).mask(valid["name"].isna())
    valid["company_key"] = name_keys(valid["company"]).where(valid["company"].notna())  # missing keeps the stored
    valid["phone_key"] = phone_keys(valid["phone"])
    rejects = _with_extra_cells(raw[rejected].copy(), extra, source)
    rejects["reason"] = reasons.text.reindex(rejects.index).astype(STRING)
    return CleanChunk(valid, rejects, blank, raw_incomplete=_incomplete(raw[~rejected], valid, "lead"))


def clean_agent_chunk(raw: pd.DataFrame, source: SourceFile, **_ignored) -> CleanChunk:
    raw, extra = _take_extra_cells(raw)
    raw, blank = _drop_blank_lines(raw, extra)
    reasons = _Reasons(raw.index)
    _reject_extra_cells(extra, raw.index, source, reasons)
    _reject_nul_bytes(raw, reasons)
    out = pd.DataFrame(index=raw.index)
    out["email"] = _clean_email(raw, source, reasons)
    out["name"] = _name_column(raw, source)
    if "active" in source.columns:
        label = source.columns["active"]
        given = missing_to_na(raw[label])
        out["is_active"] = given.str.lower().map(ACTIVE_WORDS).astype("boolean")
        reasons.add(
            given.notna() & out["is_active"].isna(),
            f"{label}: {{}} is not yes/no, true/false, y/n, 1/0, active/inactive, enabled/disabled",
            given,
        )
    else:
        out["is_active"] = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    if "capacity" in source.columns:
        label = source.columns["capacity"]
        given = missing_to_na(raw[label])
        whole = given.str.fullmatch(r"[0-9]+(?:[.]0*)?").fillna(False).astype(bool)
        number = pd.to_numeric(given.where(whole).str.replace(r"\.0*$", "", regex=True), errors="coerce")
        too_big = number > CAPACITY_MAX
        reasons.add(given.notna() & (~whole | too_big), f"{label}: {{}} is not a whole number 0 or more", given)
        out["capacity"] = number.where(~too_big).astype("Int64")
    else:
        out["capacity"] = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    _check_lengths(out, source, AGENT_MAX_LENGTHS, reasons)
    rejected = reasons.rejected
    rejects = _with_extra_cells(raw[rejected].copy(), extra, source)
    rejects["reason"] = reasons.text.reindex(rejects.index).astype(STRING)
    valid = out[~rejected].copy()
    return CleanChunk(valid, rejects, blank, raw_incomplete=_incomplete(raw[~rejected], valid, "agent"))


def _incomplete(raw_valid: pd.DataFrame, valid: pd.DataFrame, kind: str) -> pd.DataFrame:
    needed, _rule = NEW_RECORD_NEEDS[kind]
    lacking = np.zeros(len(valid), dtype=bool)
    for field_name in needed:
        lacking |= valid[field_name].isna().to_numpy(dtype=bool)
    return raw_valid[lacking]


def merge_duplicates(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows sharing an email become one record: later (higher line) non-empty values win.

    The merged record keeps the first line of its email as its index. Only the duplicated emails are grouped.
    """
    if rows.empty:
        return rows
    duplicated = rows["email"].duplicated(keep=False).to_numpy(dtype=bool)
    if not duplicated.any():
        return rows
    ordered = rows[duplicated].sort_index(kind="stable").reset_index()
    grouped = ordered.groupby("email", sort=False)
    merged = grouped.last()  # last() skips <NA>, so a later empty cell never wins over an earlier value
    merged["line"] = grouped["line"].min()
    merged = merged.reset_index().set_index("line")[list(rows.columns)]
    return pd.concat([rows[~duplicated], merged]).sort_index(kind="stable")


def _clean_chunks(source: SourceFile, kind: str, now: datetime, dayfirst: bool, time_zone: str, chunk_rows: int):
    clean = clean_lead_chunk if kind == "lead" else clean_agent_chunk
    for raw in iter_raw_chunks(source, chunk_rows):
        yield clean(raw, source, now=now, dayfirst=dayfirst, time_zone=time_zone)


def _cleaned_by_a_process(arguments) -> Iterator[CleanChunk]:
    """Clean in a separate Python process (it imports pandas, not Django) while
    the caller writes to the database: on a big file the two halves of the work then run on two cores instead
    of sharing one GIL. The chunks come back pickled through a pipe; an error is raised here."""
    import pickle
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parent.parent)
    # Ctrl-C reaches the whole process group: the child ignores it from its first line (the parent stops it).
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        f"import sys; sys.path.insert(0, {root!r}); from imports.cleaning import _serve_cleaning; _serve_cleaning()"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        pickle.dump(arguments, child.stdin)
        child.stdin.close()
        while True:
            try:
                item = pickle.load(child.stdout)
            except EOFError:
                raise RefusedFile(f"{arguments[0].path}: the cleaning process stopped unexpectedly.") from None
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def _serve_cleaning() -> None:
    """The child side of _cleaned_by_a_process: arguments in on stdin, pickled chunks out on stdout."""
    import pickle
    import sys

    out = sys.stdout.buffer
    try:
        try:
            for chunk in _clean_chunks(*pickle.load(sys.stdin.buffer)):
                pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(None, out)
        except (BrokenPipeError, EOFError):
            raise
        except Exception as exc:
            pickle.dump(exc, out)
        out.flush()
    except (BrokenPipeError, EOFError):  # the parent is gone (killed, or stopped reading): nobody to tell
        os._exit(1)  # at once: a normal exit would flush stdout into the broken pipe and print about it


def _prefetched(chunks, depth: int = 2):
    """Clean the next chunks in a thread while this one is written: pandas, pyarrow and the database
    drivers release the GIL for their heavy work, so reading and writing overlap."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                items.put(chunk)
            items.put(done)
        except BaseException as exc:  # handed over to the caller's thread
            items.put(exc)

    thread = threading.Thread(target=work, name="import-cleaning", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.1)


# Files at least this big are cleaned in a separate process; smaller ones in a thread of the caller.
PROCESS_CLEANING_BYTES = 32 * 1024 * 1024


def read_clean(
    path: str | Path,
    *,
    kind: str,
    now: datetime,
    dayfirst: bool = False,
    time_zone: str = "UTC",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    in_process: bool | None = None,
) -> tuple[SourceFile, Iterator[CleanChunk]]:
    """Open a file (refusing it if unreadable) and return its cleaned chunks, lazily.

    The chunks are cleaned ahead of the caller, who writes them meanwhile: in a thread, or for big files (or
    `in_process=True`) in a separate process.
    """
    source = open_source(path, kind=kind)
    arguments = (source, kind, now, dayfirst, time_zone, chunk_rows)
    if in_process is None:
        in_process = source.path.stat().st_size >= PROCESS_CLEANING_BYTES
    return source, (_cleaned_by_a_process(arguments) if in_process else _prefetched(_clean_chunks(*arguments)))
