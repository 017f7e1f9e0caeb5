"""Importing leads from a CSV file: the lead schema (what each column is called and how it is cleaned), and the
service behind `manage.py import_leads` and the admin import."""

from datetime import datetime
from pathlib import Path

from imports.loading import ImportResult, load_file
from imports.reading import DEFAULT_CHUNK_ROWS
from imports.schema import Field, Key, Schema, register
from imports.values import Choice, DateTime, Email, Text, name_keys, phone_keys
from leads.models import Lead

# The words each status is written as in exports of other CRMs, compared ignoring case and spacing.
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

LEAD_SCHEMA = Schema.for_model(
    Lead,
    kind="lead",
    identity="email",
    fields=[
        Field("email", ("email", "e-mail", "email address"), Email(), required="every row needs an email"),
        Field(
            "name",
            ("name", "full name", "lead name", "contact name"),
            Text(collapse=True),
            needed_for_new=True,
            parts=(("first name", ("first name",)), ("last name", ("last name",))),
        ),
        Field("phone", ("phone", "phone number", "mobile", "telephone")),
        Field("company", ("company", "company name", "organization", "account name")),
        Field("source", ("source", "lead source")),
        Field("country", ("country", "country/region", "billing country", "mailing country")),
        Field(
            "status",
            ("status", "lead status", "work status"),
            Choice(tuple(STATUS_SYNONYMS.items()), noun="status"),
        ),
        Field(
            "created_at",
            ("created_at", "created", "created date", "create date", "date created", "creation date"),
            DateTime(),
            needed_for_new=True,
        ),
    ],
    keys=[
        Key("name_key", "name", name_keys),
        Key("company_key", "company", name_keys),
        Key("phone_key", "phone", phone_keys),
    ],
    new_record_rule="a new lead needs a name and a created date",
)
register(LEAD_SCHEMA)


def import_leads(
    *,
    path: str | Path,
    dry_run: bool = False,
    dayfirst: bool = False,
    batch_size: int = DEFAULT_CHUNK_ROWS,
    rejects_path: str | Path | None = None,
    sample_size: int = 0,
    now: datetime | None = None,
    progress=None,
) -> ImportResult:
    """Create or update leads by email from a messy CSV; the assignment of a lead is never touched.

    Raises imports.reading.RefusedFile (nothing written) when the file cannot be processed at all.
    """
    return load_file(
        path,
        LEAD_SCHEMA,
        dry_run=dry_run,
        dayfirst=dayfirst,
        batch_size=batch_size,
        rejects_path=rejects_path,
        sample_size=sample_size,
        now=now,
        progress=progress,
    )
