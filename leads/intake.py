"""The intake: leads posted to the API (leads.api), one or a batch per request, saved by the CSV import's rules.

Cleaning is the import's own code (imports.records over LEAD_SCHEMA: status synonyms, date formats, email
normalization, lengths, missing markers). Saving is set-based, one transaction per request: one query reads
the stored leads of the request's emails, one bulk INSERT creates the new ones, one bulk UPDATE changes the
others where a value differs (an empty value never erases a stored one; rows of one email are merged as in the
import, later values winning). A new lead needs a name; its created date defaults to the request's moment and
its source to the key's. With ASSIGN_ON_ARRIVAL on, each new open lead gets an agent in the same transaction
(leads.assignment.assign_on_arrival); an update never moves a lead.

The whole request runs under the assignment lock: requests for one new email queue behind each other, so the
first creates the lead and the others update it, and no two arrivals plan on the same loads. A lead created
meanwhile by another writer (an import, the admin) trips the unique email index: the request is then run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from django.conf import settings
from django.db import IntegrityError

from imports.records import clean_records
from imports.rows import merge_duplicates
from imports.values import Context
from leads.assignment import assign_on_arrival, lock_assignments
from leads.classification import classify
from leads.importing import LEAD_SCHEMA
from leads.models import Lead

ATTEMPTS = 3  # runs of one request whose insert met a lead created meanwhile by another writer
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
_FIELDS = [f.name for f in LEAD_SCHEMA.fields if f.name != LEAD_SCHEMA.identity]
_KEYS = [k.name for k in LEAD_SCHEMA.keys]


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
    *, leads: list[dict], as_of: datetime, default_source: str = "", assign: bool | None = None
) -> IntakeResult:
    """Create or update leads by email from JSON objects; give the new open ones an agent (assign: default
    ASSIGN_ON_ARRIVAL). Rejected leads (every rule each breaks) are left out; the others are saved."""
    assign = settings.ASSIGN_ON_ARRIVAL if assign is None else assign
    cleaned = clean_records(leads, LEAD_SCHEMA, Context(now=as_of, time_zone=settings.TIME_ZONE))
    name_label = cleaned.source.column_label("name")
    for attempt in range(ATTEMPTS):
        result = IntakeResult(rejected=dict(cleaned.errors))
        try:
            with lock_assignments():
                _save(cleaned.valid, result, as_of=as_of, default_source=default_source, assign=assign, name=name_label)
            break
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    result.rejected = {p: result.rejected[p] for p in sorted(result.rejected)}
    return result


def _value(value):
    """A cleaned cell as the model holds it (None when missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _save(valid: pd.DataFrame, result: IntakeResult, *, as_of, default_source: str, assign: bool, name: str) -> None:
    if valid.empty:
        return
    identity = LEAD_SCHEMA.identity
    records = merge_duplicates(valid, identity)
    stored = {lead.email: lead for lead in Lead.objects.filter(email__in=records[identity].tolist())}
    new, changed, outcome = [], [], {}
    changed_fields: set[str] = set()
    for row in records.to_dict("records"):
        email = row[identity]
        values = {name: _value(row[name]) for name in [*_FIELDS, *_KEYS]}
        lead = stored.get(email)
        if lead is None:
            if values["name"] is None:
                rule = "missing (a new lead needs a name)"  # its created date defaults to now, unlike in a file
                for position in valid.index[valid[identity] == email]:
                    result.rejected[int(position)] = [{"field": name, "message": rule}]
                continue
            values["created_at"] = values["created_at"] or as_of
            values["source"] = values["source"] or default_source
            new.append(Lead(email=email, **{k: v for k, v in values.items() if v is not None}))
            outcome[email] = CREATED
            continue
        if values["source"] is None and not lead.source and default_source:
            values["source"] = default_source
        differs = [k for k in _FIELDS if values[k] is not None and values[k] != getattr(lead, k)]
        if not differs:
            outcome[email] = UNCHANGED
            continue
        for k in [*differs, *_KEYS]:
            if values[k] is not None:
                setattr(lead, k, values[k])
        lead.updated_at = as_of
        changed_fields.update(differs)
        changed.append(lead)
        outcome[email] = UPDATED
    created = Lead.objects.bulk_create(new, batch_size=500)
    if changed:
        Lead.objects.bulk_update(changed, [*sorted(changed_fields), *_KEYS, "updated_at"], batch_size=200)
    ids = {lead.email: lead.pk for lead in [*created, *stored.values()] if lead.pk is not None}
    missing = [lead.email for lead in created if lead.pk is None]  # an engine that returns no ids from a bulk INSERT
    if missing:
        ids.update(Lead.objects.filter(email__in=missing).values_list("email", "id"))
    if assign and created:
        assign_on_arrival(lead_ids=[ids[lead.email] for lead in created], as_of=as_of)
    saved = {
        email: (lead_id, status, created_at, agent)
        for lead_id, email, status, created_at, agent in Lead.objects.filter(id__in=list(ids.values())).values_list(
            "id", "email", "status", "created_at", "assigned_agent__email"
        )
    }
    counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
    for kind in outcome.values():
        counts[kind] += 1
    result.created, result.updated, result.unchanged = counts[CREATED], counts[UPDATED], counts[UNCHANGED]
    for position, email in valid[identity].items():
        if email not in outcome:
            continue
        lead_id, status, created_at, agent = saved[email]
        result.outcomes.append(
            LeadOutcome(
                index=int(position),
                id=lead_id,
                email=email,
                result=outcome[email],
                classification=classify(status, created_at, as_of).value,
                agent=agent,
            )
        )
