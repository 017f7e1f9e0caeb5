"""Importing leads from a CSV file: the service behind `manage.py import_leads` and the admin import."""

from datetime import datetime
from pathlib import Path

from imports import cleaning
from imports.loading import Column, ImportResult, Target, load_file

LEAD_TARGET = Target(
    kind="lead",
    table="leads_lead",
    columns=(
        Column("email", "text", nullable=False),
        Column("name", "text", nullable=False),
        Column("name_key", "text", nullable=False, default="''", compare=False),  # follows the name
        Column("phone", "text", nullable=False, default="''"),
        Column("company", "text", nullable=False, default="''"),
        Column("company_key", "text", nullable=False, default="''", compare=False),  # follows the company
        Column("phone_key", "text", nullable=False, default="''", compare=False),  # follows the phone
        Column("source", "text", nullable=False, default="''"),
        Column("status", "text", nullable=False, default="'new'"),
        Column("created_at", "datetime", nullable=False),
    ),
    insert_timestamps=("added_at", "updated_at"),
    update_timestamp="updated_at",
)


def import_leads(
    *,
    path: str | Path,
    dry_run: bool = False,
    dayfirst: bool = False,
    batch_size: int = cleaning.DEFAULT_CHUNK_ROWS,
    rejects_path: str | Path | None = None,
    sample_size: int = 0,
    now: datetime | None = None,
    progress=None,
) -> ImportResult:
    """Create or update leads by email from a messy CSV; the assignment of a lead is never touched.

    Raises imports.cleaning.RefusedFile (nothing written) when the file cannot be processed at all.
    """
    return load_file(
        path,
        LEAD_TARGET,
        dry_run=dry_run,
        dayfirst=dayfirst,
        batch_size=batch_size,
        rejects_path=rejects_path,
        sample_size=sample_size,
        now=now,
        progress=progress,
    )
