"""Importing agents from a CSV file: the service behind `manage.py import_agents` and the admin import."""

from datetime import datetime
from pathlib import Path

from imports import cleaning
from imports.loading import Column, ImportResult, Target, load_file

AGENT_TARGET = Target(
    kind="agent",
    table="agents_agent",
    columns=(
        Column("email", "text", nullable=False),
        Column("name", "text", nullable=False),
        Column("is_active", "bool", nullable=False, default="TRUE"),
        Column("capacity", "int", nullable=True),
    ),
    insert_timestamps=("created_at", "updated_at"),
    update_timestamp="updated_at",
)


def import_agents(
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
    """Create or update agents by email from a messy CSV; the agent's login is never touched.

    `dayfirst` is accepted for symmetry with leads (agent files hold no dates).
    Raises imports.cleaning.RefusedFile (nothing written) when the file cannot be processed at all.
    """
    return load_file(
        path,
        AGENT_TARGET,
        dry_run=dry_run,
        dayfirst=dayfirst,
        batch_size=batch_size,
        rejects_path=rejects_path,
        sample_size=sample_size,
        now=now,
        progress=progress,
    )
