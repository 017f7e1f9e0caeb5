"""SLA policies: which policy a pool has (SlaPolicySet), and the policies file.

A pool's policy is its team's, else the default one (no team); a pool with neither has no SLA. The pool of every
agent (no team) has the default policy. Enforcing the steps (reminders, escalation, reassignment, recycling) is
not done here: this module only holds and checks the data.

The file is a CSV with exactly COLUMNS (any order; headers compared ignoring case, spaces, `-` and `_`), read like
the routing rules file (imports.files.read_small_csv): one row per policy, an empty team for the default one, an
empty value for a step that is off.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from agents.models import Team
from core.normalize import name_key
from imports.files import RefusedFile, SmallFileProblems, exact_columns, read_small_csv
from leads.models import SLA_COUNTS, SLA_HOURS, SLA_HOURS_DECIMAL_PLACES, SLA_HOURS_MAX_DIGITS, SlaPolicy

COLUMNS = ("team", *SLA_HOURS, *SLA_COUNTS)
HOURS_MAX = Decimal(10 ** (SLA_HOURS_MAX_DIGITS - SLA_HOURS_DECIMAL_PLACES)) - Decimal(1).scaleb(
    -SLA_HOURS_DECIMAL_PLACES
)


@dataclass(frozen=True)
class SlaPolicySet:
    """Every policy, loaded in one query: the default one and one per team."""

    default: SlaPolicy | None
    by_team: dict[int, SlaPolicy]

    @classmethod
    def load(cls) -> SlaPolicySet:
        policies = list(SlaPolicy.objects.all())
        default = next((p for p in policies if p.team_id is None), None)
        return cls(default=default, by_team={p.team_id: p for p in policies if p.team_id is not None})

    def for_team(self, team_id: int | None) -> SlaPolicy | None:
        """The pool's policy: its team's, else the default one; None: no SLA."""
        return self.by_team.get(team_id, self.default) if team_id is not None else self.default


# ---------------------------------------------------------------------------------------------------------
# The policies file


class PoliciesFileError(SmallFileProblems):
    """A policies file that cannot be imported; `problems` lists each with its line and column. Nothing changed."""

    unchanged = "no policy"


@dataclass(frozen=True)
class PoliciesImport:
    policies: int
    replaced: int

    def to_dict(self) -> dict:
        return {"policies": self.policies, "replaced": self.replaced}


def _hours(text: str) -> Decimal | None:
    """The hours a cell holds; None for empty; raises ValueError with what is wrong."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number of hours") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number of hours")
    if value <= 0:
        raise ValueError(f"{text} must be more than 0 hours (empty switches the step off)")
    if value.as_tuple().exponent < -SLA_HOURS_DECIMAL_PLACES:
        raise ValueError(f"{text} has more than {SLA_HOURS_DECIMAL_PLACES} decimals")
    if value > HOURS_MAX:
        raise ValueError(f"{text} is more than {HOURS_MAX} hours")
    return value


def _count(text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{text!r} is not a whole number from 1 (empty switches it off)")
    if int(text) > 2_147_483_647:
        raise ValueError(f"{text} is too large")
    return int(text)


def read_policies_file(path: str | Path) -> list[SlaPolicy]:
    """The policies a file holds (unsaved), checked: the exact columns (COLUMNS, any order, case and spaces
    ignored), a known team (case and accents ignored) or none for the default, each team and the default once,
    hours above 0 with at most 2 decimals, whole numbers from 1, and the steps' order (SlaPolicy.problems). Raises
    RefusedFile for an unreadable file, PoliciesFileError listing every problem otherwise."""
    headers, rows = read_small_csv(path)
    keys, problems = exact_columns(headers, COLUMNS)
    if problems:
        raise PoliciesFileError(path, problems)
    teams = {key: (pk, name) for pk, name, key in Team.objects.values_list("id", "name", "name_key")}
    known_teams = ", ".join(sorted(name for _, name in teams.values())) or "none yet"
    policies, seen = [], {}
    for line, cells in rows:
        cell = {key: (cells[i] if i < len(cells) else "").strip() for i, key in enumerate(keys)}
        if not any(cell.values()):
            continue
        team = None
        if cell["team"]:
            team = teams.get(name_key(cell["team"]))
            if team is None:
                problems.append(f"line {line}, column team: no team {cell['team']!r} (teams: {known_teams})")
        scope = team[0] if team else None
        if team is not None or not cell["team"]:
            if scope in seen:
                which = f"team {team[1]!r}" if team else "default (no team)"
                problems.append(f"line {line}, column team: the {which} policy is also on line {seen[scope]}")
            else:
                seen[scope] = line
        values, bad = {}, False
        for name in COLUMNS[1:]:
            try:
                values[name] = (_hours if name in SLA_HOURS else _count)(cell[name])
            except ValueError as exc:
                problems.append(f"line {line}, column {name}: {exc}")
                bad = True
        if bad or (cell["team"] and team is None):
            continue
        policy = SlaPolicy(team_id=scope, **values)
        problems.extend(f"line {line}, column {name}: {message}" for name, message in policy.problems())
        policies.append(policy)
    if problems:
        raise PoliciesFileError(path, problems)
    return policies


@transaction.atomic
def replace_policies(*, policies: list[SlaPolicy]) -> PoliciesImport:
    """The policies become exactly `policies`, in one transaction."""
    replaced, _ = SlaPolicy.objects.all().delete()
    SlaPolicy.objects.bulk_create(policies)
    return PoliciesImport(policies=len(policies), replaced=replaced)


def import_policies_file(*, path: str | Path) -> PoliciesImport:
    """Read and check the file (read_policies_file), then replace the policies with it (replace_policies)."""
    return replace_policies(policies=read_policies_file(path))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 4.00 -> 4, 1.50 -> 1.5, 100 -> 100
    return str(value)


def _team_order(policy: SlaPolicy) -> tuple[str, str]:
    return (policy.team.name_key, policy.team.name) if policy.team_id else ("", "")


def export_policies(out) -> int:
    """Write the policies as a policies file (COLUMNS, UTF-8, `,`; the default policy first, then by team name,
    case and accents ignored): importing it gives the same policies. Returns how many it wrote."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    # Sorted here, not by the database, so that every engine's collation writes the same file.
    policies = sorted(SlaPolicy.objects.select_related("team"), key=lambda p: (p.team_id is not None, _team_order(p)))
    for policy in policies:
        writer.writerow([policy.team.name if policy.team_id else "", *(_cell(getattr(policy, c)) for c in COLUMNS[1:])])
        count += 1
    return count


def export_policies_text() -> str:
    out = io.StringIO()
    export_policies(out)
    return out.getvalue()


__all__ = [
    "COLUMNS",
    "PoliciesFileError",
    "PoliciesImport",
    "RefusedFile",
    "SlaPolicySet",
    "export_policies",
    "export_policies_text",
    "import_policies_file",
    "read_policies_file",
    "replace_policies",
]
