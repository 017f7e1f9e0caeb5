"""Importing agents from a CSV file: the agent schema (what each column is called and how it is cleaned), and the
service behind `manage.py import_agents` and the admin import."""

from datetime import datetime
from pathlib import Path

from agents.models import Agent
from imports.loading import ImportResult, load_file
from imports.reading import DEFAULT_CHUNK_ROWS
from imports.schema import Field, Schema, register
from imports.values import Email, Text, WholeNumber, YesNo

CAPACITY_MAX = 2_147_483_647  # the largest value every engine's integer column holds

AGENT_SCHEMA = Schema.for_model(
    Agent,
    kind="agent",
    identity="email",
    fields=[
        Field("email", ("email", "e-mail", "email address"), Email(), required="every row needs an email"),
        Field(
            "name",
            ("name", "full name", "agent", "agent name"),
            Text(collapse=True),
            needed_for_new=True,
            parts=(("first name", ("first name",)), ("last name", ("last name",))),
        ),
        Field(
            "is_active",
            ("active", "is active", "enabled"),
            YesNo(
                (
                    ("yes", "no"),
                    ("true", "false"),
                    ("y", "n"),
                    ("1", "0"),
                    ("active", "inactive"),
                    ("enabled", "disabled"),
                )
            ),
        ),
        Field("capacity", ("capacity", "max leads", "max open leads"), WholeNumber(CAPACITY_MAX)),
    ],
    new_record_rule="a new record needs a name",
)
register(AGENT_SCHEMA)


def import_agents(
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
    """Create or update agents by email from a messy CSV; the agent's login is never touched.

    `dayfirst` is accepted for symmetry with leads (agent files hold no dates).
    Raises imports.reading.RefusedFile (nothing written) when the file cannot be processed at all.
    """
    return load_file(
        path,
        AGENT_SCHEMA,
        dry_run=dry_run,
        dayfirst=dayfirst,
        batch_size=batch_size,
        rejects_path=rejects_path,
        sample_size=sample_size,
        now=now,
        progress=progress,
    )
