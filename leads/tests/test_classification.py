from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from conftest import FROZEN_AT
from leads.classification import (
    RULES,
    LeadClass,
    Thresholds,
    band_counts,
    class_condition,
    classes_of_bands,
    classification_expression,
    classify,
    explain,
)
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory

AS_OF = FROZEN_AT
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
FRESH, STALE = 7 * DAY, 30 * DAY

# (age, expected class for new, for contacted/qualified); closed statuses are closed at every age.
TABLE = [
    (-DAY, "fresh", "fresh"),  # created after the as-of moment
    (timedelta(0), "fresh", "fresh"),
    (FRESH - US, "fresh", "fresh"),
    (FRESH, "urgent", "active"),
    (FRESH + US, "urgent", "active"),
    (STALE - US, "urgent", "active"),
    (STALE, "stale", "stale"),
    (STALE + US, "stale", "stale"),
    (400 * DAY, "stale", "stale"),
]
CASES = [
    (status, age, expected_new if status == LeadStatus.NEW else expected_worked)
    for age, expected_new, expected_worked in TABLE
    for status in (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
] + [(status, age, "closed") for age, _, _ in TABLE for status in (LeadStatus.CONVERTED, LeadStatus.LOST)]


@pytest.mark.parametrize(("status", "age", "expected"), CASES)
def test_python_classifies_every_row_of_the_table_at_and_around_its_boundaries(status, age, expected):
    assert classify(status, AS_OF - age, AS_OF) == expected
    assert explain(status, AS_OF - age, AS_OF).lead_class == expected


@pytest.mark.django_db
def test_sql_annotation_and_class_filter_classify_every_row_of_the_table_like_python():
    leads = {LeadFactory(status=status, created_at=AS_OF - age).pk: expected for status, age, expected in CASES}
    annotated = dict(Lead.objects.with_classification(AS_OF).values_list("pk", "lead_class"))
    assert annotated == leads
    for lead_class in LeadClass:
        filtered = set(Lead.objects.of_class(lead_class, as_of=AS_OF).values_list("pk", flat=True))
        assert filtered == {pk for pk, expected in leads.items() if expected == lead_class}


def classes_by_status(as_of, thresholds=None) -> Counter:
    """(status, class) -> leads, from the leads grouped by status with band_counts."""
    counted = Counter()
    for row in Lead.objects.order_by().values("status").annotate(**band_counts(as_of, thresholds)):
        for lead_class, n in classes_of_bands(row["status"], row, thresholds).items():
            counted[row["status"], lead_class] += n
    return counted


@pytest.mark.django_db
def test_band_counts_split_every_row_of_the_table_by_class_like_the_sql_annotation():
    for status, age, _ in CASES:
        LeadFactory(status=status, created_at=AS_OF - age)
    expected = Counter((status, lead_class) for status, _, lead_class in CASES)
    assert classes_by_status(AS_OF) == expected
    assert Counter(Lead.objects.with_classification(AS_OF).values_list("status", "lead_class")) == expected


@pytest.mark.django_db
def test_the_model_property_uses_the_table():
    lead = LeadFactory(status=LeadStatus.NEW, created_at=AS_OF - 9 * DAY)
    assert lead.classification_at(AS_OF) == LeadClass.URGENT
    assert lead.explanation_at(AS_OF).lead_class == LeadClass.URGENT


@pytest.mark.django_db
def test_of_class_takes_several_classes_and_none():
    fresh = LeadFactory(created_at=AS_OF - DAY)
    stale = LeadFactory(created_at=AS_OF - 40 * DAY)
    LeadFactory(created_at=AS_OF - 10 * DAY)  # urgent
    assert set(Lead.objects.of_class("fresh", LeadClass.STALE, as_of=AS_OF)) == {fresh, stale}
    assert not Lead.objects.of_class(as_of=AS_OF).exists()


def test_an_unknown_class_is_an_error_not_an_empty_filter():
    with pytest.raises(ValueError, match="unknown lead class 'warm'"):
        class_condition("warm", AS_OF)


def test_thresholds_come_from_settings(settings):
    settings.LEADS_FRESH_DAYS, settings.LEADS_STALE_DAYS = 2, 5
    assert classify(LeadStatus.NEW, AS_OF - 2 * DAY, AS_OF) == LeadClass.URGENT
    assert classify(LeadStatus.CONTACTED, AS_OF - 5 * DAY, AS_OF) == LeadClass.STALE
    assert explain(LeadStatus.NEW, AS_OF - 3 * DAY, AS_OF).reason == (
        "new, 3 days old: not worked after 2 days -> urgent; becomes stale on 2026-11-26"
    )


@pytest.mark.parametrize(
    ("status", "age", "reason"),
    [
        (LeadStatus.NEW, 9 * DAY, "new, 9 days old: not worked after 7 days -> urgent; becomes stale on 2026-12-15"),
        (LeadStatus.NEW, 2 * DAY, "new, 2 days old: younger than 7 days -> fresh; becomes urgent on 2026-11-29"),
        (
            LeadStatus.NEW,
            5 * timedelta(hours=1),
            "new, 5 hours old: younger than 7 days -> fresh; becomes urgent on 2026-12-01",
        ),
        (LeadStatus.CONTACTED, DAY, "contacted, 1 day old: younger than 7 days -> fresh; becomes active on 2026-11-30"),
        (
            LeadStatus.QUALIFIED,
            12 * DAY,
            "qualified, 12 days old: worked, between 7 and 30 days old -> active; becomes stale on 2026-12-12",
        ),
        (LeadStatus.CONTACTED, 30 * DAY, "contacted, 30 days old: 30 days or older -> stale"),
        (LeadStatus.LOST, 2 * DAY, "lost, 2 days old: closed -> closed"),
        (LeadStatus.CONVERTED, 90 * DAY, "converted, 90 days old: closed -> closed"),
        (
            LeadStatus.NEW,
            -DAY,
            "new, created after the as-of time: younger than 7 days -> fresh; becomes urgent on 2026-12-02",
        ),
    ],
)
def test_the_explanation_gives_the_reason_and_the_next_change(status, age, reason):
    assert explain(status, AS_OF - age, AS_OF).reason == reason


def test_the_issue_example_reads_as_written():
    # 9 days old on 2026-11-29 means created on 2026-11-20, stale 30 days after.
    why = explain(LeadStatus.NEW, datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 29, 12, tzinfo=UTC))
    assert why.reason == "new, 9 days old: not worked after 7 days -> urgent; becomes stale on 2026-12-20"
    assert (why.next_class, why.next_change_at) == (LeadClass.STALE, datetime(2026, 12, 20, 12, tzinfo=UTC))


def test_the_next_change_date_is_a_local_date(settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # created 20:00 UTC = 05:00 the next day in Tokyo
    why = explain(LeadStatus.NEW, datetime(2026, 11, 1, 20, tzinfo=UTC), AS_OF)
    assert why.reason.endswith("becomes stale on 2026-12-02")


def test_closed_and_stale_leads_have_no_next_change():
    for status, age in [(LeadStatus.LOST, DAY), (LeadStatus.NEW, 31 * DAY)]:
        why = explain(status, AS_OF - age, AS_OF)
        assert (why.next_class, why.next_change_at) == (None, None)
        assert why.to_dict()["next_change_at"] is None


STATUSES = st.sampled_from([*LeadStatus.values, "unknown"])


@st.composite
def thresholds(draw):
    fresh = draw(st.integers(min_value=1, max_value=60))
    stale = draw(st.integers(min_value=fresh + 1, max_value=120))
    return Thresholds(fresh=timedelta(days=fresh), stale=timedelta(days=stale))


def ages(limits: Thresholds):
    near = st.sampled_from([limits.fresh, limits.stale, timedelta(0)]).flatmap(
        lambda at: st.integers(min_value=-3, max_value=3).map(lambda us: at + us * US)
    )
    anywhere = st.timedeltas(min_value=-10 * DAY, max_value=200 * DAY)
    return st.one_of(near, anywhere)


@st.composite
def populations(draw):
    limits = draw(thresholds())
    as_of = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))
    leads = draw(st.lists(st.tuples(STATUSES, ages(limits)), min_size=1, max_size=20))
    return limits, as_of, leads


class PythonAndSqlAgree(HypothesisTestCase):
    """On whatever database the suite runs against (SQLite, PostgreSQL, MariaDB)."""

    @settings(max_examples=40, deadline=None)
    @given(populations())
    def test_the_sql_annotation_and_filter_agree_with_python_for_any_ages_and_statuses(self, population):
        limits, as_of, leads = population
        expected = {}
        for i, (status, age) in enumerate(leads):
            lead = Lead.objects.create(name=f"L{i}", email=f"l{i}@x.test", status=status, created_at=as_of - age)
            expected[lead.pk] = classify(status, as_of - age, as_of, limits)
        annotated = dict(Lead.objects.with_classification(as_of, limits).values_list("pk", "lead_class"))
        assert annotated == expected
        numbers = Lead.objects.annotate(number=classification_expression(as_of, limits, as_number=True))
        assert {pk: list(LeadClass)[n] for pk, n in numbers.values_list("pk", "number")} == expected
        for lead_class in LeadClass:
            filtered = Lead.objects.of_class(lead_class, as_of=as_of, thresholds=limits)
            assert set(filtered.values_list("pk", flat=True)) == {pk for pk, c in expected.items() if c == lead_class}
        by_status = Counter((status, expected[pk]) for pk, status in Lead.objects.values_list("pk", "status"))
        assert classes_by_status(as_of, limits) == by_status


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_next_change_is_exactly_when_the_class_changes(data):
    limits = data.draw(thresholds())
    status, age = data.draw(STATUSES), data.draw(ages(limits))
    created_at = AS_OF - age
    why = explain(status, created_at, AS_OF, limits)
    assert why.lead_class == classify(status, created_at, AS_OF, limits)
    if why.next_change_at is None:
        # Nothing changes any more, however old the lead gets.
        assert classify(status, created_at, AS_OF + 1000 * DAY, limits) == why.lead_class
    else:
        assert why.next_change_at > AS_OF
        assert classify(status, created_at, why.next_change_at - US, limits) == why.lead_class
        assert classify(status, created_at, why.next_change_at, limits) == why.next_class


def test_every_class_has_exactly_one_rule_and_the_last_rule_catches_all():
    assert sorted(rule.lead_class for rule in RULES) == sorted(LeadClass)
    last = RULES[-1]
    assert (last.statuses, last.younger_than, last.at_least) == (None, None, None)
