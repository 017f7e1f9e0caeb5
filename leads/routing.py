"""Routing: which pool (team) a lead belongs to, by the ordered rules (RoutingRule), and the rules file.

A rule's conditions are texts where `|` separates alternatives; an empty condition matches anything. Each is
compared folded (core.normalize.name_key: case, accents and extra spaces ignored):
- source, country: equal to an alternative;
- email_domain: the domain after the email's last @ is an alternative or ends with `.` + one (example.com
  matches sales.example.com); a leading @ in an alternative is ignored;
- company_contains: the company contains an alternative;
- classification: the lead's class at the moment of routing (leads.classification) is one of them.
The first rule (lowest position) whose every condition holds decides: its team is the lead's pool. A lead
matching no rule goes to ROUTING_DEFAULT_TEAM: a team's name, or empty for every agent (the pool None).

`RuleSet.route_frame` is vectorized over a frame of leads (a million in seconds, leads.routing_frames; `route_queryset`
reads the frame from a queryset in one query); `route_lead` and `route_values` route one lead in plain Python, with
the same folding (core.normalize.name_key) and matching: a test proves they agree. This module loads no pandas, so
the verification and the admin's pages route their few leads without it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from agents.models import Agent, Team
from core.normalize import name_key
from imports.files import RefusedFile, SmallFileProblems, exact_columns, read_small_csv
from leads.classification import LeadClass
from leads.models import RoutingRule

ALTERNATIVES = "|"
COLUMNS = ("position", "name", "team", "source", "country", "email_domain", "company_contains", "classification")
FRAME_COLUMNS = ("source", "country", "email", "company", "classification")


class RoutingError(Exception):
    """Routing cannot work as configured (ROUTING_DEFAULT_TEAM names no team); the message says what to fix."""


def alternatives(text: str) -> list[str]:
    """The folded alternatives of a condition (none: matches anything)."""
    return [key for part in (text or "").split(ALTERNATIVES) if (key := name_key(part))]


def _domain_alternatives(text: str) -> list[str]:
    return [key.lstrip("@") for key in alternatives(text) if key.lstrip("@")]


@dataclass(frozen=True)
class Rule:
    """A rule with its conditions folded: what matching reads."""

    id: int
    position: int
    name: str
    team_id: int
    team_name: str
    source: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    email_domain: tuple[str, ...] = ()
    company_contains: tuple[str, ...] = ()
    classification: tuple[str, ...] = ()

    def matches(self, folded: dict[str, str]) -> bool:
        """Every condition holds for one lead's folded values (fold_values)."""
        for name in ("source", "country", "classification"):
            wanted = getattr(self, name)
            if wanted and folded[name] not in wanted:
                return False
        if self.email_domain:
            domain = folded["email_domain"]
            if not any(domain == d or domain.endswith("." + d) for d in self.email_domain):
                return False
        return not self.company_contains or any(part in folded["company_contains"] for part in self.company_contains)

    @classmethod
    def of(cls, rule: RoutingRule, team_name: str) -> Rule:
        return cls(
            id=rule.pk,
            position=rule.position,
            name=rule.name,
            team_id=rule.team_id,
            team_name=team_name,
            source=tuple(alternatives(rule.source)),
            country=tuple(alternatives(rule.country)),
            email_domain=tuple(_domain_alternatives(rule.email_domain)),
            company_contains=tuple(alternatives(rule.company_contains)),
            classification=tuple(alternatives(rule.classification)),
        )


@dataclass(frozen=True)
class Route:
    """Where one lead goes: the rule that decided (None: no rule matched) and the pool's team (None: every agent)."""

    rule: Rule | None
    team_id: int | None
    team_name: str | None

    @property
    def pool_label(self) -> str:
        return self.team_name if self.team_name is not None else "every agent"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    default_team_id: int | None  # ROUTING_DEFAULT_TEAM's team; None: every agent
    default_team_name: str | None

    @classmethod
    def load(cls) -> RuleSet:
        """The rules in position order and the default pool, in two queries. Raises RoutingError when
        ROUTING_DEFAULT_TEAM names no team."""
        rules = tuple(Rule.of(r, r.team.name) for r in RoutingRule.objects.select_related("team").order_by("position"))
        default_id, default_name = default_team()
        return cls(rules=rules, default_team_id=default_id, default_team_name=default_name)

    @property
    def condition_names(self) -> set[str]:
        """The conditions some rule sets: only those columns are folded and read."""
        return {name for rule in self.rules for name in CONDITION_NAMES if getattr(rule, name)}

    def match_values(self, values) -> Rule | None:
        """The rule deciding one lead (None: none matches); `values` maps FRAME_COLUMNS to the lead's values
        (missing or None: empty). Plain Python, folding and matching as match_frame does."""
        folded = fold_values(values, self.condition_names)
        return next((rule for rule in self.rules if rule.matches(folded)), None)

    def route_values(self, values) -> int | None:
        """One lead's pool (route_frame for one lead): its rule's team, else the default team; None: every agent."""
        rule = self.match_values(values)
        return rule.team_id if rule is not None else self.default_team_id

    # The vectorized routing, for a frame of many leads (the assignment): leads.routing_frames, which loads pandas,
    # imported only by what routes frames.

    def match_frame(self, frame):
        """The position of the rule deciding each lead (<NA>: none matches), for a frame with FRAME_COLUMNS."""
        from leads.routing_frames import match_frame

        return match_frame(self, frame)

    def route_frame(self, frame):
        """Each lead's pool: the team id of the rule deciding it, else the default team's; <NA> (None) for the
        pool of every agent. `frame` has the columns FRAME_COLUMNS (classification: the class at the moment of
        routing); missing values are empty."""
        from leads.routing_frames import route_frame

        return route_frame(self, frame)

    def route_queryset(self, leads, as_of: datetime):
        """Each lead's pool (route_frame), indexed by lead id, for a queryset of leads read in one query with
        their class at `as_of` computed by the database."""
        from leads.routing_frames import lead_frame

        frame = lead_frame(leads, as_of)
        return self.route_frame(frame).set_axis(frame["id"].to_numpy())

    def route_lead(self, lead, as_of: datetime) -> Route:
        """Where one lead (anything with source, country, email, company, status, created_at) goes at `as_of`."""
        values = {name: getattr(lead, name) for name in FRAME_COLUMNS if name != "classification"}
        rule = self.match_values({**values, "classification": lead.classification_at(as_of).value})
        if rule is None:
            return Route(None, self.default_team_id, self.default_team_name)
        return Route(rule, rule.team_id, rule.team_name)


def route_lead(lead, as_of: datetime) -> Route:
    """RuleSet.load().route_lead(lead, as_of)."""
    return RuleSet.load().route_lead(lead, as_of)


CONDITION_NAMES = ("source", "country", "email_domain", "company_contains", "classification")
# The frame column each condition reads.
ROUTED_COLUMNS = {
    "source": "source",
    "country": "country",
    "email_domain": "email",
    "company_contains": "company",
    "classification": "classification",
}


DOMAIN = re.compile(r"@([^@]*)$")  # the domain: after the (folded) email's last @
MAX_FOLDED = 1000  # the longest folded value matched (the longest lead column is shorter)


def fold(value) -> str:
    """A lead's value as the conditions compare it (core.normalize.name_key; missing: empty)."""
    return name_key(value if isinstance(value, str) else "")[:MAX_FOLDED]


def fold_values(values, needed) -> dict[str, str]:
    """One lead's values folded for matching, by condition name, only those some rule reads."""
    folded = {}
    for name in needed:
        value = fold(values.get(ROUTED_COLUMNS[name]))
        if name == "email_domain":
            found = DOMAIN.search(value)
            value = found.group(1) if found else ""
        folded[name] = value
    return folded


def default_team() -> tuple[int | None, str | None]:
    """ROUTING_DEFAULT_TEAM as (team id, name); (None, None) when empty: every agent."""
    wanted = (getattr(settings, "ROUTING_DEFAULT_TEAM", "") or "").strip()
    if not wanted:
        return None, None
    found = Team.objects.filter(name_key=name_key(wanted)).values_list("id", "name").first()
    if found is None:
        known = ", ".join(Team.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise RoutingError(
            f"ROUTING_DEFAULT_TEAM is {wanted!r}, but there is no such team (teams: {known}). "
            "Create it, or set ROUTING_DEFAULT_TEAM to one of them or to nothing (every agent)."
        )
    return found


def pool_agents(team_id: int | None):
    """The agents of a pool: the team's members, or every agent for None. Eligibility (active, not away, below
    capacity and daily cap) is the assignment's to judge."""
    agents = Agent.objects.all()
    return agents if team_id is None else agents.filter(teams=team_id)


# ---------------------------------------------------------------------------------------------------------
# The rules file


class RulesFileError(SmallFileProblems):
    """A rules file that cannot be imported; `problems` lists each with its line and column. Nothing changed."""

    unchanged = "no rule"


@dataclass(frozen=True)
class RulesImport:
    rules: int
    replaced: int

    def to_dict(self) -> dict:
        return {"rules": self.rules, "replaced": self.replaced}


def read_rules_file(path: str | Path) -> list[RoutingRule]:
    """The rules a file holds (unsaved), checked: the exact columns (COLUMNS, any order, case and spaces
    ignored), a whole position from 1 used once, a name, a known team (case and accents ignored), known lead
    classes. Raises RefusedFile for an unreadable file, RulesFileError listing every problem otherwise."""
    headers, rows = read_small_csv(path)
    keys, problems = exact_columns(headers, COLUMNS)
    if problems:
        raise RulesFileError(path, problems)
    teams = {key: (pk, name) for pk, name, key in Team.objects.values_list("id", "name", "name_key")}
    known_teams = ", ".join(sorted(name for _, name in teams.values())) or "none yet"
    classes = LeadClass.values
    rules, seen = [], {}
    for line, cells in rows:
        cell = {key: (cells[i] if i < len(cells) else "").strip() for i, key in enumerate(keys)}
        if not any(cell.values()):
            continue
        position = None
        if not cell["position"].isdigit() or int(cell["position"]) < 1:
            problems.append(f"line {line}, column position: {cell['position']!r} is not a whole number from 1")
        elif int(cell["position"]) in seen:
            first = seen[int(cell["position"])]
            problems.append(f"line {line}, column position: {cell['position']} is also the position on line {first}")
        else:
            position = int(cell["position"])
            seen[position] = line
        if not cell["name"]:
            problems.append(f"line {line}, column name: missing (every rule needs a name)")
        team = teams.get(name_key(cell["team"]))
        if not cell["team"]:
            problems.append(f"line {line}, column team: missing (every rule needs a team)")
        elif team is None:
            problems.append(f"line {line}, column team: no team {cell['team']!r} (teams: {known_teams})")
        wanted = [c.strip().lower() for c in cell["classification"].split(ALTERNATIVES) if c.strip()]
        for value in wanted:
            if value not in classes:
                problems.append(
                    f"line {line}, column classification: {value!r} is not a lead class ({', '.join(classes)})"
                )
        for name in (*RoutingRule.CONDITIONS, "name"):
            longest = RoutingRule._meta.get_field(name).max_length
            if len(cell[name]) > longest:
                problems.append(f"line {line}, column {name}: longer than {longest} characters")
        if position is not None and team is not None:
            rules.append(
                RoutingRule(
                    position=position,
                    name=cell["name"],
                    team_id=team[0],
                    source=cell["source"],
                    country=cell["country"],
                    email_domain=cell["email_domain"],
                    company_contains=cell["company_contains"],
                    classification=ALTERNATIVES.join(wanted),
                )
            )
    if problems:
        raise RulesFileError(path, problems)
    return rules


@transaction.atomic
def replace_rules(*, rules: list[RoutingRule]) -> RulesImport:
    """The rule set becomes exactly `rules`, in one transaction."""
    replaced, _ = RoutingRule.objects.all().delete()
    RoutingRule.objects.bulk_create(sorted(rules, key=lambda r: r.position))
    return RulesImport(rules=len(rules), replaced=replaced)


def import_rules_file(*, path: str | Path) -> RulesImport:
    """Read and check the file (read_rules_file), then replace the rule set with it (replace_rules)."""
    return replace_rules(rules=read_rules_file(path))


def export_rules(out) -> int:
    """Write the rule set as a rules file (COLUMNS, UTF-8, `,`): importing it gives the same rules. Returns how
    many rules it wrote."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for rule in RoutingRule.objects.select_related("team").order_by("position"):
        writer.writerow([rule.position, rule.name, rule.team.name, *(getattr(rule, c) for c in RoutingRule.CONDITIONS)])
        count += 1
    return count


def export_rules_text() -> str:
    out = io.StringIO()
    export_rules(out)
    return out.getvalue()


__all__ = [
    "COLUMNS",
    "CONDITION_NAMES",
    "ROUTED_COLUMNS",
    "RefusedFile",
    "Route",
    "RoutingError",
    "Rule",
    "RuleSet",
    "RulesFileError",
    "RulesImport",
    "default_team",
    "export_rules",
    "import_rules_file",
    "pool_agents",
    "read_rules_file",
    "replace_rules",
    "route_lead",
]
