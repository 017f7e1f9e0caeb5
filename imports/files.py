"""The checks of a file before anything reads its rows, and small settings files read whole: plain Python.

imports.reading reads an import's rows into frames (pandas); what only refuses a file, maps a header or reads a
small CSV (the routing rules, the SLA policies) lives here, so that the apps reading their settings files, and
every process at start-up, need not load the data-frame stack.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import os
import re
import stat
from pathlib import Path

DELIMITERS = [",", ";", "\t", "|"]


class RefusedFile(Exception):
    """A file that cannot be processed at all: nothing is imported and the command exits 2."""


def header_key(header: str) -> str:
    """Headers match case-insensitively, trimmed, with spaces, hyphens and underscores alike."""
    return re.sub(r"[\s_\-]+", " ", str(header).strip().lower()).strip()


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


def refuse_binary(path: Path, head: bytes) -> None:
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


_NOT_REGULAR = (
    (stat.S_ISDIR, "is a folder"),
    (stat.S_ISFIFO, "is a named pipe (FIFO)"),
    (stat.S_ISSOCK, "is a socket"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
)


def check_readable(path: str | Path) -> None:
    """Refuse (RefusedFile) a path that is not a readable regular file, as the import would."""
    read_head(Path(path))


def read_head(path: Path) -> bytes:
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
        raise RefusedFile(f"{path}: cannot be read ({exc.strerror or one_line(exc)}).") from None


def one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


CSV_DIALECT = {"quotechar": '"', "doublequote": True}


SMALL_FILE_BYTES = 10 * 1024 * 1024


class SmallFileProblems(Exception):
    """A small settings file refused whole (`problems`: each with its line and column); nothing was changed.
    Subclasses name what was not changed (`unchanged`)."""

    unchanged = "nothing"

    def __init__(self, path, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} problems" if len(problems) > 1 else "a problem"
        super().__init__(f"{path}: {count}, {self.unchanged} was changed:\n" + "\n".join(f"  {p}" for p in problems))


def exact_columns(headers: list[str], columns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """A small file's header checked against the exact `columns` (any order; case, spaces, `-` and `_` ignored):
    each header's key (`email_domain`), and the problems (an unknown or repeated column, missing ones)."""
    keys = [header_key(h).replace(" ", "_") for h in headers]
    problems = []
    for number, (header, key) in enumerate(zip(headers, keys, strict=True), start=1):
        if key not in columns:
            problems.append(f"line 1, column {number} ({header!r}): unknown column (the columns: {', '.join(columns)})")
        elif keys.index(key) != number - 1:
            problems.append(f"line 1, column {number} ({header!r}): the {key} column comes twice")
    missing = [c for c in columns if c not in keys]
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)} (the columns: {', '.join(columns)})")
    return keys, problems


def read_small_csv(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """A small CSV (a settings file, not data) read whole, with the same checks, encodings and delimiters as an
    import: its header cells, and each row's cells with the line it starts on (the header is line 1). Raises
    RefusedFile with a one-line reason (no such file, binary, empty, larger than 10 MB, an open quote)."""
    path = Path(path)
    head = read_head(path)
    if not head.strip():
        raise RefusedFile(f"{path}: the file is empty.")
    refuse_binary(path, head)
    if path.stat().st_size > SMALL_FILE_BYTES:
        raise RefusedFile(f"{path}: larger than {SMALL_FILE_BYTES // (1 << 20)} MB, too big for this kind of file.")
    encoding = detect_encoding(path)
    text = path.read_text(encoding=encoding, errors="replace")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise RefusedFile(f"{path}: the file is empty.")
    delimiter = sniff_delimiter(text[:65536])
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, delimiter=delimiter, strict=True, **CSV_DIALECT)
    rows: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for record in reader:
            rows.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            message = f'{path}: line {start}: a quote (") is opened and never closed before the end of the file.'
            raise RefusedFile(message) from None
        raise RefusedFile(f"{path}: line {reader.line_num}: {one_line(exc)}") from None
    header = rows[0][1] if rows else []
    return header, rows[1:]
