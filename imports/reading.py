"""Reading an import file: checks that it can be read at all, its encoding, delimiter and header, how its
headers map to a schema's fields, and its rows as all-string frames numbered by line.

Encoding: UTF-8 with or without BOM, UTF-16 with or without BOM, else cp1252. Delimiter: , ; tab |. A file
that cannot be processed at all is refused (`RefusedFile`, a one-line message naming the file and the line).
The checks that need no frame, and small settings files, are imports.files' (re-exported here).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from imports.files import (
    CSV_DIALECT,
    RefusedFile,
    detect_encoding,
    header_key,
    one_line,
    read_head,
    refuse_binary,
    sniff_delimiter,
)
from imports.schema import Schema
from imports.values import STRING

DEFAULT_CHUNK_ROWS = 50_000

# Limits no real export reaches: beyond them the file is refused before its rows are read (a header of 100k
# columns or a line of 100 MB would otherwise cost minutes and gigabytes).
MAX_COLUMNS = 1_000
MAX_LINE_BYTES = 1 << 20  # 1 MB: a physical line of the file, the header included
SHOWN_HEADERS = 5  # headers named in a message, at most


@dataclass
class SourceFile:
    """A readable file, its encoding and delimiter, and how its headers map to a schema's fields."""

    path: Path
    encoding: str
    delimiter: str
    headers: list[str]
    columns: dict[str, str]  # field -> header as written in the file
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> the headers of its parts, if read so
    ignored_columns: list[str] = field(default_factory=list)

    def column_label(self, field_name: str) -> str:
        """The field's column as written in the file (its parts' headers joined by `/` when it is read from
        parts); the field's own name when the file has no such column."""
        if field_name not in self.columns and field_name in self.parts:
            return "/".join(self.parts[field_name])
        return self.columns.get(field_name, field_name)


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
        raise RefusedFile(f"{path}: line 1: cannot read the header ({one_line(exc)}).") from None


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


def map_headers(
    headers: list[str],
    aliases: dict[str, tuple[str, ...]],
    written: list[str] | None = None,
    words: dict[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Each field's column, and the other columns; `written` holds the headers as in the file when `headers` are
    the names given to them (_header_names), `words` what a field is called in a message. Two columns for one
    field are refused: which one the user meant cannot be guessed, and silently ignoring one would import the
    wrong values."""
    written = headers if written is None else written
    words = words or {}
    columns: dict[str, str] = {}
    used: set[str] = set()
    field_by_key = {header_key(key): field_name for field_name, names in reversed(aliases.items()) for key in names}
    positions: dict[str, int] = {}
    for position, (header, cell) in enumerate(zip(headers, written, strict=True), start=1):
        field_name = field_by_key.get(header_key(cell))
        if field_name is None:
            continue
        if field_name in columns:
            first = positions[field_name]
            raise RefusedFile(
                f"line 1: columns {first} ({written[first - 1]!r}) and {position} ({cell!r}) are both "
                f"the {words.get(field_name, field_name)} column: keep one."
            )
        columns[field_name] = header
        positions[field_name] = position
        used.add(header)
    return columns, [h for h in headers if h not in used]


def open_source(path: str | Path, schema: Schema) -> SourceFile:
    """Check that the file can be read at all and map its headers to the schema's fields; raise RefusedFile if
    not."""
    path = Path(path)
    head = read_head(path)
    if not head.strip():
        raise RefusedFile(f"{path}: the file is empty.")
    refuse_binary(path, head)
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
    aliases = {f.name: f.headers for f in schema.fields}
    words = {}
    for f in schema.fields:  # a field read from parts (first name, last name) when the file has no column of its own
        for position, (word, part_headers) in enumerate(f.parts):
            aliases[f"{f.name}\x00{position}"] = part_headers
            words[f"{f.name}\x00{position}"] = word
    try:
        columns, ignored = map_headers(headers, aliases, cells[: len(headers)], words)
    except RefusedFile as exc:
        raise RefusedFile(f"{path}: {exc}") from None
    parts = {}
    for f in schema.fields:
        found = tuple(h for i in range(len(f.parts)) if (h := columns.pop(f"{f.name}\x00{i}", None)))
        if f.name in columns:  # the field's own column wins; its parts are then other columns
            ignored = [h for h in headers if h in {*ignored, *found}]
        elif found:
            parts[f.name] = found
    # Only the identity is required: a file of emails and a few columns updates existing records; what a new
    # record needs besides (Field.needed_for_new) is checked per row against the database when loading.
    if schema.identity not in columns:
        found = _some(headers) if headers else "none"
        raise RefusedFile(f"{path}: missing required column(s): {schema.identity} (found headers: {found}).")
    return SourceFile(path, encoding, delimiter, headers, columns, parts, ignored)


# Cells beyond the header: the fast reader takes this many more columns per row, so that the usual ragged row (one
# unquoted delimiter inside a value, or two) is read by the C parser and rejected on its own. A row longer still
# makes the C parser stop; the rest of the file is then read by Python's csv module (slower, only for such files).
SURPLUS_CELLS = 2
EXTRA_CELLS = "extra_cells"  # the column of the rejects file holding the cells beyond the header
EXTRA_COLUMN = "\x00extra cells"  # the raw frames' private column: the list of cells beyond the header, per row
_TOO_MANY_FIELDS = re.compile(r"Expected \d+ fields in line \d+, saw \d+")
DELIMITER_NAMES = {",": '","', ";": '";"', "\t": "tab", "|": '"|"'}


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


def may_hold_newlines(values: pd.Series, byte: int = 10) -> bool:
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
    more non-blank cells than the header gets its cells beyond the header as a list in the private `EXTRA_COLUMN`
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
            spanning = [column for column in [*headers, *used] if may_hold_newlines(chunk[column])]
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
                frame = frame.assign(**{EXTRA_COLUMN: pd.Series(extra, index=frame.index, dtype=object)})
            yield frame
    except pd.errors.ParserError as exc:
        if not _TOO_MANY_FIELDS.search(str(exc)):
            if "EOF inside string" in str(exc):
                _refuse_open_quote(source, *_last_record(source))
            raise RefusedFile(f"{source.path}: cannot split the file into rows ({one_line(exc)}).") from None
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
                _refuse_long_cells(source, frame, [h for h in headers if may_hold_newlines(frame[h])])
                extra = [_trailing_blanks_dropped(row[width:]) if len(row) > width else [] for row in block]
                if any(extra):
                    frame[EXTRA_COLUMN] = pd.Series([e or None for e in extra], index=frame.index, dtype=object)
                yield frame
            _refuse_open_quote(source, read[1], reader.line_num - len(read[1]) + 1)
        except csv.Error as exc:
            raise RefusedFile(f"{source.path}: line {reader.line_num}: {one_line(exc)}") from None


def _refuse_open_quote(source: SourceFile, last_lines: list[str], line: int) -> None:
    """Refuse the file if its last record (`last_lines`, starting on file line `line`) opens a quote it never
    closes: the csv module would return the rest of the file as one cell."""
    try:
        list(csv.reader(last_lines, strict=True, delimiter=source.delimiter, **CSV_DIALECT))
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

        reader = csv.reader(lines(), delimiter=source.delimiter, **CSV_DIALECT)
        last: list[str] = []
        for _row in reader:
            last, current[:] = list(current), []
        return last, reader.line_num - len(last) + 1
