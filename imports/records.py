"""Records: JSON objects (an API's request bodies) cleaned by the same rules as a file's rows (imports.rows).

Each object becomes a row of raw string cells under columns named after its keys, and a SourceFile maps the
keys to the schema's fields the way a file's headers are mapped, so every reason names the key it is about. A
field's key is its name; a field read from parts has a key per part (`first name` -> `first_name`). Keys are
matched to the schema's headers like a file's (imports.reading.header_key), so `first_name` is the `first name`
column. What no file can hold is refused here, per key: a value that is not a string (a number, null, a list
or an object) and a key the schema does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from imports.reading import SourceFile, header_key
from imports.rows import clean_chunk, clean_row
from imports.schema import Schema
from imports.values import STRING, Context

# What a value of each JSON type is called in a message.
_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}


def record_keys(schema: Schema) -> dict[str, tuple[str, int | None]]:
    """Each key a record may have: its field, and which of the field's parts it is (None: the field itself)."""
    keys: dict[str, tuple[str, int | None]] = {}
    for f in schema.fields:
        keys[f.name] = (f.name, None)
        for position, (word, _headers) in enumerate(f.parts):
            keys[word.replace(" ", "_")] = (f.name, position)
    return keys


def check_record_keys(schema: Schema) -> None:
    """Every key must be one of the headers its field (or part) is read from: the records then clean exactly as
    a file with those headers. Raises AssertionError naming the key that is not."""
    for key, (name, part) in record_keys(schema).items():
        f = schema.field(name)
        headers = f.headers if part is None else f.parts[part][1]
        assert header_key(key) in {header_key(h) for h in headers}, f"{key!r} is not a header of {name}"


@dataclass
class CleanRecords:
    valid: pd.DataFrame  # index: the record's position; cleaned fields and keys, <NA> where missing
    errors: dict[int, list[dict]] = field(default_factory=dict)  # position -> [{"field", "message"}], rule order
    source: SourceFile | None = None  # the keys as columns: its column_label names a field in a message


def _type_error(value) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # JSON may carry a lone surrogate (\ud800): no text, no database holds it
            return "is not valid text (it holds an unpaired surrogate)"
        return None
    if value is None:
        return "must be a string, not null (leave the key out to keep the stored value)"
    return f"must be a string, not {_JSON_TYPES.get(type(value), type(value).__name__)}"


def _checked_source(records: list[dict], schema: Schema) -> tuple[SourceFile, dict[int, list[dict]]]:
    """The keys of the records as a file's columns (the union of their keys, in the schema's order), and what no
    file can hold, per record: unknown keys and values that are not text."""
    keys = record_keys(schema)
    errors: dict[int, list[dict]] = {}
    columns: list[str] = []
    for position, record in enumerate(records):
        for key, value in record.items():
            if key not in keys:
                known = ", ".join(keys)
                errors.setdefault(position, []).append({"field": key, "message": f"unknown field (known: {known})"})
            elif (problem := _type_error(value)) is not None:
                errors.setdefault(position, []).append({"field": key, "message": problem})
            if key in keys and key not in columns:
                columns.append(key)
    columns.sort(key=list(keys).index)
    own = {keys[key][0]: key for key in columns if keys[key][1] is None}
    parts: dict[str, tuple[str, ...]] = {}
    for key in columns:
        name, part = keys[key]
        if part is not None and name not in own:
            parts[name] = (*parts.get(name, ()), key)
    return SourceFile(Path("request"), "utf-8", ",", columns, own, parts), errors


def _cells(record: dict, source: SourceFile) -> list[str]:
    """A record's cells under the source's columns: a key it lacks or a value refused for its type is empty."""
    return [value if _type_error(value := record.get(key, "")) is None else "" for key in source.headers]


def _add_broken(errors: dict[int, list[dict]], typed: dict[int, set], position: int, field: str, message: str):
    # A value refused for its type was cleaned as missing: that it is missing is no news.
    if field not in typed.get(position, ()):
        errors.setdefault(position, []).append({"field": field, "message": message})


def _identity_missing(errors, schema: Schema, source: SourceFile, positions) -> None:
    """A record with no value at all is a blank line to the rows' cleaning: it lacks its identity."""
    identity = schema.field(schema.identity)
    for position in positions:
        if position not in errors:
            label = source.column_label(identity.name)
            rule = f"missing ({identity.required})" if identity.required else "missing"
            errors[position] = [{"field": label, "message": rule}]


def clean_records(records: list[dict], schema: Schema, context: Context) -> CleanRecords:
    """Clean JSON objects (each a dict) by the schema's rules; a record breaking any rule is in `errors` with
    every rule it breaks, the others in `valid`."""
    source, errors = _checked_source(records, schema)
    rows = [_cells(record, source) for record in records]
    cells = {key: pd.array([row[i] for row in rows], dtype=STRING) for i, key in enumerate(source.headers)}
    raw = pd.DataFrame(cells, index=pd.RangeIndex(len(records), name="line"))
    chunk = clean_chunk(raw, source, schema, context)
    typed = {position: {e["field"] for e in found} for position, found in errors.items()}
    for position, row in zip(chunk.broken.index, chunk.broken.itertuples(index=False)):
        _add_broken(errors, typed, int(position), row.field, row.message)
    _identity_missing(errors, schema, source, [p for p in range(len(records)) if p not in chunk.valid.index])
    valid = chunk.valid[~chunk.valid.index.isin(list(errors))]
    return CleanRecords(valid=valid, errors={p: errors[p] for p in sorted(errors)}, source=source)


@dataclass
class FewRecords:
    """clean_records' answer for a few records, in plain Python: `valid` holds (position, values) pairs, each
    values a dict of the schema's fields and keys as intake reads a cleaned frame back (None where missing)."""

    valid: list[tuple[int, dict]] = field(default_factory=list)
    errors: dict[int, list[dict]] = field(default_factory=dict)
    source: SourceFile | None = None


def clean_few(records: list[dict], schema: Schema, context: Context) -> FewRecords:
    """clean_records record by record without pandas (a request of one lead or a few: pandas' fixed cost per
    call is most of the work there): the same rules in the same order, through each cleaner's clean_value and
    the rows' rules of imports.rows.clean_chunk (test_records proves the two agree on every record)."""
    source, errors = _checked_source(records, schema)
    typed = {position: {e["field"] for e in found} for position, found in errors.items()}
    valid: list[tuple[int, dict]] = []
    blank: list[int] = []
    for position, record in enumerate(records):
        cells = dict(zip(source.headers, _cells(record, source), strict=True))
        # A frame of no columns is empty, and clean_chunk drops blank lines only from one that is not.
        if cells and all(cell.strip() == "" for cell in cells.values()):
            blank.append(position)
            continue
        values, broken = clean_row(cells, source, schema, context)
        for about, message in broken:
            _add_broken(errors, typed, position, about, message)
        if not broken:
            valid.append((position, values))
    _identity_missing(errors, schema, source, blank)
    valid = [(position, values) for position, values in valid if position not in errors]
    return FewRecords(valid=valid, errors={p: errors[p] for p in sorted(errors)}, source=source)
