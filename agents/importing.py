"""Importing agents from a CSV file: the agent schema (what each column is called and how it is cleaned), and the
service behind `manage.py import_agents` and the admin import."""

from functools import partial

from django.db.models.expressions import RawSQL

from agents.availability import check_time_zone, check_working_hours
from agents.models import WEIGHT_DECIMAL_PLACES, WEIGHT_MAX_DIGITS, Agent, Team
from core.normalize import name_key
from imports.loading import load_file
from imports.schema import Field, Schema, register
from imports.values import Checked, DecimalNumber, Email, NameList, Text, WholeNumber, YesNo

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
        # Team names separated by , or ; in the cell: the agent's teams become exactly those (write_teams).
        Field(
            "teams",
            ("teams", "team", "team names", "groups"),
            NameList(separators=",;", max_length=Team._meta.get_field("name").max_length),
            stored=False,
            max_length=255,
        ),
        Field(
            "weight",
            ("weight", "share", "routing weight", "lead share"),
            DecimalNumber(max_digits=WEIGHT_MAX_DIGITS, decimal_places=WEIGHT_DECIMAL_PLACES),
        ),
        Field(
            "daily_cap",
            ("daily cap", "daily_cap", "max per day", "daily limit", "leads per day"),
            WholeNumber(CAPACITY_MAX),
        ),
        Field("time_zone", ("time zone", "timezone", "tz"), Checked(check_time_zone)),
        Field("working_hours", ("working hours", "hours", "office hours"), Checked(check_working_hours)),
    ],
    new_record_rule="a new record needs a name",
    after_upsert=["agents.importing.write_teams"],
)
register(AGENT_SCHEMA)  # imports.schema.schema_for("agent"): jobs and reverts find it by kind


def write_teams(*, cursor, staging: str, schema: Schema) -> set[str]:
    """After the upsert (imports.schema.AfterUpsert): each agent whose row has a teams cell gets exactly the
    teams it names; an empty cell leaves the agent's teams alone. A name matches a team ignoring case, accents
    and spaces (Team.name_key); a team no one has created yet is created, named as first written. A few queries
    whatever the number of rows: the cells, the teams, the agents and their memberships, then bulk writes.
    Returns the emails of the agents whose teams changed."""
    cursor.execute(f"SELECT email, teams FROM {staging} WHERE teams IS NOT NULL")
    cells = dict(cursor.fetchall())
    if not cells:
        return set()
    wanted: dict[str, set[str]] = {}
    written: dict[str, str] = {}  # key -> the name as first written
    for email, cell in cells.items():
        keys = wanted.setdefault(email, set())
        for name in cell.split(NameList.JOINED):
            key = name_key(name)
            if key:
                keys.add(key)
                written.setdefault(key, name.strip())
    teams = dict(Team.objects.filter(name_key__in=list(written)).values_list("name_key", "id"))
    missing = [Team(name=written[key]) for key in sorted(written) if key not in teams]
    if missing:
        Team.objects.bulk_create(missing)
        teams = dict(Team.objects.filter(name_key__in=list(written)).values_list("name_key", "id"))
    in_file = RawSQL(f"SELECT email FROM {staging} WHERE teams IS NOT NULL", [])
    agents = dict(Agent.objects.filter(email__in=in_file).values_list("email", "id"))
    Membership = Agent.teams.through
    held: dict[int, dict[int, int]] = {}  # agent id -> team id -> membership id
    for pk, agent_id, team_id in Membership.objects.filter(agent__email__in=in_file).values_list(
        "pk", "agent_id", "team_id"
    ):
        held.setdefault(agent_id, {})[team_id] = pk
    dropped, added, changed = [], [], set()
    for email, keys in wanted.items():
        agent_id = agents[email]
        now_held = held.get(agent_id, {})
        target = {teams[key] for key in keys}
        gone = [pk for team_id, pk in now_held.items() if team_id not in target]
        new = [Membership(agent_id=agent_id, team_id=team_id) for team_id in sorted(target - set(now_held))]
        if gone or new:
            changed.add(email)
        dropped += gone
        added += new
    for start in range(0, len(dropped), 500):
        Membership.objects.filter(pk__in=dropped[start : start + 500]).delete()
    Membership.objects.bulk_create(added, batch_size=1000)
    return changed


# import_agents(path, *, dry_run, dayfirst, batch_size, rejects_path, sample_size, now, progress) -> ImportResult:
# create or update agents by email from a messy CSV (imports.loading.load_file with this schema); the agent's
# login is never touched, its teams only by a non-empty teams cell (write_teams). `dayfirst` is accepted for
# symmetry with leads (agent files hold no dates). Raises imports.reading.RefusedFile (nothing written) when
# the file cannot be processed at all.
import_agents = partial(load_file, schema=AGENT_SCHEMA)
