"""Rows: a chunk of a file's raw cells becomes valid rows (the schema's fields, cleaned, <NA> where missing, plus
the look-up keys) and rejected rows (the original cells, their `line`, and a `reason` naming every rule the row
breaks, column by column). The rules are the schema's; nothing here names a field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imports.reading import DELIMITER_NAMES, EXTRA_CELLS, EXTRA_COLUMN, SourceFile, may_hold_newlines
from imports.schema import Schema
from imports.values import STRING, Context, missing_or_trimmed, missing_to_na


@dataclass
class CleanChunk:
    valid: pd.DataFrame  # index: line; cleaned columns, <NA> for missing
    rejects: pd.DataFrame  # index: line; the original columns plus `reason`
    skipped_blank: int = 0
    # The original cells of the valid rows lacking a value a new record needs (Field.needed_for_new): the loader
    # rejects them if their identity is new, after merging duplicates.
    raw_incomplete: pd.DataFrame | None = None
    # Every rule the rejected rows break, one per row of its own (Reasons.listed): for callers that report each
    # field apart (the intake API) rather than the joined `reason`.
    broken: pd.DataFrame | None = None


class Reasons:
    """Collects, per row, every rule a row breaks. Messages are built only for the rows that break a rule.

    Each message is kept with what it is about (`about`: the column label it names, None for the whole row), so
    a caller can report each rule on its own field (`listed`) as well as the joined text (`text`)."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.messages: list[pd.Series] = []
        self.abouts: list[str | None] = []

    def add(self, mask: pd.Series, text: str, values: pd.Series | None = None, *, about: str | None = None) -> None:
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
        self.abouts.append(about)

    def add_messages(self, messages: pd.Series, *, about: str | None = None) -> None:
        """A message per row, already written, indexed by the rows' lines."""
        if len(messages):
            self.messages.append(messages.astype(object))
            self.abouts.append(about)

    def about(self, label: str) -> _ReasonsAbout:
        """The same collection, each rule added through it being about the column `label` (given to cleaners)."""
        return _ReasonsAbout(self, label)

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
    def listed(self) -> pd.DataFrame:
        """Every broken rule on its own, in rule order: index the row's line; `field` the column label it is about
        (None: the whole row), `message` the rule without the label it starts with."""
        frames = []
        for about, messages in zip(self.abouts, self.messages):
            text = messages.astype(str)
            if about is not None:
                prefix = f"{about}: "
                text = text.where(~text.str.startswith(prefix), text.str.slice(len(prefix)))
            frames.append(pd.DataFrame({"field": about, "message": text}, index=messages.index))
        if not frames:
            return pd.DataFrame({"field": pd.Series(dtype=object), "message": pd.Series(dtype=object)})
        return pd.concat(frames)

    @property
    def rejected(self) -> np.ndarray:
        if not self.messages:
            return np.zeros(len(self.index), dtype=bool)
        return self.index.isin(pd.concat([m.index.to_series() for m in self.messages]).index)


@dataclass(frozen=True)
class _ReasonsAbout:
    reasons: Reasons
    label: str

    def add(self, mask: pd.Series, text: str, values: pd.Series | None = None) -> None:
        self.reasons.add(mask, text, values, about=self.label)

    def add_messages(self, messages: pd.Series) -> None:
        self.reasons.add_messages(messages, about=self.label)


def _drop_blank_lines(raw: pd.DataFrame, extra: pd.Series | None) -> tuple[pd.DataFrame, int]:
    if raw.empty:
        return raw, 0
    blank = np.ones(len(raw), dtype=bool) if extra is None else extra.isna().to_numpy(dtype=bool, copy=True)
    for column in raw.columns:
        blank &= (raw[column].str.strip() == "").to_numpy(dtype=bool, na_value=True)
    return raw[~blank], int(blank.sum())


def _take_extra_cells(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series | None]:
    """The raw cells under the file's headers, and the cells beyond them per row (a list, or None)."""
    if EXTRA_COLUMN not in raw:
        return raw, None
    return raw.drop(columns=[EXTRA_COLUMN]), raw[EXTRA_COLUMN]


def _reject_extra_cells(extra: pd.Series | None, index: pd.Index, source: SourceFile, reasons: Reasons) -> None:
    """A row with more cells than the header cannot be trusted column by column (most often a delimiter inside an
    unquoted value shifted its cells): it is rejected, first of all its reasons."""
    if extra is None:
        return
    extra = extra.reindex(index).dropna()
    width = len(source.headers)
    hint = DELIMITER_NAMES.get(source.delimiter, repr(source.delimiter))
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


def _reject_nul_bytes(raw: pd.DataFrame, reasons: Reasons) -> None:
    """A NUL byte is no text (no database stores it the same way; PostgreSQL refuses it): the row is rejected,
    naming the column. A NUL near the top of the file makes it a binary file instead (open_source)."""
    for column in raw.columns:
        if may_hold_newlines(raw[column], byte=0):
            reasons.add(
                raw[column].str.contains("\x00", regex=False),
                f"{column}: contains a NUL byte (binary data)",
                about=column,
            )


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


def _given(raw: pd.DataFrame, source: SourceFile, name: str) -> pd.Series | None:
    """A field's cells, trimmed, missing markers as <NA>: its column, or its parts joined by a space; None when
    the file has neither."""
    if name in source.columns:
        return missing_to_na(raw[source.columns[name]])
    if name in source.parts:
        parts = [missing_to_na(raw[h]).fillna("") for h in source.parts[name]]
        joined = parts[0]
        for more in parts[1:]:
            joined = joined + " " + more
        return joined.str.strip().replace("", pd.NA)
    return None


def clean_chunk(raw: pd.DataFrame, source: SourceFile, schema: Schema, context: Context) -> CleanChunk:
    raw, extra = _take_extra_cells(raw)
    raw, blank = _drop_blank_lines(raw, extra)
    reasons = Reasons(raw.index)
    _reject_extra_cells(extra, raw.index, source, reasons)
    _reject_nul_bytes(raw, reasons)
    out = pd.DataFrame(index=raw.index)
    for f in schema.fields:
        label = source.column_label(f.name)
        given = _given(raw, source, f.name)
        if given is None:
            if f.required:
                reasons.add(np.ones(len(raw), dtype=bool), f"{label}: missing ({f.required})", about=label)
            out[f.name] = f.cleaner.empty(raw.index)
            continue
        if f.required:
            reasons.add(given.isna(), f"{label}: missing ({f.required})", about=label)
        out[f.name] = f.cleaner.clean(given, label, reasons.about(label), context)
    for f in schema.fields:
        if f.max_length is not None:
            too_long = out[f.name].str.len() > f.max_length
            label = source.column_label(f.name)
            reasons.add(too_long, f"{label}: longer than {f.max_length} characters", about=label)
    rejected = reasons.rejected
    valid = out[~rejected].copy()
    for key in schema.keys:
        values = valid[key.source]
        valid[key.name] = key.derive(values).mask(values.isna()).astype(STRING)
    rejects = _with_extra_cells(raw[rejected].copy(), extra, source)
    rejects["reason"] = reasons.text.reindex(rejects.index).astype(STRING)
    return CleanChunk(
        valid, rejects, blank, raw_incomplete=_incomplete(raw[~rejected], valid, schema), broken=reasons.listed
    )


def clean_row(cells: dict[str, str], source: SourceFile, schema: Schema, context: Context) -> tuple[dict, list]:
    """clean_chunk's rules for one row that is not blank and has no cells beyond the header, in plain Python:
    (the fields and keys as intake reads them back, None where missing; every rule the row breaks, in rule
    order, as (the label it is about or None, the message as Reasons.listed gives it))."""
    broken: list[tuple[str | None, str]] = []

    def add(about: str | None, text: str) -> None:
        prefix = f"{about}: "
        broken.append((about, text[len(prefix) :] if about is not None and text.startswith(prefix) else text))

    for column, cell in cells.items():
        if "\x00" in cell:
            add(column, f"{column}: contains a NUL byte (binary data)")
    out: dict[str, object] = {}
    for f in schema.fields:
        label = source.column_label(f.name)
        given = _given_one(cells, source, f.name)
        if given is None:
            if f.required:
                add(label, f"{label}: missing ({f.required})")
            out[f.name] = None
            continue
        out[f.name], messages = f.cleaner.clean_value(given, label, context)
        for message in messages:
            add(label, message)
    for f in schema.fields:
        if f.max_length is not None and isinstance(out[f.name], str) and len(out[f.name]) > f.max_length:
            label = source.column_label(f.name)
            add(label, f"{label}: longer than {f.max_length} characters")
    for key in schema.keys:
        value = out[key.source]
        if value is None:
            out[key.name] = None
        elif key.derive_one is not None:
            out[key.name] = key.derive_one(value)
        else:
            out[key.name] = key.derive(pd.Series([value], dtype=STRING)).iloc[0]
    return out, broken


def _given_one(cells: dict[str, str], source: SourceFile, name: str) -> str | None:
    """_given for one row: the field's cell or its parts joined, trimmed; None when missing or not in the file."""
    if name in source.columns:
        return missing_or_trimmed(cells[source.columns[name]])
    if name in source.parts:
        joined = " ".join(missing_or_trimmed(cells[h]) or "" for h in source.parts[name]).strip()
        return joined or None
    return None


def _incomplete(raw_valid: pd.DataFrame, valid: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    lacking = np.zeros(len(valid), dtype=bool)
    for name in schema.needed_for_new:
        lacking |= valid[name].isna().to_numpy(dtype=bool)
    return raw_valid[lacking]


def merge_duplicates(rows: pd.DataFrame, identity: str) -> pd.DataFrame:
    """Rows sharing an identity (an email) become one record: later (higher line) non-empty values win.

    The merged record keeps the first line of its identity as its index. Only the duplicated identities are grouped.
    """
    if rows.empty:
        return rows
    duplicated = rows[identity].duplicated(keep=False).to_numpy(dtype=bool)
    if not duplicated.any():
        return rows
    ordered = rows[duplicated].sort_index(kind="stable").reset_index()
    grouped = ordered.groupby(identity, sort=False)
    merged = grouped.last()  # last() skips <NA>, so a later empty cell never wins over an earlier value
    merged["line"] = grouped["line"].min()
    merged = merged.reset_index().set_index("line")[list(rows.columns)]
    return pd.concat([rows[~duplicated], merged]).sort_index(kind="stable")


def merge_duplicate_rows(rows: list[tuple[int, dict]], identity: str) -> list[tuple[int, dict]]:
    """merge_duplicates for rows in memory ((line, values) pairs in line order, None where missing): rows sharing
    an identity become one, later non-empty values winning, at the first line of its identity."""
    merged: dict[object, tuple[int, dict]] = {}
    for line, values in rows:
        known = merged.get(values[identity])
        if known is None:
            merged[values[identity]] = (line, dict(values))
        else:
            known[1].update({name: value for name, value in values.items() if value is not None})
    return sorted(merged.values(), key=lambda row: row[0])
