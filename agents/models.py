from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce

from agents.availability import check_time_zone, parse_working_hours
from core.fields import NameKeyField, NormalizedEmailField

WEIGHT_MAX_DIGITS, WEIGHT_DECIMAL_PLACES = 6, 2  # up to 9999.99


def default_time_zone() -> str:
    return settings.TIME_ZONE


def validate_positive(value) -> None:
    if value is not None and value <= 0:
        raise ValidationError("Must be more than 0 (1 is a full share, 0.5 half of one).")


def validate_time_zone(value: str) -> None:
    try:
        check_time_zone(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def validate_working_hours(value: str) -> None:
    try:
        parse_working_hours(value)
    except ValueError as exc:
        raise ValidationError(f"{exc}.") from None


class Team(models.Model):
    """A pool of agents that routing rules send leads to (leads.routing)."""

    name = models.CharField(max_length=100)
    # Unique: two teams cannot differ only by case, accents or spaces ("EMEA" and "emea" are one team).
    name_key = NameKeyField(max_length=100, source="name", unique=True, db_index=False)
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="managed_teams",
        help_text="Logins who look after this team's leads.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        key = NameKeyField.key(self.name or "")
        if key and Team.objects.filter(name_key=key).exclude(pk=self.pk).exists():
            raise ValidationError({"name": "A team with this name already exists (case and accents are ignored)."})


@dataclass(frozen=True)
class RoutingProfile:
    """What routing reads of an agent (AgentQuerySet.routing_profiles); agents.availability takes it as an agent."""

    id: int
    weight: Decimal
    daily_cap: int | None
    time_zone: str
    working_hours: str
    team_ids: frozenset[int]


class AgentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def routing_profiles(self) -> dict[int, RoutingProfile]:
        """The agents' routing data by id, in two queries whatever their number (the agents, their teams)."""
        teams: dict[int, set[int]] = {}
        memberships = Agent.teams.through.objects.filter(agent__in=self.values("pk"))
        for agent_id, team_id in memberships.values_list("agent_id", "team_id"):
            teams.setdefault(agent_id, set()).add(team_id)
        rows = self.order_by("pk").values_list("pk", "weight", "daily_cap", "time_zone", "working_hours")
        return {
            pk: RoutingProfile(pk, weight, cap, zone, hours, frozenset(teams.get(pk, ())))
            for pk, weight, cap, zone, hours in rows
        }

    def holiday_dates(self, start: date, end: date) -> dict[int, frozenset[date]]:
        """Each agent's holidays from `start` to `end` (both included): its teams' and everyone's, by agent id
        (every agent of the queryset, an empty set when it has none), in one query."""
        no_date, no_agent = (
            models.Value(None, output_field=models.DateField()),
            models.Value(None, models.BigIntegerField()),
        )
        agents = self.order_by().values_list("pk", no_date)
        team_days = (
            Agent.teams.through.objects.filter(agent__in=self.values("pk"))
            .filter(team__holidays__date__gte=start, team__holidays__date__lte=end)
            .order_by()
            .values_list("agent_id", "team__holidays__date")
        )
        everyone_days = (
            Holiday.objects.between(start, end).filter(team__isnull=True).order_by().values_list(no_agent, "date")
        )
        days: dict[int, set[date]] = {}
        everyone: set[date] = set()
        for agent_id, day in agents.union(team_days, everyone_days, all=True):
            if agent_id is None:
                everyone.add(day)
            else:
                found = days.setdefault(agent_id, set())
                if day is not None:
                    found.add(day)
        return {agent_id: frozenset(found | everyone) for agent_id, found in days.items()}


class Agent(models.Model):
    name = models.CharField(max_length=200)
    email = NormalizedEmailField(max_length=254, unique=True)
    is_active = models.BooleanField("active", default=True, db_index=True)
    # The most open leads the agent may hold; empty means no limit, 0 means
    # "takes no new leads" (on leave) without deactivating the agent.
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open leads this agent may hold. Empty: no limit."
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="agents")
    # db_default on the routing columns: rows written by raw SQL without them (benchmarks, tests) get a full share,
    # any time, and UTC (the ORM and the import write TIME_ZONE).
    weight = models.DecimalField(
        max_digits=WEIGHT_MAX_DIGITS,
        decimal_places=WEIGHT_DECIMAL_PLACES,
        default=Decimal("1"),
        db_default=Decimal("1"),
        validators=[validate_positive],
        help_text="Share of new leads relative to teammates: 1 a full share, 0.5 half of one.",
    )
    daily_cap = models.PositiveIntegerField(
        "daily cap",
        null=True,
        blank=True,
        help_text="Most new leads per day (in the agent's time zone). Empty: no limit.",
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        db_default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone of the working hours and the daily cap (Europe/Paris, America/New_York).",
    )
    working_hours = models.CharField(
        max_length=255,
        blank=True,
        db_default="",
        validators=[validate_working_hours],
        help_text="E.g. Mon-Fri 09:00-12:00, 13:00-17:30; Sat 10:00-14:00. Empty: any time.",
    )
    # The agent's own admin login, so an agent sees only their own leads.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent"
    )
    # db_default: the agents import writes rows by SQL with the columns of its schema only.
    arrival_emails = models.BooleanField(
        "email me each lead on arrival",
        default=True,
        db_default=True,
        help_text="An email for each lead the intake API assigns; the digests of bulk assignments always go.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgentQuerySet.as_manager()

    class Meta:
        ordering = ["name", "email"]
        permissions = [
            ("import_agent", "Can import agents"),
            ("export_agent", "Can export agents"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=0), name="agent_capacity_not_negative"),
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="agent_weight_positive"),
            models.CheckConstraint(condition=models.Q(daily_cap__gte=0), name="agent_daily_cap_not_negative"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    @property
    def hours(self):
        """The parsed working hours (agents.availability.WorkingHours)."""
        return parse_working_hours(self.working_hours)


class AbsenceQuerySet(models.QuerySet):
    def overlapping(self, start, end=None):
        """Absences overlapping [start, end) (end None: any absence not over at `start`)."""
        rows = self.filter(ends_at__gt=start)
        return rows if end is None else rows.filter(starts_at__lt=end)


class Absence(models.Model):
    """A period an agent takes no leads: from `starts_at` (included) until `ends_at` (excluded)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="absences")
    starts_at = models.DateTimeField("from")
    ends_at = models.DateTimeField("until")
    reason = models.CharField(max_length=200, blank=True)

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "id"]
        indexes = [
            models.Index(fields=["ends_at", "starts_at"], name="absence_period_idx"),
            models.Index(fields=["agent", "ends_at"], name="absence_agent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="absence_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.agent.name}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "Must be after the start."})


class HolidayQuerySet(models.QuerySet):
    def between(self, start: date, end: date):
        """Holidays from `start` to `end`, both included."""
        return self.filter(date__gte=start, date__lte=end)


def team_scope_field() -> models.GeneratedField:
    """The row's team id, or 0 without a team: a unique constraint on it allows one row per team and one without,
    on every engine (NULLs are distinct in a unique constraint, and MariaDB has no conditional constraints)."""
    return models.GeneratedField(
        expression=Coalesce(models.F("team"), models.Value(0)), output_field=models.BigIntegerField(), db_persist=True
    )


class TeamScoped(models.Model):
    """A model with a nullable `team` and a `team_scope` (team_scope_field) in a unique constraint."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        # A form has no team_scope field (the database computes it from team), so Django would skip the
        # constraint: check it whenever the team is checked.
        if exclude and "team" not in exclude:
            exclude = set(exclude) - {"team_scope"}
        super().validate_constraints(exclude=exclude)


class Holiday(TeamScoped):
    """A day off for one team's agents, or for every agent (no team). SLA hours skip it (leads.sla_policies)."""

    date = models.DateField()
    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="holidays",
        help_text="Empty: a holiday for every agent.",
    )
    team_scope = team_scope_field()

    objects = HolidayQuerySet.as_manager()

    class Meta:
        ordering = ["date", "team__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_scope", "date"],
                name="holiday_one_per_day_and_team",
                violation_error_message="This day is already a holiday for this team (or for everyone).",
            )
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name} ({self.team.name if self.team_id else 'everyone'})"
