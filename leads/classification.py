"""The lead classification table: the one place that says which class a lead is in.

Everything about classes is generated from RULES, so nothing can drift apart:
the Python property (Lead.classification), the SQL expression
(Lead.objects.with_classification), the SQL filter (Lead.objects.of_class), and
the explanation with its reason and next change (explain). The tests in
leads/tests/test_classification.py prove that Python and SQL agree.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import and_

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, Q, Value, When
from django.utils import timezone

from core import clock
from leads.choices import CLOSED_STATUSES, LeadStatus


class LeadClass(models.TextChoices):
    FRESH = "fresh", "Fresh"
    URGENT = "urgent", "Urgent"
    ACTIVE = "active", "Active"
    STALE = "stale", "Stale"
    CLOSED = "closed", "Closed"


@dataclass(frozen=True)
class Thresholds:
    fresh: timedelta
    stale: timedelta

    @classmethod
    def from_settings(cls) -> "Thresholds":
        return cls(fresh=timedelta(days=settings.LEADS_FRESH_DAYS), stale=timedelta(days=settings.LEADS_STALE_DAYS))


@dataclass(frozen=True)
class Rule:
    """One row of the table. Conditions left as None do not constrain."""

    lead_class: LeadClass
    statuses: frozenset[str] | None = None
    younger_than: str | None = None  # name of a Thresholds field: age < threshold
    at_least: str | None = None  # name of a Thresholds field: age >= threshold
    # Why a lead lands here, for people; may use {fresh} and {stale} (days).
    because: str = ""

    def matches(self, status: str, age: timedelta, thresholds: Thresholds) -> bool:
        if self.statuses is not None and status not in self.statuses:
            return False
        if self.younger_than is not None and not age < getattr(thresholds, self.younger_than):
            return False
        return self.at_least is None or age >= getattr(thresholds, self.at_least)

    def q(self, as_of: datetime, thresholds: Thresholds) -> Q:
        # Age conditions become comparisons of created_at with a constant, which
        # is exact, the same on every engine, and can use the (status, created_at) index.
        q = Q()
        if self.statuses is not None:
            q &= Q(status__in=sorted(self.statuses))
        if self.younger_than is not None:
            q &= Q(created_at__gt=as_of - getattr(thresholds, self.younger_than))
        if self.at_least is not None:
            q &= Q(created_at__lte=as_of - getattr(thresholds, self.at_least))
        return q

    def q_not(self, as_of: datetime, thresholds: Thresholds) -> Q:
        """The leads this rule does not match, with an age condition turned around rather than negated.

        `created_at <= t` instead of `NOT (created_at > t)` (created_at is never NULL),
        because SQLite only uses an index for the plain comparison.
        """
        conditions = [self.statuses, self.younger_than, self.at_least]
        if sum(c is not None for c in conditions) != 1 or self.statuses is not None:
            return ~self.q(as_of, thresholds)
        if self.younger_than is not None:
            return Q(created_at__lte=as_of - getattr(thresholds, self.younger_than))
        return Q(created_at__gt=as_of - getattr(thresholds, self.at_least))


# First match wins.
RULES: tuple[Rule, ...] = (
    Rule(LeadClass.CLOSED, statuses=CLOSED_STATUSES, because="closed"),
    Rule(LeadClass.FRESH, younger_than="fresh", because="younger than {fresh} days"),
    Rule(LeadClass.STALE, at_least="stale", because="{stale} days or older"),
    Rule(LeadClass.URGENT, statuses=frozenset({LeadStatus.NEW}), because="not worked after {fresh} days"),
    Rule(LeadClass.ACTIVE, because="worked, between {fresh} and {stale} days old"),
)


def _matching_rule(status: str, age: timedelta, thresholds: Thresholds) -> Rule:
    for rule in RULES:
        if rule.matches(status, age, thresholds):
            return rule
    raise AssertionError("the last rule matches every lead")


def classify(status: str, created_at: datetime, as_of: datetime | None = None, thresholds: Thresholds | None = None):
    """The class of one lead, in Python."""
    as_of = as_of or clock.now()
    thresholds = thresholds or Thresholds.from_settings()
    return _matching_rule(status, as_of - created_at, thresholds).lead_class


@dataclass(frozen=True)
class Explanation:
    lead_class: LeadClass
    reason: str  # "new, 9 days old: not worked after 7 days -> urgent; becomes stale on 2026-12-20"
    next_class: LeadClass | None  # None: the class no longer changes with age
    next_change_at: datetime | None

    def to_dict(self) -> dict:
        return {
            "classification": self.lead_class.value,
            "reason": self.reason,
            "next_classification": self.next_class.value if self.next_class else None,
            "next_change_at": self.next_change_at.isoformat() if self.next_change_at else None,
        }


def explain(
    status: str, created_at: datetime, as_of: datetime | None = None, thresholds: Thresholds | None = None
) -> Explanation:
    """The class of one lead, why, and when (if ever) age alone will change it.

    The next change is found from the table itself: the class is re-evaluated at
    each threshold the lead has not reached yet, so a new rule or threshold needs
    no code here.
    """
    as_of = as_of or clock.now()
    thresholds = thresholds or Thresholds.from_settings()
    age = as_of - created_at
    rule = _matching_rule(status, age, thresholds)
    next_class = next_change_at = None
    for limit in _limits(thresholds):
        if limit > age:
            later = _matching_rule(status, limit, thresholds).lead_class
            if later != rule.lead_class:
                next_class, next_change_at = later, created_at + limit
                break
    because = rule.because.format(fresh=thresholds.fresh.days, stale=thresholds.stale.days)
    reason = f"{status}, {_age_text(age)}: {because} -> {rule.lead_class.value}"
    if next_change_at is not None:
        reason += f"; becomes {next_class.value} on {timezone.localtime(next_change_at):%Y-%m-%d}"
    return Explanation(rule.lead_class, reason, next_class, next_change_at)


def _limits(thresholds: Thresholds) -> list[timedelta]:
    """The ages at which some rule's age condition flips, in increasing order."""
    return sorted({getattr(thresholds, name) for r in RULES for name in (r.younger_than, r.at_least) if name})


def _age_text(age: timedelta) -> str:
    if age < timedelta(0):
        return "created after the as-of time"
    if age < timedelta(days=1):
        hours = age // timedelta(hours=1)
        return f"{hours} hour{'' if hours == 1 else 's'} old"
    return f"{age.days} day{'' if age.days == 1 else 's'} old"


def class_condition(
    lead_class: LeadClass | str, as_of: datetime | None = None, thresholds: Thresholds | None = None
) -> Q:
    """The leads in one class as a plain WHERE condition (this rule, and none of the rules before it).

    Equivalent to filtering on classification_expression(), but made of
    comparisons on status and created_at that the (status, created_at) and
    created_at indexes can serve, where `CASE ... END = 'urgent'` scans every row.
    """
    as_of = as_of or clock.now()
    thresholds = thresholds or Thresholds.from_settings()
    earlier = []
    for rule in RULES:
        if rule.lead_class == lead_class:
            return reduce(and_, earlier, rule.q(as_of, thresholds))
        earlier.append(rule.q_not(as_of, thresholds))
    raise ValueError(f"unknown lead class {lead_class!r}")


def classification_expression(
    as_of: datetime | None = None, thresholds: Thresholds | None = None, *, as_number: bool = False
) -> Case:
    """The class of each lead as a SQL CASE expression, for annotate/alias/filter/order_by.

    as_number: the class's position in LeadClass (0 = fresh ...) instead of its
    name, for grouping where SQLite sorts: integers sort faster than strings.
    """
    as_of = as_of or clock.now()
    thresholds = thresholds or Thresholds.from_settings()
    *conditional, fallback = RULES

    def value(lead_class: LeadClass) -> Value:
        return Value(CLASS_NUMBERS[lead_class]) if as_number else Value(lead_class.value)

    return Case(
        *(When(rule.q(as_of, thresholds), then=value(rule.lead_class)) for rule in conditional),
        default=value(fallback.lead_class),
        output_field=models.IntegerField() if as_number else models.CharField(max_length=10),
    )


def band_counts(as_of: datetime | None = None, thresholds: Thresholds | None = None) -> dict[str, Count]:
    """Aggregates that, over rows grouped by status (and anything else), let classes_of_bands() split each group's
    leads by class: `_leads` (every lead) and `_younger_<i>` (the leads younger than the table's i-th age limit).

    The limits cut ages into bands within which every rule's age condition holds or fails alike, so a lead's class
    is a function of its status and its band. A GROUP BY on (assigned_agent_id, status) with these counts walks the
    (assigned_agent_id, status, created_at) index in order, in one pass, where grouping by the CASE expression
    sorts every row. The comparisons are those of Rule.q (age < limit: created_at > as_of - limit).
    """
    as_of = as_of or clock.now()
    thresholds = thresholds or Thresholds.from_settings()
    counts = {"_leads": Count("pk")}
    for i, limit in enumerate(_limits(thresholds)):
        counts[f"_younger_{i}"] = Count("pk", filter=Q(created_at__gt=as_of - limit))
    return counts


def classes_of_bands(status: str, counts: dict[str, int], thresholds: Thresholds | None = None) -> dict[LeadClass, int]:
    """The leads of one status per class, from a row of band_counts() (made with the same thresholds)."""
    thresholds = thresholds or Thresholds.from_settings()
    limits = _limits(thresholds)
    younger = [counts[f"_younger_{i}"] for i in range(len(limits))]
    # Band i holds the ages in [limits[i - 1], limits[i]); any age of a band stands for all of them.
    sizes = [b - a for a, b in zip([0, *younger], [*younger, counts["_leads"]], strict=True)]
    ages = [limits[0] - timedelta.resolution if limits else timedelta(0), *limits]
    result: dict[LeadClass, int] = {}
    for age, n in zip(ages, sizes, strict=True):
        if n:
            lead_class = _matching_rule(status, age, thresholds).lead_class
            result[lead_class] = result.get(lead_class, 0) + n
    return result


CLASS_NUMBERS = {lead_class: number for number, lead_class in enumerate(LeadClass)}

# "Most urgent first", used by the assignment (--limit/--classification, and whenever capacity cannot take every
# lead) and by My leads: urgent (never worked and past the fresh window: about to go stale), then fresh (just
# arrived, the best chance to convert), then active (being worked), then stale. Within a class, the lead waiting
# longest (oldest created_at) first, then the lowest id. Closed leads are never assigned.
PRIORITY: tuple[LeadClass, ...] = (LeadClass.URGENT, LeadClass.FRESH, LeadClass.ACTIVE, LeadClass.STALE)
ASSIGNABLE_CLASSES = frozenset(PRIORITY)


def most_urgent_first(queryset, as_of: datetime):
    """The leads in priority order (PRIORITY, then the longest waiting, then the lowest id), annotated with
    their class (`_lead_class`) and rank in PRIORITY (`_rank`) for the (rank, created_at, id) sort key."""
    rank = Case(
        *(When(_lead_class=c.value, then=Value(i)) for i, c in enumerate(PRIORITY)),
        default=Value(len(PRIORITY)),
        output_field=models.IntegerField(),
    )
    return (
        queryset.with_classification(as_of, name="_lead_class")
        .annotate(_rank=rank)
        .order_by("_rank", "created_at", "id")
    )
