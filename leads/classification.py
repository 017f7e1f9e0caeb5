"""The lead classification table: the one place that says which class a lead is in.

Both the Python property (Lead.classification) and the SQL expression
(Lead.objects.with_classification) are generated from RULES, so they cannot
drift apart; leads/tests/test_classification.py proves that they agree.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

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

    def matches(self, status: str, age: timedelta, thresholds: Thresholds) -> bool:
        if self.statuses is not None and status not in self.statuses:
            return False
        if self.younger_than is not None and not age < getattr(thresholds, self.younger_than):
            return False
        if self.at_least is not None and not age >= getattr(thresholds, self.at_least):
            return False
        return True

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


# First match wins.
RULES: tuple[Rule, ...] = (
    Rule(LeadClass.CLOSED, statuses=CLOSED_STATUSES),
    Rule(LeadClass.FRESH, younger_than="fresh"),
    Rule(LeadClass.STALE, at_least="stale"),
    Rule(LeadClass.URGENT, statuses=frozenset({LeadStatus.NEW})),
    Rule(LeadClass.ACTIVE),
)


def classify(status: str, created_at: datetime, as_of: datetime | None = None, thresholds: Thresholds | None = None):
    """The class of one lead, in Python."""
    as_of = as_of or timezone.now()
    thresholds = thresholds or Thresholds.from_settings()
    age = as_of - created_at
    for rule in RULES:
        if rule.matches(status, age, thresholds):
            return rule.lead_class
    raise AssertionError("the last rule matches every lead")


def classification_expression(as_of: datetime | None = None, thresholds: Thresholds | None = None) -> Case:
    """The class of each lead as a SQL CASE expression, for annotate/alias/filter/order_by."""
    as_of = as_of or timezone.now()
    thresholds = thresholds or Thresholds.from_settings()
    *conditional, fallback = RULES
    return Case(
        *(When(rule.q(as_of, thresholds), then=Value(rule.lead_class.value)) for rule in conditional),
        default=Value(fallback.lead_class.value),
        output_field=models.CharField(max_length=10),
    )
