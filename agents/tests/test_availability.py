"""Working hours, time zones and absences (agents.availability)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.availability import (
    ABSENT,
    ANY_TIME,
    DAYS,
    OFF_HOURS,
    Absences,
    Period,
    absent_agent_ids,
    check_time_zone,
    is_available,
    next_available,
    parse_working_hours,
)
from agents.models import Absence
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT

PARIS = ZoneInfo("Europe/Paris")


def test_it_reads_days_ranges_and_groups():
    hours = parse_working_hours("Mon-Fri 09:00-12:00, 13:00-17:30; Sat 10:00-14:00")
    assert hours.days[0] == ((540, 720), (780, 1050))
    assert hours.days[4] == hours.days[0]
    assert hours.days[5] == ((600, 840),)
    assert hours.days[6] == ()
    assert str(hours) == "Mon-Fri 09:00-12:00, 13:00-17:30; Sat 10:00-14:00"


def test_it_reads_lists_wrapping_ranges_full_names_and_any_case():
    hours = parse_working_hours("mon,WED 8:00-9:00; Friday-Mon 10:00 - 11:00; Sun 23:00-24:00")
    assert [bool(d) for d in hours.days] == [True, False, True, False, True, True, True]
    assert hours.days[6] == ((600, 660), (1380, 1440))


def test_empty_text_means_any_time():
    assert parse_working_hours("") is ANY_TIME
    assert parse_working_hours("  ").contains(datetime(2026, 11, 29, 3, 0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mun 09:00-10:00", "'Mun' is not a day"),
        ("Mon-Fri", "no time range after the days"),
        ("09:00-17:00", "no days before the hours"),
        ("Mon 9-17", "'9' is not a time HH:MM"),
        ("Mon 17:00-09:00", "ends before it starts"),
        ("Mon 25:00-26:00", "'25:00' is not a time of day"),
        ("Mon 09:00-10:00; ; Tue 09:00-10:00", "group 2: empty"),
        ("Mon 09:00-10:00; Sat 10-14", "group 2 ('Sat 10-14')"),
        ("Mon 09:00-10:00,", "an empty time range"),
        ("Mon 24:00-24:00", "'24:00' is not a time of day"),
    ],
)
def test_bad_hours_are_refused_saying_what_and_where(text, message):
    with pytest.raises(ValueError) as error:  # noqa: PT011 (the message is checked below, as plain text)
        parse_working_hours(text)
    assert message in str(error.value)


def test_contains_reads_the_wall_clock():
    hours = parse_working_hours("Mon-Fri 09:00-17:30")
    assert hours.contains(datetime(2026, 11, 23, 9, 0))  # a Monday
    assert hours.contains(datetime(2026, 11, 23, 17, 29, 59))
    assert not hours.contains(datetime(2026, 11, 23, 17, 30))
    assert not hours.contains(datetime(2026, 11, 22, 12, 0))  # a Sunday


ranges = st.tuples(st.integers(0, 24 * 60 - 1), st.integers(1, 24 * 60)).filter(lambda r: r[0] < r[1])
groups = st.lists(
    st.tuples(st.sets(st.integers(0, 6), min_size=1), st.lists(ranges, min_size=1, max_size=3)), min_size=1, max_size=4
)


def _text(generated) -> str:
    def hhmm(m):
        return f"{m // 60:02d}:{m % 60:02d}"

    return "; ".join(
        ",".join(DAYS[d] for d in sorted(days)) + " " + ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in rs)
        for days, rs in generated
    )


@settings(deadline=None)
@given(groups)
def test_the_canonical_text_parses_back_to_the_same_hours(generated):
    hours = parse_working_hours(_text(generated))
    assert parse_working_hours(str(hours)) == hours


@settings(deadline=None)
@given(groups, st.integers(0, 6), st.integers(0, 24 * 60 - 1))
def test_a_minute_is_inside_exactly_when_a_group_of_its_day_covers_it(generated, day, minute):
    hours = parse_working_hours(_text(generated))
    moment = datetime(2026, 11, 23) + timedelta(days=day, minutes=minute)  # 2026-11-23 is a Monday
    expected = any(day in days and any(a <= minute < b for a, b in rs) for days, rs in generated)
    assert hours.contains(moment) == expected


@settings(deadline=None, max_examples=300)
@given(groups, st.integers(0, 14 * 24 * 60))
def test_the_next_opening_is_open_and_nothing_before_it_is(generated, minutes):
    hours = parse_working_hours(_text(generated))
    after = datetime(2026, 3, 20, tzinfo=UTC) + timedelta(minutes=minutes)  # spans the DST change of 29 March
    opening = hours.next_opening(after, PARIS)
    assert opening is not None and opening >= after
    assert hours.contains(opening.astimezone(PARIS))
    probe = after
    while probe < opening:  # every minute before it is closed
        assert not hours.contains(probe.astimezone(PARIS))
        probe += timedelta(minutes=1)


absence_periods = st.lists(st.tuples(st.integers(0, 10 * 24 * 60), st.integers(1, 3 * 24 * 60)), max_size=4)


@settings(deadline=None)
@given(groups, absence_periods, st.integers(0, 7 * 24 * 60))
def test_the_next_availability_is_available_and_no_minute_before_it_is(generated, periods, minutes):
    start = datetime(2026, 3, 22, tzinfo=UTC)
    agent = Someone(working_hours=_text(generated))
    away = Absences(
        {1: [Period(start + timedelta(minutes=a), start + timedelta(minutes=a + length)) for a, length in periods]}
    )
    after = start + timedelta(minutes=minutes)
    found = next_available(agent, away, after)
    assert found is not None and found >= after
    assert is_available(agent, away, found) == (True, "")
    probe = after
    while probe < found:
        assert not is_available(agent, away, probe)[0]
        probe += timedelta(minutes=1)


def test_working_hours_follow_the_wall_clock_across_spring_forward():
    # Europe/Paris moves from +01:00 to +02:00 at 02:00 on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 after.
    hours = parse_working_hours("Mon-Sun 09:00-10:00")
    assert hours.next_opening(datetime(2026, 3, 28, 10, 0, tzinfo=UTC), PARIS) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )
    assert hours.next_opening(datetime(2026, 3, 27, 0, 0, tzinfo=UTC), PARIS) == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)


def test_hours_starting_inside_the_spring_gap_open_when_the_clock_jumps():
    hours = parse_working_hours("Sun 02:30-04:00")
    # 02:30 does not exist on 29 March 2026 in Paris: the clock goes from 02:00 (01:00 UTC) straight to 03:00.
    assert hours.next_opening(datetime(2026, 3, 29, 0, 0, tzinfo=UTC), PARIS) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_hours_that_fall_in_the_spring_gap_open_a_week_later():
    hours = parse_working_hours("Sun 02:00-02:01")  # never on 29 March 2026 in Paris (02:00-03:00 is skipped)
    after = datetime(2026, 3, 22, 1, 1, tzinfo=UTC)  # just after that Sunday's minute, the week before
    assert hours.next_opening(after, PARIS) == datetime(2026, 4, 5, 0, 0, tzinfo=UTC)


def test_hours_starting_in_the_gap_open_at_the_exact_instant_the_clock_jumps():
    hours = parse_working_hours("Sun 02:01-03:01")
    assert hours.next_opening(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), PARIS) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )


def test_hours_inside_the_repeated_hour_of_fall_back_open_twice():
    # 25 October 2026: Paris goes from 03:00 +02:00 back to 02:00 +01:00, so 02:15 happens at 00:15 and 01:15 UTC.
    hours = parse_working_hours("Sun 02:15-02:30")
    first = hours.next_opening(datetime(2026, 10, 25, 0, 0, tzinfo=UTC), PARIS)
    assert first == datetime(2026, 10, 25, 0, 15, tzinfo=UTC)
    second = hours.next_opening(datetime(2026, 10, 25, 0, 40, tzinfo=UTC), PARIS)
    assert second == datetime(2026, 10, 25, 1, 15, tzinfo=UTC)


def test_time_zones_are_checked_and_written_as_the_database_writes_them():
    assert check_time_zone("europe/paris") == "Europe/Paris"
    with pytest.raises(ValueError, match="'Mars/Base' is not an IANA time zone"):
        check_time_zone("Mars/Base")


class Someone:
    def __init__(self, *, id=1, time_zone="Europe/Paris", working_hours="Mon-Fri 09:00-17:00"):
        self.id, self.time_zone, self.working_hours = id, time_zone, working_hours


MONDAY_NOON_PARIS = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_an_agent_is_available_inside_hours_and_not_absent():
    assert is_available(Someone(), Absences(), MONDAY_NOON_PARIS) == (True, "")


def test_an_absent_agent_is_not_available_even_inside_hours():
    away = Absences({1: [Period(MONDAY_NOON_PARIS - timedelta(days=1), MONDAY_NOON_PARIS + timedelta(days=2))]})
    assert is_available(Someone(), away, MONDAY_NOON_PARIS) == (False, ABSENT)


def test_an_agent_off_hours_is_not_available():
    assert is_available(Someone(), Absences(), datetime(2026, 11, 23, 20, 0, tzinfo=UTC)) == (False, OFF_HOURS)


def test_an_absence_ends_at_its_until():
    ends = MONDAY_NOON_PARIS
    away = Absences({1: [Period(ends - timedelta(days=3), ends)]})
    assert is_available(Someone(), away, ends) == (True, "")
    assert is_available(Someone(), away, ends - timedelta(microseconds=1)) == (False, ABSENT)


def test_the_next_availability_skips_chained_absences_then_waits_for_hours():
    start = MONDAY_NOON_PARIS
    away = Absences(
        {
            1: [
                Period(start - timedelta(hours=1), start + timedelta(days=1)),
                Period(start + timedelta(days=1), datetime(2026, 11, 24, 19, 0, tzinfo=UTC)),
            ]
        }
    )
    # Back on Tuesday 19:00 UTC (20:00 in Paris, off hours): next is Wednesday 09:00 Paris = 08:00 UTC.
    assert next_available(Someone(), away, start) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_an_agent_available_now_is_next_available_now():
    assert next_available(Someone(), Absences(), MONDAY_NOON_PARIS) == MONDAY_NOON_PARIS


@pytest.mark.django_db
def test_one_query_finds_every_agent_absent_at_a_moment(django_assert_num_queries):
    _here, gone, back, later = AgentFactory.create_batch(4)
    Absence.objects.create(agent=gone, starts_at=FROZEN_AT - timedelta(days=1), ends_at=FROZEN_AT + timedelta(days=1))
    Absence.objects.create(agent=back, starts_at=FROZEN_AT - timedelta(days=2), ends_at=FROZEN_AT)
    Absence.objects.create(agent=later, starts_at=FROZEN_AT + timedelta(hours=1), ends_at=FROZEN_AT + timedelta(days=1))
    with django_assert_num_queries(1):
        assert absent_agent_ids(FROZEN_AT) == {gone.pk}
    with django_assert_num_queries(1):
        loaded = Absences.overlapping(FROZEN_AT, FROZEN_AT + timedelta(days=7))
    assert set(loaded.by_agent) == {gone.pk, later.pk}
    assert loaded.absent_ids(FROZEN_AT + timedelta(hours=2)) == {gone.pk, later.pk}


@pytest.mark.django_db
def test_routing_profiles_are_read_in_two_queries_and_serve_as_agents(django_assert_num_queries):
    from decimal import Decimal

    from agents.models import Agent, Team

    emea, web = Team.objects.create(name="EMEA"), Team.objects.create(name="Web")
    ann = AgentFactory(
        weight=Decimal("0.5"), daily_cap=3, time_zone="Europe/Paris", working_hours="Mon-Fri 09:00-17:00"
    )
    ann.teams.add(emea, web)
    bob = AgentFactory()
    with django_assert_num_queries(2):
        profiles = Agent.objects.routing_profiles()
    assert profiles[ann.pk].team_ids == {emea.pk, web.pk} and profiles[bob.pk].team_ids == frozenset()
    assert (profiles[ann.pk].weight, profiles[ann.pk].daily_cap) == (Decimal("0.50"), 3)
    assert is_available(profiles[ann.pk], Absences(), MONDAY_NOON_PARIS) == (True, "")
