import hashlib
import secrets
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone

from agents.models import Agent, Team, TeamScoped, team_scope_field
from core import clock
from core.fields import NameKeyField, NormalizedEmailField, PhoneKeyField
from leads.choices import CLOSED_STATUSES, OPEN_STATUSES, LeadStatus
from leads.classification import LeadClass, class_condition, classification_expression, classify, explain

__all__ = [
    "AgentLoadCount",
    "ApiKey",
    "AssignmentRun",
    "Lead",
    "LeadAssignment",
    "LeadClass",
    "LeadStatus",
    "LeadStatusChange",
    "Notification",
    "RoutingRule",
    "SlaPolicy",
    "VerificationRun",
]


class LeadQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=sorted(OPEN_STATUSES))

    def closed(self):
        return self.filter(status__in=sorted(CLOSED_STATUSES))

    def unassigned(self):
        return self.filter(assigned_agent__isnull=True)

    def with_classification(self, as_of=None, thresholds=None, name="lead_class"):
        """Annotate each lead's class as computed by the database.

        Annotated as `lead_class`, not `classification`, which is the model property.
        """
        return self.annotate(**{name: classification_expression(as_of, thresholds)})

    def of_class(self, *lead_classes, as_of=None, thresholds=None):
        """Leads in any of the given classes, filtered in SQL.

        Filters on status and created_at (class_condition) rather than on the CASE
        expression, so that the indexes serve it at a million leads.
        """
        as_of = as_of or clock.now()
        conditions = [class_condition(c, as_of, thresholds) for c in lead_classes]
        return self.filter(reduce(or_, conditions)) if conditions else self.none()

    def countries(self) -> list[str]:
        """The countries stored (the empty one left out), in the database's order. Over every lead: a loose index
        scan, one probe of the country index per country found, where a DISTINCT reads the whole index (seconds
        at ten million leads)."""
        if self.query.where:
            return list(self.exclude(country="").order_by("country").values_list("country", flat=True).distinct())
        conn = connections[self.db]
        table = conn.ops.quote_name(self.model._meta.db_table)
        with conn.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE found (country) AS ("
                f"SELECT MIN(country) FROM {table} WHERE country > '' UNION ALL "
                f"SELECT (SELECT MIN(l.country) FROM {table} l WHERE l.country > found.country) FROM found "
                f"WHERE found.country IS NOT NULL) "
                f"SELECT country FROM found WHERE country IS NOT NULL"
            )
            return [country for (country,) in cursor.fetchall()]


class Lead(models.Model):
    name = models.CharField(max_length=200)
    name_key = NameKeyField(max_length=200, source="name", help_text="Name without accents, case or extra spaces.")
    email = NormalizedEmailField(max_length=254, unique=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=200, blank=True)
    # Search keys (leads.lookup.search_matches), kept by save() and by the import like name_key.
    # db_default: rows written by raw SQL without them (benchmarks, tests) get an empty key.
    company_key = NameKeyField(
        max_length=200, source="company", db_default="", help_text="Company without accents, case or extra spaces."
    )
    phone_key = PhoneKeyField(max_length=50, source="phone", db_default="", help_text="The phone's digits, last first.")
    source = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True, db_default="", db_index=True)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    created_at = models.DateTimeField(help_text="When the lead was created at its source.")
    # No single-column index: the (agent, status) and (agent, created_at) indexes below lead with it.
    assigned_agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        verbose_name="agent",
        db_index=False,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The pool the lead was last placed in by a run (its team; None: every agent, a manual assignment or not
    # known): the SLA policy that applies to it (leads.sla).
    assigned_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False, verbose_name="pool"
    )
    added_at = models.DateTimeField("added to the CRM", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What the SLA timers read (leads.status_history keeps both, on every path that writes a lead): when the
    # status first left `new`, and when the lead was last created, edited or moved to another status (an
    # assignment alone is not activity).
    first_touched_at = models.DateTimeField("first touched", null=True, blank=True, editable=False)
    last_activity_at = models.DateTimeField("last activity", null=True, blank=True, editable=False, db_index=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="lead_status_created_idx"),
            # Loads per agent and status, and the per-agent class counts, read from the index alone.
            models.Index(fields=["assigned_agent", "status", "created_at"], name="lead_agent_status_created_idx"),
            # An agent's (or the unassigned) leads, newest first: the changelist's ?agent= filter.
            models.Index(fields=["assigned_agent", "created_at"], name="lead_agent_created_idx"),
            # The SLA's due leads: an agent's untouched leads assigned before a moment (leads.sla).
            models.Index(fields=["assigned_agent", "status", "assigned_at"], name="lead_agent_status_assigned_idx"),
            models.Index(fields=["created_at"], name="lead_created_idx"),
        ]
        permissions = [
            ("import_lead", "Can import leads"),
            ("export_lead", "Can export leads"),
            ("assign_lead", "Can assign leads"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def classification(self) -> LeadClass:
        return self.classification_at(clock.now())

    def classification_at(self, as_of) -> LeadClass:
        return classify(self.status, self.created_at, as_of)

    def explanation_at(self, as_of=None):
        """The class with its reason and next change (leads.classification.Explanation)."""
        return explain(self.status, self.created_at, as_of)


class AssignmentRun(models.Model):
    """One run of the assignment service (command or admin action), for the audit trail."""

    class Source(models.TextChoices):
        COMMAND = "command", "Command"
        ADMIN = "admin", "Admin"
        API = "api", "Intake API"
        SCHEDULE = "schedule", "Schedule"

    started_at = models.DateTimeField(default=clock.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    action = models.CharField(max_length=50, help_text="assign, rebalance, assign-to-agent, unassign ...")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    seed = models.BigIntegerField(null=True, blank=True)
    flags = models.JSONField(default=dict, blank=True)
    # The moment the run decided at (its --as-of): availability, daily caps and the balance window are judged
    # there. None for runs recorded before routing (their started_at stands in).
    as_of = models.DateTimeField(null=True, blank=True, db_index=True)
    # What each pool looked like to the run (leads.assignment.eligibility.PoolReport.to_dict, by pool name): the
    # rule-decided pool's agents with loads, weights and caps, those skipped and why, what was given and left
    # waiting. explain_assignment reads it back instead of guessing.
    pools = models.JSONField(default=dict, blank=True)
    assigned = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    unassigned = models.PositiveIntegerField(default=0, help_text="Leads taken away from an agent.")
    unassigned_left = models.PositiveIntegerField(default=0, help_text="Open leads that could not be placed.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"Run {self.pk} ({self.action}, {self.started_at:%Y-%m-%d %H:%M})"

    @property
    def by_text(self) -> str:
        if self.action == "enforce-sla":
            return "the SLA schedule" if self.source == self.Source.SCHEDULE else "the command enforce_sla"
        if self.source == self.Source.COMMAND:
            return "the command assign_leads"
        if self.source == self.Source.API:
            return "the intake API"
        return self.user.get_username() if self.user_id else "a deleted login"


class LeadAssignment(models.Model):
    """One change of a lead's agent."""

    class Reason(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        REBALANCED = "rebalanced", "Rebalanced"
        RECLAIMED_FROM_INACTIVE = "reclaimed-from-inactive", "Reclaimed from inactive agent"
        RECLAIMED_OVER_CAPACITY = "reclaimed-over-capacity", "Reclaimed above capacity"
        MANUAL = "manual", "Manual"
        UNASSIGNED = "unassigned", "Unassigned"
        ASSIGNED_ON_ARRIVAL = "assigned-on-arrival", "Assigned on arrival"
        REROUTED = "rerouted", "Rerouted"
        SLA_REASSIGNED = "sla-reassigned", "Reassigned: first touch overdue"
        RECYCLED_STALE = "recycled-stale", "Recycled: no activity"

    # No single-column index: the (lead, changed_at) index below leads with it.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignment_history", db_index=False)
    # Agents referenced by the audit trail are protected: deactivate them instead.
    from_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="changes")
    reason = models.CharField(max_length=30, choices=Reason.choices)
    changed_at = models.DateTimeField(default=clock.now)
    # The pool the lead was placed in (a team's name; empty: every agent) and the rule that chose it (empty: none
    # matched), as text: the audit keeps its words when a rule or team is later renamed or removed.
    pool = models.CharField(max_length=100, blank=True, db_default="")
    rule = models.CharField(max_length=200, blank=True, db_default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="leadassignment_lead_idx"),
            # The audit list, newest first, is a walk of this index, not a sort of every change.
            models.Index(fields=["changed_at", "id"], name="leadassignment_changed_idx"),
        ]

    # How each reason reads in a lead's history: "(run 12, evenly)".
    REASON_PHRASES = {
        Reason.ASSIGNED: "evenly",
        Reason.REBALANCED: "rebalanced",
        Reason.RECLAIMED_FROM_INACTIVE: "taken back from an inactive agent",
        Reason.RECLAIMED_OVER_CAPACITY: "taken back above capacity",
        Reason.MANUAL: "manual",
        Reason.UNASSIGNED: "unassigned",
        Reason.ASSIGNED_ON_ARRIVAL: "on arrival",
        Reason.REROUTED: "rerouted to its rule's pool",
        Reason.SLA_REASSIGNED: "reassigned: not touched in time",
        Reason.RECYCLED_STALE: "recycled: no activity for too long",
    }

    def __str__(self):
        when = timezone.localtime(self.changed_at)
        return f"{when:%d %b %Y %H:%M} — {self.change_text} by {self.by_text} ({self.why_text})"

    @property
    def change_text(self) -> str:
        """From whom to whom, in words (reads from_agent and to_agent: select them)."""
        if self.from_agent_id is None:
            return f"assigned to {self.to_agent.name}" if self.to_agent_id else "left without an agent"
        if self.to_agent_id is None:
            return f"taken from {self.from_agent.name}, now without an agent"
        return f"moved from {self.from_agent.name} to {self.to_agent.name}"

    @property
    def by_text(self) -> str:
        """Who made the change: a command, or the admin login behind the run (select run__user)."""
        return self.run.by_text

    @property
    def reason_phrase(self) -> str:
        return self.REASON_PHRASES.get(self.reason, self.reason)

    @property
    def why_text(self) -> str:
        return f"run {self.run_id}, {self.reason_phrase}"


class Notification(models.Model):
    """One email telling an agent about leads they received (leads/notifications.py writes and sends them).

    An arrival email names its lead; a digest's leads are the run's LeadAssignment rows to the agent (not
    copied). A row is pending until a job sends it; claimed_by/claimed_at mark the job sending it, so two jobs
    never send it twice and one that died is taken over after a while. A failed try waits (next_attempt_at)
    and goes again until NOTIFY_MAX_ATTEMPTS, then the row is failed.
    """

    class Kind(models.TextChoices):
        ARRIVAL = "arrival", "Arrival"
        DIGEST = "digest", "Digest"
        SLA_REMINDER = "sla-reminder", "SLA reminder"
        SLA_ESCALATION = "sla-escalation", "SLA escalation"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # The agent told (arrivals, digests, SLA reminders); an SLA escalation goes to a manager's login instead.
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to = models.EmailField("to", max_length=254, help_text="The agent's email when the notification was made.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="notifications")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    leads_count = models.PositiveIntegerField("leads", default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField("created", default=clock.now, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="A failed email waits until then.")
    claimed_by = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField("sent", null=True, blank=True)
    subject = models.CharField(max_length=255, blank=True, default="", help_text="As sent (or last tried).")
    last_error = models.TextField(blank=True, default="")
    # For an SLA step: the assignment it measures from (the lead's assigned_at then): one notification per lead,
    # step, assignment and recipient, never repeated (the unique constraint; NULLs never collide).
    sla_clock = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["lead", "kind", "sla_clock", "to"], name="notification_once_per_sla_step")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to} ({self.status})"


class AgentLoadCount(models.Model):
    """An agent's open and `new` leads, kept exact by triggers on the leads table (leads.load_counts): every
    write to a lead, whatever path makes it (ORM, import, raw SQL), changes them in the same transaction. An
    agent without a row holds none."""

    agent = models.OneToOneField(Agent, primary_key=True, on_delete=models.CASCADE, related_name="load_count")
    open_leads = models.BigIntegerField(default=0)
    new_leads = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.agent_id}: {self.open_leads} open, {self.new_leads} new"


class VerificationRun(models.Model):
    """The stored result of a verification of assignments, shown on the dashboard."""

    checked_at = models.DateTimeField(default=clock.now, db_index=True)
    source = models.CharField(max_length=20, default="command")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    ok = models.BooleanField()
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["-checked_at", "-id"]
        get_latest_by = "checked_at"

    def __str__(self):
        return f"Verification {self.checked_at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'problems'}"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True)

    def revoke(self, *, as_of) -> int:
        """Revoke the keys not revoked yet: requests with them get 401 from now on. Returns how many."""
        return self.usable().update(revoked_at=as_of)


class ApiKey(models.Model):
    """A key of the intake API (leads.api). Only its SHA-256 is stored: the key itself is shown once, when made."""

    PREFIX = "crm_"

    name = models.CharField(max_length=100, help_text="Who uses the key: the form, tool or partner.")
    source = models.CharField(
        max_length=100, blank=True, help_text="Fills the source of a lead posted with this key without one."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_start = models.CharField(
        "key starts with", max_length=12, editable=False, help_text="The first characters, to tell keys apart."
    )
    created_at = models.DateTimeField("created", default=clock.now)
    last_used_at = models.DateTimeField("last used", null=True, blank=True, editable=False)
    requests = models.PositiveBigIntegerField(default=0, editable=False)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True, editable=False)
    # The rate limit's window (leads.api): the minute it counts, and the requests made in it.
    window_start = models.DateTimeField(null=True, blank=True, editable=False)
    window_requests = models.PositiveIntegerField(default=0, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.key_start}…)"

    @staticmethod
    def hash_of(key: str) -> str:
        # The keys are random (256 bits): a plain hash cannot be reversed, and needs no salt to be looked up.
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name: str, source: str = "") -> tuple["ApiKey", str]:
        """A new key: the stored record and the key itself, which nothing stores."""
        key = cls.PREFIX + secrets.token_urlsafe(32)
        record = cls.objects.create(name=name, source=source, key_hash=cls.hash_of(key), key_start=key[:10])
        return record, key

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


CONDITION_HELP = "Empty: anything. Alternatives separated by |; case and accents are ignored."


class RoutingRule(models.Model):
    """One rule of the routing (leads.routing): a lead meeting every condition goes to the team's pool; the rule
    with the lowest position that a lead meets decides."""

    # The conditions, in the order of the rules file's columns (leads.routing.CONDITIONS says how each matches).
    CONDITIONS = ("source", "country", "email_domain", "company_contains", "classification")

    position = models.PositiveIntegerField(unique=True, help_text="Rules are tried from the lowest position up.")
    name = models.CharField(max_length=100)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routing_rules")
    source = models.CharField(max_length=500, blank=True, help_text=CONDITION_HELP)
    country = models.CharField(max_length=500, blank=True, help_text=CONDITION_HELP)
    email_domain = models.CharField(
        "email domain",
        max_length=500,
        blank=True,
        help_text="The domain after @, or a parent of it (example.com matches sales.example.com). " + CONDITION_HELP,
    )
    company_contains = models.CharField(
        "company contains", max_length=500, blank=True, help_text="A part of the company's name. " + CONDITION_HELP
    )
    classification = models.CharField(
        max_length=100,
        blank=True,
        help_text="Lead classes (fresh|urgent|active|stale|closed) at the moment of routing. Empty: any.",
    )

    class Meta:
        ordering = ["position"]
        constraints = [models.CheckConstraint(condition=models.Q(position__gte=1), name="routingrule_position_from_1")]

    def __str__(self):
        return f"{self.position}. {self.name}"

    def clean(self):
        unknown = [c for c in self.classification.split("|") if c.strip() and c.strip().lower() not in LeadClass.values]
        if unknown:
            raise ValidationError(
                {"classification": f"{unknown[0].strip()!r} is not a lead class ({', '.join(LeadClass.values)})."}
            )
        self.classification = "|".join(c.strip().lower() for c in self.classification.split("|") if c.strip())


SLA_HOURS_MAX_DIGITS, SLA_HOURS_DECIMAL_PLACES = 6, 2  # up to 9999.99 working hours
SLA_HOURS = ("first_touch_hours", "remind_at_hours", "escalate_after_hours", "reassign_after_hours")
SLA_COUNTS = ("max_reassignments", "recycle_stale_after_days")


class SlaPolicyQuerySet(models.QuerySet):
    def for_team(self, team_id: int | None) -> "SlaPolicy | None":
        """The policy of a pool, in one query: its team's, else the default one (no team); None when neither
        exists (no SLA). The pool of every agent (None) has the default policy."""
        mine = models.Q(team__isnull=True) if team_id is None else models.Q(team=team_id) | models.Q(team__isnull=True)
        return self.filter(mine).order_by(models.F("team").asc(nulls_last=True)).first()


def _sla_hours(verbose_name: str, help_text: str) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=SLA_HOURS_MAX_DIGITS,
        decimal_places=SLA_HOURS_DECIMAL_PLACES,
        null=True,
        blank=True,
        help_text=help_text + " Working hours after the lead's latest assignment. Empty: no such step.",
    )


class SlaPolicy(TeamScoped):
    """How long a lead may wait for its first touch, and what happens when it waits longer, for one team's pool or
    for every pool without one of its own (the default policy, no team). Each step is off when empty.

    The steps must come in an order that makes sense (`problems`): remind no later than the first-touch deadline
    (the agent hears before it is late), escalate and reassign no earlier than it (the lead is late by then), and
    never reassign before reminding (the agent is warned before the lead is taken away). Escalating and
    reassigning may come in either order."""

    HOURS = SLA_HOURS
    COUNTS = SLA_COUNTS

    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
        help_text="Empty: the default policy, for every pool without a policy of its own.",
    )
    team_scope = team_scope_field()  # the team, or 0 for the default policy
    first_touch_hours = _sla_hours("first touch (hours)", "The lead should be worked (leave new) by then.")
    remind_at_hours = _sla_hours("remind at (hours)", "The agent is reminded then.")
    escalate_after_hours = _sla_hours("escalate after (hours)", "The team's managers are told then.")
    reassign_after_hours = _sla_hours(
        "reassign after (hours)", "The lead goes to another eligible agent of its pool, never one who held it."
    )
    max_reassignments = models.PositiveIntegerField(
        "max reassignments",
        null=True,
        blank=True,
        help_text="After this many reassignments the lead is only escalated. Empty: no limit (a lead still never "
        "returns to an agent who held it).",
    )
    recycle_stale_after_days = models.PositiveIntegerField(
        "recycle stale after (days)",
        null=True,
        blank=True,
        help_text="An assigned lead with no activity for this many days goes back to its pool. Empty: never.",
    )

    objects = SlaPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = [models.F("team__name").asc(nulls_first=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["team_scope"],
                name="slapolicy_one_per_team_and_one_default",
                violation_error_message="There is already a policy for this team (or a default policy, when no team).",
            ),
            *(
                models.CheckConstraint(condition=models.Q(**{f"{name}__gt": 0}), name=f"slapolicy_{name}_positive")
                for name in SLA_HOURS
            ),
            models.CheckConstraint(
                condition=models.Q(max_reassignments__gte=1), name="slapolicy_max_reassignments_from_1"
            ),
            models.CheckConstraint(
                condition=models.Q(recycle_stale_after_days__gte=1), name="slapolicy_recycle_stale_from_1"
            ),
        ]

    def __str__(self):
        return f"SLA policy: {self.team.name}" if self.team_id else "SLA policy: default"

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with the values, as (field, message): the one list the admin form and the policies file
        both report."""
        found = []
        for name in self.HOURS:
            value = getattr(self, name)
            if value is not None and value <= 0:
                found.append((name, "must be more than 0 hours (empty switches the step off)"))
        for name in self.COUNTS:
            value = getattr(self, name)
            if value is not None and value < 1:
                found.append((name, "must be a whole number from 1 (empty switches it off)"))
        if found:
            return found
        first, remind = self.first_touch_hours, self.remind_at_hours
        escalate, reassign = self.escalate_after_hours, self.reassign_after_hours
        if first is not None and remind is not None and remind > first:
            found.append(("remind_at_hours", f"{remind} is after the first touch deadline ({first}): remind before it"))
        if first is not None and escalate is not None and escalate < first:
            found.append(
                (
                    "escalate_after_hours",
                    f"{escalate} is before the first touch deadline ({first}): the lead is not late yet",
                )
            )
        if first is not None and reassign is not None and reassign < first:
            found.append(
                (
                    "reassign_after_hours",
                    f"{reassign} is before the first touch deadline ({first}): the lead is not late yet",
                )
            )
        if remind is not None and escalate is not None and escalate < remind:
            found.append(
                ("escalate_after_hours", f"{escalate} is before the reminder ({remind}): remind the agent first")
            )
        if remind is not None and reassign is not None and reassign < remind:
            found.append(
                ("reassign_after_hours", f"{reassign} is before the reminder ({remind}): remind the agent first")
            )
        return found

    def clean(self):
        errors: dict[str, list[str]] = {}
        for name, message in self.problems():
            errors.setdefault(name, []).append(message[0].upper() + message[1:] + ".")
        if errors:
            raise ValidationError(errors)


class Schedule(models.Model):
    """A job the worker runs every so often (leads.tasks): when it last ran and when it runs next. A queued run
    that finds itself early (another chain of the same job got there first) ends without queueing a next one, so
    starting the schedule twice never runs it twice as often."""

    name = models.CharField(max_length=50, unique=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return self.name


class LeadStatusChange(models.Model):
    """One change of a lead's status, its creation included (from_status empty): written by
    leads.status_history only, on every path (admin, intake API, import), read-only in the admin."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "Intake API"
        IMPORT = "import", "Import"
        REVERT = "revert", "Revert of an import"
        COMMAND = "command", "Command"

    # No single-column index: the (lead, changed_at) index below leads with it.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_history", db_index=False)
    from_status = models.CharField(
        "from", max_length=20, choices=LeadStatus.choices, blank=True, help_text="Empty: the lead was created."
    )
    to_status = models.CharField("to", max_length=20, choices=LeadStatus.choices)
    changed_at = models.DateTimeField("changed", default=clock.now)
    source = models.CharField(max_length=20, choices=Source.choices)
    # Who: the admin login, the intake API's key, or the import run (whichever applies; the row outlives them).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="API key"
    )
    import_run = models.ForeignKey(
        "imports.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="import"
    )

    class Meta:
        verbose_name = "status change"
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="leadstatuschange_lead_idx"),
            # The history list, newest first, and its date drill-down (core.admin_dates) walk this index.
            models.Index(fields=["changed_at", "id"], name="leadstatuschange_changed_idx"),
        ]

    def __str__(self):
        when = timezone.localtime(self.changed_at)
        return f"{when:%d %b %Y %H:%M} — {self.change_text} by {self.by_text}"

    @property
    def change_text(self) -> str:
        to = LeadStatus(self.to_status).label
        return f"created as {to}" if not self.from_status else f"{LeadStatus(self.from_status).label} → {to}"

    @property
    def by_text(self) -> str:
        """Who made the change (select user, api_key and import_run)."""
        if self.source == self.Source.IMPORT:
            return f"import #{self.import_run_id}" if self.import_run_id else "an import"
        if self.source == self.Source.REVERT:
            return f"the revert of import #{self.import_run_id}" if self.import_run_id else "a revert"
        if self.source == self.Source.API:
            return f"the API key {self.api_key.name}" if self.api_key_id else "the intake API"
        if self.source == self.Source.ADMIN:
            return self.user.get_username() if self.user_id else "a deleted login"
        return "a command"
