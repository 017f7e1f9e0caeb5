"""Importing leads from a CSV file: the lead schema (what each column is called and how it is cleaned), and the
service behind `manage.py import_leads` and the admin import."""

from functools import partial

from core.normalize import phone_key
from imports.loading import load_file
from imports.schema import Field, Key, Schema, register
from imports.values import Choice, DateTime, Email, Text, name_key_of, name_keys, phone_keys
from leads.models import Lead
from leads.status_history import FIRST_TOUCH_ON_INSERT

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
        Field("source", ("source", "lead source", "original source")),  # HubSpot: Original Source
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
        Key("name_key", "name", name_keys, derive_one=name_key_of),
        Key("company_key", "company", name_keys, derive_one=name_key_of),
        Key("phone_key", "phone", phone_keys, derive_one=phone_key),
    ],
    new_record_rule="a new lead needs a name and a created date",
    # Every lead the import creates or updates was active then; its status changes are recorded, set-based,
    # around the upsert (leads.status_history).
    stamped=["last_activity_at"],
    around_upsert=["leads.status_history.import_status_changes"],
    restored=["first_touched_at"],
    inserted=[("first_touched_at", FIRST_TOUCH_ON_INSERT)],
    before_restore=["leads.status_history.revert_status_changes"],
)
register(LEAD_SCHEMA)  # imports.schema.schema_for("lead"): jobs and reverts find it by kind


# import_leads(path, *, dry_run, dayfirst, batch_size, rejects_path, sample_size, now, progress) -> ImportResult:
# create or update leads by email from a messy CSV (imports.loading.load_file with this schema); the
# assignment of a lead is never touched. Raises imports.reading.RefusedFile (nothing written) when the file
# cannot be processed at all.
import_leads = partial(load_file, schema=LEAD_SCHEMA)
