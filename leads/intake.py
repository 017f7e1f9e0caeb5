"""The intake: leads posted to the API (leads.api), one or a batch per request, saved by the CSV import's rules.

Cleaning is the import's own code (imports.records over LEAD_SCHEMA: status synonyms, date formats, email
normalization, lengths, missing markers): vectorized for a batch, value by value for a request of a few leads
(clean_few, the same rules without pandas' fixed cost per call, which was most of a single POST's time). Saving is
set-based, one transaction per request, with no model instances: one query reads the stored leads of the request's
emails (values only), one multi-row INSERT creates the new ones and hands back their ids (INSERT ... RETURNING; one
SELECT by email where the engine has none), and the import's own UPDATE through a staging table
(imports.loading.update_records) changes the others where a value differs (an empty value never erases a stored one;
rows of one email are merged as in the import, later values winning). Each creation and change of status is recorded
by the request's key (leads.status_history: one bulk INSERT, one UPDATE of first_touched_at); last_activity_at comes
with the INSERT and the UPDATE (a stamped column of the lead schema). A new lead needs a name; its created date
defaults to the request's moment and its source to the key's. With ASSIGN_ON_ARRIVAL on, each new open lead gets an
agent in the same transaction (leads.assignment.assign_on_arrival); an update never moves a lead. The answer is
built from what the request holds in memory and the agents the arrival run placed the leads with.

The whole request runs under the assignment lock: requests for one new email queue behind each other, so the
first creates the lead and the others update it, and no two arrivals plan on the same loads. A lead created
meanwhile by another writer (an import, the admin) trips the unique email index: the request is then run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import pyarrow as pa
from django.conf import settings
from django.db import IntegrityError, connection

from core import sql
from imports.loading import staged_columns, update_records
from imports.reading import SourceFile
from imports.records import clean_few, clean_records
from imports.rows import merge_duplicate_rows, merge_duplicates
from imports.values import STRING, Context
from leads.assignment import assign_on_arrival, lock_assignments
from leads.classification import Thresholds, classify
from leads.importing import LEAD_SCHEMA
from leads.models import Lead
from leads.status_history import CREATED as CREATED_STATUS
from leads.status_history import Source, StatusChange, record_status_changes

FEW_LEADS = 20  # a request of at most this many leads is cleaned value by value (_cleaned)
ATTEMPTS = 3  # runs of one request whose insert met a lead created meanwhile by another writer
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
_FIELDS = [f.name for f in LEAD_SCHEMA.fields if f.name != LEAD_SCHEMA.identity]
_STAGED = staged_columns(LEAD_SCHEMA)  # the identity, the fields and the keys, with a new lead's defaults
_COLUMNS = [c.name for c in _STAGED]
_DATETIMES = {c.name for c in _STAGED if c.kind == "datetime"}


@dataclass(frozen=True)
class LeadOutcome:
    index: int  # the lead's position in the request
    id: int
    email: str
    result: str  # created, updated, unchanged
    classification: str
    agent: str | None  # the agent's email

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "result": self.result,
            "classification": self.classification,
            "agent": self.agent,
        }


@dataclass
class IntakeResult:
    outcomes: list[LeadOutcome] = field(default_factory=list)  # the saved leads, in request order
    rejected: dict[int, list[dict]] = field(default_factory=dict)  # position -> [{"field", "message"}]
    created: int = 0  # leads (rows of one email count once)
    updated: int = 0
    unchanged: int = 0


def intake_leads(
    *, leads: list[dict], as_of: datetime, default_source: str = "", assign: bool | None = None, api_key=None
) -> IntakeResult:
    """Create or update leads by email from JSON objects; give the new open ones an agent (assign: default
    ASSIGN_ON_ARRIVAL). Rejected leads (every rule each breaks) are left out; the others are saved, their
    creations and changes of status recorded by the key (leads.status_history)."""
    assign = settings.ASSIGN_ON_ARRIVAL if assign is None else assign
    valid, merged, errors, source = _cleaned(leads, Context(now=as_of, time_zone=settings.TIME_ZONE))
    name_label = source.column_label("name")
    for attempt in range(ATTEMPTS):
        result = IntakeResult(rejected=dict(errors))
        try:
            with lock_assignments():
                _save(
                    valid,
                    merged,
                    result,
                    as_of=as_of,
                    default_source=default_source,
                    assign=assign,
                    name=name_label,
                    api_key=api_key,
                )
            break
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    result.rejected = {p: result.rejected[p] for p in sorted(result.rejected)}
    return result


Rows = list[tuple[int, dict]]  # (the lead's position in the request, its cleaned values; None where missing)


def _cleaned(leads: list[dict], context: Context) -> tuple[Rows, Rows, dict[int, list[dict]], SourceFile]:
    """The valid leads, the same merged by email (imports.rows.merge_duplicates), the rejected ones' errors, and
    the request's keys as a file's columns. A few leads are cleaned value by value (clean_few: pandas' fixed cost
    per call would be most of a single POST's time), more by the vectorized cleaning, faster per lead."""
    if len(leads) <= FEW_LEADS:
        few = clean_few(leads, LEAD_SCHEMA, context)
        return few.valid, merge_duplicate_rows(few.valid, LEAD_SCHEMA.identity), few.errors, few.source
    cleaned = clean_records(leads, LEAD_SCHEMA, context)
    merged = merge_duplicates(cleaned.valid, LEAD_SCHEMA.identity)
    return _rows(cleaned.valid), _rows(merged), cleaned.errors, cleaned.source


def _rows(frame: pd.DataFrame) -> Rows:
    """A cleaned frame's rows as Python values (None where missing), converted column by column in C."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    return [(line, {name: columns[name][i] for name in columns}) for i, line in enumerate(frame.index.tolist())]


def _frame(rows: Rows) -> pd.DataFrame:
    """Rows as the cleaned frame they would come from (each column of its cleaner's dtype, indexed by line): what
    the import's UPDATE through a staging table reads."""
    dtypes = {**{f.name: f.cleaner.dtype for f in LEAD_SCHEMA.fields}, **{k.name: STRING for k in LEAD_SCHEMA.keys}}
    index = pd.Index([line for line, _values in rows], name="line")
    return pd.DataFrame(
        {name: pd.array([values[name] for _line, values in rows], dtype=dtype) for name, dtype in dtypes.items()},
        index=index,
    )


def _save(
    valid: Rows, records: Rows, result: IntakeResult, *, as_of, default_source: str, assign: bool, name: str, api_key
) -> None:
    if not valid:
        return
    identity = LEAD_SCHEMA.identity
    columns = {key: [values[key] for _line, values in records] for key in records[0][1]}
    emails = columns[identity]
    positions: dict[str, list[int]] = {}  # email -> the positions of the request's leads with it
    for position, given in valid:
        positions.setdefault(given[identity], []).append(position)
    stored = {
        row[0]: row[1:]
        for row in Lead.objects.filter(email__in=emails).values_list("email", "id", *_FIELDS, "assigned_agent__email")
    }
    new: list[dict] = []  # the values of each new lead, every column filled
    changed: list[int] = []  # positions (in records) of the stored leads to update
    saved: dict[str, list] = {}  # email -> [id, result, status, created_at, agent]
    moved: list[StatusChange] = []  # the stored leads whose status the request changes
    for i, email in enumerate(emails):
        values = {key: columns[key][i] for key in _COLUMNS}
        lead = stored.get(email)
        if lead is None:
            if values["name"] is None:
                rule = "missing (a new lead needs a name)"  # its created date defaults to now, unlike in a file
                for position in positions[email]:
                    result.rejected[position] = [{"field": name, "message": rule}]
                continue
            values["created_at"] = values["created_at"] or as_of
            values["source"] = values["source"] or default_source
            for column in _STAGED:
                if values[column.name] is None:
                    values[column.name] = column.default
            new.append(values)
            saved[email] = [None, CREATED, values["status"], values["created_at"], None]
            continue
        lead_id, *before, agent = lead
        before = dict(zip(_FIELDS, before, strict=True))
        if values["source"] is None and not before["source"] and default_source:
            values["source"] = columns["source"][i] = default_source
        differs = any(values[k] is not None and values[k] != before[k] for k in _FIELDS)
        if differs:
            changed.append(i)
        status = values["status"] or before["status"]
        if status != before["status"]:
            moved.append(StatusChange(lead_id, before["status"], status))
        created_at = values["created_at"] or before["created_at"]
        saved[email] = [lead_id, UPDATED if differs else UNCHANGED, status, created_at, agent]
    if new:
        for email, lead_id in _insert(new, as_of):
            saved[email][0] = lead_id
    if changed:
        update = _frame([records[i] for i in changed])
        update["source"] = pd.array([columns["source"][i] for i in changed], dtype=STRING)
        update_records(update, LEAD_SCHEMA, as_of)
    created_changes = [StatusChange(saved[v[identity]][0], CREATED_STATUS, v["status"]) for v in new]
    record_status_changes(changes=[*created_changes, *moved], as_of=as_of, source=Source.API, api_key=api_key)
    if assign and new:
        placed = assign_on_arrival(lead_ids=[saved[values[identity]][0] for values in new], as_of=as_of).placed
        for values in new:
            saved[values[identity]][4] = placed.get(saved[values[identity]][0])
    counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
    for _id, kind, *_rest in saved.values():
        counts[kind] += 1
    result.created, result.updated, result.unchanged = counts[CREATED], counts[UPDATED], counts[UNCHANGED]
    thresholds = Thresholds.from_settings()
    for position, given in valid:
        email = given[identity]
        if email not in saved:
            continue
        lead_id, kind, status, created_at, agent = saved[email]
        result.outcomes.append(
            LeadOutcome(
                index=position,
                id=lead_id,
                email=email,
                result=kind,
                classification=classify(status, created_at, as_of, thresholds).value,
                agent=agent,
            )
        )


def _insert(leads: list[dict], as_of) -> list[tuple[str, int]]:
    """Insert the new leads (each a dict of every staged column) in bulk (core.sql's insert_rows); (email, id)
    of each. The ids come back from INSERT ... RETURNING where the engine has it, else from one SELECT by email."""
    ops = connection.ops
    names = [*_COLUMNS, *LEAD_SCHEMA.insert_timestamps]
    stamp = ops.adapt_datetimefield_value(as_of)
    stamps = [stamp] * len(LEAD_SCHEMA.insert_timestamps)
    adapted: dict = {}  # each distinct moment adapted once (most new leads are created "now")

    def adapt(value):
        if value not in adapted:
            adapted[value] = ops.adapt_datetimefield_value(value)
        return adapted[value]

    rows = [[adapt(lead[n]) if n in _DATETIMES else lead[n] for n in _COLUMNS] + stamps for lead in leads]
    with connection.cursor() as cursor:
        returned = sql.dialect().insert_rows(
            cursor, Lead, names, rows, returning=(LEAD_SCHEMA.pk, LEAD_SCHEMA.identity)
        )
    ids = [(email, lead_id) for lead_id, email in returned]
    if len(ids) < len(leads):  # an engine that returns no rows from a multi-row INSERT
        emails = [lead[LEAD_SCHEMA.identity] for lead in leads]
        ids = list(Lead.objects.filter(email__in=emails).values_list("email", "id"))
    return ids
