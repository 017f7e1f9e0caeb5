"""Business-time arithmetic for SLA timers (agents.availability.add_working_time, working_time_between)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agents.availability import (
    ANY_TIME,
    DAYS,
    WORKING_TIME_HORIZON_DAYS,
    WorkingHours,
    add_working_time,
    parse_working_hours,
    working_time_before,
    working_time_between,
)
from conftest import FROZEN_AT

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
SANTIAGO = ZoneInfo("America/Santiago")
OFFICE = parse_working_hours("Mon-Fri 09:00-17:00")

# The frozen clock's week: FROZEN_AT is Tuesday 24 November 2026.
FRIDAY = FROZEN_AT.date() + timedelta(days=3)
MONDAY = FRIDAY + timedelta(days=3)


def at(day: date, hour: int, minute: int = 0, *, zone=PARIS, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=fold)


def add(start, hours, hours_spec=OFFICE, tz=PARIS, holidays=frozenset()):
    return add_working_time(start, hours, hours_spec=hours_spec, tz=tz, holidays=holidays)


def between(start, end, hours_spec=OFFICE, tz=PARIS, holidays=frozenset()):
    return working_time_between(start, end, hours_spec=hours_spec, tz=tz, holidays=holidays)


def test_the_frozen_week_is_the_one_the_examples_assume():
    assert (FRIDAY.weekday(), MONDAY.weekday()) == (4, 0)


# ---------------------------------------------------------------------------------------------------------
# Examples


def test_friday_afternoon_plus_four_hours_is_monday_noon():
    due = add(at(FRIDAY, 16), 4)
    assert due == at(MONDAY, 12).astimezone(UTC)
    assert due.tzinfo is UTC
    assert between(at(FRIDAY, 16), due) == timedelta(hours=4)


def test_a_holiday_monday_moves_it_to_tuesday_noon():
    holidays = frozenset({MONDAY})
    assert add(at(FRIDAY, 16), 4, holidays=holidays) == at(MONDAY + timedelta(days=1), 12).astimezone(UTC)
    assert between(at(FRIDAY, 16), at(MONDAY + timedelta(days=1), 12), holidays=holidays) == timedelta(hours=4)


def test_hours_ending_with_a_range_end_there_not_at_the_next_opening():
    assert add(at(FRIDAY, 13), 4) == at(FRIDAY, 17).astimezone(UTC)


def test_decimal_float_int_and_timedelta_hours_agree():
    start = at(FRIDAY, 16, 15)
    expected = at(MONDAY, 10, 45).astimezone(UTC)
    assert add(start, Decimal("2.5")) == add(start, 2.5) == add(start, timedelta(minutes=150)) == expected
    assert add(start, 3) == at(MONDAY, 11, 15).astimezone(UTC)


def test_the_same_instant_counts_in_each_agents_own_zone():
    start = datetime.combine(FRIDAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)  # 16:00 Paris, 10:00 NY
    assert add(start, 4, tz=PARIS) == at(MONDAY, 12, zone=PARIS).astimezone(UTC)
    assert add(start, 4, tz=NEW_YORK) == at(FRIDAY, 14, zone=NEW_YORK).astimezone(UTC)
    assert add(start, 4, tz="america/new_york") == add(start, 4, tz=NEW_YORK)
    assert between(start, start + timedelta(days=3), tz=PARIS) == timedelta(hours=1 + 7)  # Fri 16-17, Mon 9-16
    assert between(start, start + timedelta(days=3), tz=NEW_YORK) == timedelta(hours=7 + 1)  # Fri 10-17, Mon 9-10


def test_kathmandu_counts_in_its_quarter_hour_offset():
    start = at(FRIDAY, 16, zone=KATHMANDU)
    assert add(start, 4, tz=KATHMANDU) == at(MONDAY, 12, zone=KATHMANDU).astimezone(UTC)
    assert add(start, 4, tz=KATHMANDU).time() == datetime(2000, 1, 1, 6, 15).time()  # 12:00 at +05:45


def test_office_hours_stay_wall_clock_across_the_spring_forward_weekend():
    friday, monday = date(2026, 3, 27), date(2026, 3, 30)  # Paris goes from +01:00 to +02:00 on Sunday the 29th
    due = add(at(friday, 16), 4)
    assert due == at(monday, 12).astimezone(UTC) == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
    assert between(at(date(2026, 3, 23), 0), at(monday, 0)) == timedelta(hours=40)


def test_a_range_in_the_spring_forward_gap_is_shorter_that_day():
    every_night = parse_working_hours("Mon-Sun 01:00-04:00")  # 02:00-03:00 never happens on 29 March in Paris
    week = between(at(date(2026, 3, 23), 0), at(date(2026, 3, 30), 0), every_night)
    assert week == timedelta(hours=6 * 3 + 2)
    sunday = date(2026, 3, 29)
    assert add(at(sunday, 0), 1.5, every_night) == at(sunday, 3, 30).astimezone(UTC)
    assert add(at(sunday, 0), 1, every_night) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 +01:00: the gap
    # New York: 01:30-02:30 on 8 March 2026 keeps only 01:30-02:00 (02:00 jumps to 03:00).
    night = parse_working_hours("Sun 01:30-02:30")
    sunday = date(2026, 3, 8)
    assert between(at(sunday, 0, zone=NEW_YORK), at(sunday, 6, zone=NEW_YORK), night, NEW_YORK) == timedelta(minutes=30)


def test_the_repeated_hour_of_a_fall_back_counts_twice():
    every_night = parse_working_hours("Mon-Sun 01:00-04:00")  # 02:00-03:00 happens twice on 25 October in Paris
    week = between(at(date(2026, 10, 19), 0), at(date(2026, 10, 26), 0), every_night)
    assert week == timedelta(hours=6 * 3 + 4)
    sunday = date(2026, 10, 25)
    assert add(at(sunday, 0), 2.5, every_night) == at(sunday, 2, 30, fold=1).astimezone(UTC)
    assert add(at(sunday, 0), 1.5, every_night) == at(sunday, 2, 30, fold=0).astimezone(UTC)
    # A range starting inside the repeated hour: both of its occurrences of 02:30-03:00 count.
    late = parse_working_hours("Sun 02:30-05:00")
    assert between(at(sunday, 0), at(sunday, 12), late) == timedelta(hours=3)
    # New York, 1 November 2026: 01:00-02:00 twice.
    night = parse_working_hours("Sun 01:00-02:00")
    sunday = date(2026, 11, 1)
    assert between(at(sunday, 0, zone=NEW_YORK), at(sunday, 6, zone=NEW_YORK), night, NEW_YORK) == timedelta(hours=2)
    assert add(at(sunday, 0, zone=NEW_YORK), 1.5, night, NEW_YORK) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_lord_howe_shifts_by_half_an_hour():
    night = parse_working_hours("Sun 01:00-04:00")
    spring, autumn = date(2026, 10, 4), date(2026, 4, 5)  # 02:00 -> 02:30, and 02:00 -> 01:30
    assert between(at(spring, 0, zone=LORD_HOWE), at(spring, 12, zone=LORD_HOWE), night, LORD_HOWE) == timedelta(
        hours=2.5
    )
    assert between(at(autumn, 0, zone=LORD_HOWE), at(autumn, 12, zone=LORD_HOWE), night, LORD_HOWE) == timedelta(
        hours=3.5
    )
    assert add(at(spring, 0, zone=LORD_HOWE), 1, night, LORD_HOWE) == at(spring, 2, 30, zone=LORD_HOWE).astimezone(UTC)


def test_ranges_ending_at_midnight_run_into_the_next_day():
    evenings = parse_working_hours("Mon-Sun 22:00-24:00")
    assert add(at(MONDAY, 23), 2, evenings) == at(MONDAY + timedelta(days=1), 23).astimezone(UTC)
    across = parse_working_hours("Mon 20:00-24:00; Tue 00:00-02:00")
    assert add(at(MONDAY, 23), 2, across) == at(MONDAY + timedelta(days=1), 1).astimezone(UTC)
    assert between(at(MONDAY, 0), at(MONDAY + timedelta(days=2), 0), across) == timedelta(hours=6)


def test_midnight_changes_of_santiago():
    late = parse_working_hours("Sat 22:00-24:00; Sun 00:00-02:00")
    # 4-5 April 2026: at midnight the clock goes back to 23:00, so Saturday's 23:00-24:00 happens twice.
    saturday = date(2026, 4, 4)
    assert between(
        at(saturday, 12, zone=SANTIAGO), at(saturday, 12, zone=SANTIAGO) + timedelta(days=1), late, SANTIAGO
    ) == (timedelta(hours=3 + 2))
    # 5-6 September 2026: midnight jumps to 01:00, so Sunday's 00:00-01:00 never happens.
    saturday = date(2026, 9, 5)
    assert between(
        at(saturday, 12, zone=SANTIAGO), at(saturday, 12, zone=SANTIAGO) + timedelta(days=1), late, SANTIAGO
    ) == (timedelta(hours=2 + 1))
    assert add(at(saturday, 23, zone=SANTIAGO), 1, late, SANTIAGO) == at(
        saturday + timedelta(days=1), 1, zone=SANTIAGO
    ).astimezone(UTC)


def test_empty_hours_count_every_minute_but_skip_holidays():
    tuesday = FROZEN_AT.date()
    wednesday = tuesday + timedelta(days=1)
    holidays = frozenset({wednesday})
    due = add(at(tuesday, 22), 4, ANY_TIME, holidays=holidays)
    assert due == at(tuesday + timedelta(days=2), 2).astimezone(UTC)
    assert between(at(tuesday, 0), at(tuesday + timedelta(days=3), 0), ANY_TIME, holidays=holidays) == timedelta(
        hours=48
    )
    assert add(at(tuesday, 10), 4, ANY_TIME) == at(tuesday, 14).astimezone(UTC)


def test_zero_hours_is_the_first_working_instant():
    inside = at(FRIDAY, 10, 17)
    assert add(inside, 0) == inside.astimezone(UTC)
    assert add(at(FRIDAY, 18), 0) == at(MONDAY, 9).astimezone(UTC)
    assert add(at(FRIDAY, 17), 0) == at(MONDAY, 9).astimezone(UTC)  # a range's end is outside it
    assert add(at(MONDAY, 10), Decimal(0), holidays=frozenset({MONDAY})) == at(
        MONDAY + timedelta(days=1), 9
    ).astimezone(UTC)


def test_between_is_zero_for_an_empty_or_reversed_span():
    assert between(at(FRIDAY, 10), at(FRIDAY, 10)) == timedelta(0)
    assert between(at(FRIDAY, 12), at(FRIDAY, 10)) == timedelta(0)
    assert between(at(FRIDAY, 10), at(FRIDAY, 12), WorkingHours()) == timedelta(0)


def test_hours_that_can_never_elapse_raise():
    with pytest.raises(ValueError, match="no working time at all"):
        add(at(FRIDAY, 10), 1, WorkingHours())
    with pytest.raises(ValueError, match="no working time at all"):
        add(at(FRIDAY, 10), 0, WorkingHours())
    every_day = frozenset(FRIDAY + timedelta(days=n) for n in range(-1, 4 * 366))
    with pytest.raises(ValueError, match="cannot elapse within 1098 days"):
        add(at(FRIDAY, 10), 1, holidays=every_day)
    with pytest.raises(ValueError, match="cannot elapse"):
        add(at(FRIDAY, 10), 0, ANY_TIME, holidays=every_day)


def test_a_long_holiday_list_is_skipped_day_by_day():
    two_years = frozenset(MONDAY + timedelta(days=n) for n in range(2 * 365))
    due = add(at(FRIDAY, 16), 4, holidays=two_years)
    first_free = MONDAY + timedelta(days=2 * 365)
    while first_free.weekday() > 4:
        first_free += timedelta(days=1)
    assert due == at(first_free, 12).astimezone(UTC)


def test_it_rejects_negative_hours_and_naive_instants():
    with pytest.raises(ValueError, match="cannot be negative"):
        add(at(FRIDAY, 10), -1)
    with pytest.raises(ValueError, match="not a number of hours"):
        add(at(FRIDAY, 10), float("nan"))
    with pytest.raises(ValueError, match="start must be an aware datetime"):
        add(datetime(2026, 11, 27, 10), 1)
    with pytest.raises(ValueError, match="end must be an aware datetime"):
        between(at(FRIDAY, 10), datetime(2026, 11, 27, 12))


# ---------------------------------------------------------------------------------------------------------
# Properties

ZONES = [PARIS, NEW_YORK, LORD_HOWE, KATHMANDU, SANTIAGO, ZoneInfo("Pacific/Chatham"), ZoneInfo("UTC")]
ranges = st.tuples(st.integers(0, 24 * 60 - 1), st.integers(1, 24 * 60)).filter(lambda r: r[0] < r[1])
week_specs = st.lists(st.lists(ranges, max_size=3), min_size=7, max_size=7)


def _text(week: list[list[tuple[int, int]]]) -> str:
    return "; ".join(
        f"{DAYS[day]} " + ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in day_ranges)
        for day, day_ranges in enumerate(week)
        if day_ranges
    )


# Empty text (any time) now and then, else a week of ranges with at least one.
hours_specs = st.one_of(
    st.just(ANY_TIME),
    week_specs.filter(any).map(lambda week: parse_working_hours(_text(week))),
)


def _transitions(zone, year: int) -> list[datetime]:
    """Where the zone's offset changes in the year, to the hour (independently of the code under test)."""
    found, moment = [], datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        moment += timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != offset:
            found.append(moment)
            offset = moment.astimezone(zone).utcoffset()
    return found


NEAR_CHANGES = sorted({moment for zone in ZONES for year in (2026, 2027) for moment in _transitions(zone, year)})
any_instant = st.datetimes(datetime(2024, 1, 1), datetime(2032, 12, 31), timezones=st.just(UTC))
near_a_change = st.builds(
    lambda base, shift: base + timedelta(microseconds=shift),
    st.sampled_from(NEAR_CHANGES),
    st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000),
)
instants = st.one_of(any_instant, near_a_change)
durations = st.integers(0, 120 * 3_600_000_000).map(lambda us: timedelta(microseconds=us))


@st.composite
def holiday_sets(draw, around: datetime) -> frozenset[date]:
    offsets = draw(st.sets(st.integers(-2, 30), max_size=12))
    return frozenset(around.date() + timedelta(days=n) for n in offsets)


@settings(deadline=None, max_examples=300)
@given(hours_specs, st.sampled_from(ZONES), instants, durations, st.data())
def test_between_a_start_and_its_due_time_is_the_hours_added(hours, zone, start, duration, data):
    holidays = data.draw(holiday_sets(start))
    try:
        due = add_working_time(start, duration, hours_spec=hours, tz=zone, holidays=holidays)
    except ValueError:  # a minute a week, say: so much working time is not there within the horizon
        horizon = start + timedelta(days=WORKING_TIME_HORIZON_DAYS - 1)
        assert working_time_between(start, horizon, hours_spec=hours, tz=zone, holidays=holidays) < duration
        return
    assert due >= start
    assert working_time_between(start, due, hours_spec=hours, tz=zone, holidays=holidays) == duration
    if duration:  # the first instant at which it has elapsed: a microsecond earlier, it had not
        tiny = timedelta(microseconds=1)
        assert working_time_between(start, due - tiny, hours_spec=hours, tz=zone, holidays=holidays) == duration - tiny


@settings(deadline=None, max_examples=200)
@given(hours_specs, st.sampled_from(ZONES), instants, durations, durations, st.data())
def test_more_hours_never_fall_due_earlier(hours, zone, start, first, second, data):
    holidays = data.draw(holiday_sets(start))
    low, high = sorted((first, second))
    try:
        later = add_working_time(start, high, hours_spec=hours, tz=zone, holidays=holidays)
    except ValueError:  # as above: so much working time is not there within the horizon
        horizon = start + timedelta(days=WORKING_TIME_HORIZON_DAYS - 1)
        assert working_time_between(start, horizon, hours_spec=hours, tz=zone, holidays=holidays) < high
        return
    assert add_working_time(start, low, hours_spec=hours, tz=zone, holidays=holidays) <= later


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(
        st.just(ANY_TIME),
        week_specs.map(lambda week: parse_working_hours(_text(week)) if any(week) else WorkingHours()),
    ),
    st.sampled_from(ZONES),
    instants,
    st.lists(st.integers(0, 10 * 86_400_000_000), min_size=2, max_size=2),
    st.data(),
)
def test_between_adds_up_over_consecutive_spans(hours, zone, start, shifts, data):
    holidays = data.draw(holiday_sets(start))
    a, b, c = start, start + timedelta(microseconds=min(shifts)), start + timedelta(microseconds=sum(shifts))

    def span(x, y):
        return working_time_between(x, y, hours_spec=hours, tz=zone, holidays=holidays)

    assert span(a, b) + span(b, c) == span(a, c)
    assert span(a, c) <= c - a


@settings(deadline=None, max_examples=300)
@given(hours_specs, st.sampled_from(ZONES), instants, st.data())
def test_an_instant_is_working_time_exactly_when_the_hours_contain_it(hours, zone, moment, data):
    holidays = data.draw(holiday_sets(moment))
    local = moment.astimezone(zone)
    expected = hours.contains(local) and local.date() not in holidays
    tiny = timedelta(microseconds=1)
    assert working_time_between(moment, moment + tiny, hours_spec=hours, tz=zone, holidays=holidays) == (
        tiny if expected else timedelta(0)
    )


@settings(deadline=None, max_examples=300)
@given(hours_specs, st.sampled_from(ZONES), instants)
def test_zero_hours_fall_due_at_the_next_opening(hours, zone, start):
    opening = hours.next_opening(start, zone)
    assume(opening is not None)
    assert add_working_time(start, 0, hours_spec=hours, tz=zone) == opening


@settings(deadline=None, max_examples=300)
@given(hours_specs, st.sampled_from(ZONES), instants, durations, st.data())
def test_the_latest_start_before_an_end_is_exactly_the_hours_back(hours, zone, end, duration, data):
    holidays = data.draw(holiday_sets(end - timedelta(days=20)))
    start = working_time_before(end, duration, hours_spec=hours, tz=zone, holidays=holidays)
    assert start <= end
    assert working_time_between(start, end, hours_spec=hours, tz=zone, holidays=holidays) == duration
    if duration:  # the latest such start: a microsecond later, less has elapsed by the end
        tiny = timedelta(microseconds=1)
        assert working_time_between(start + tiny, end, hours_spec=hours, tz=zone, holidays=holidays) == duration - tiny


def test_four_working_hours_before_monday_ten_is_friday_two_pm():
    monday = FROZEN_AT.date() + timedelta(days=(7 - FROZEN_AT.weekday()) % 7 or 7)
    end = at(monday, 10)
    assert working_time_before(end, 4, hours_spec=OFFICE, tz=PARIS) == at(monday - timedelta(days=3), 14)
    holiday = frozenset({monday - timedelta(days=3)})  # that Friday off: Thursday 14:00
    assert working_time_before(end, 4, hours_spec=OFFICE, tz=PARIS, holidays=holiday) == at(
        monday - timedelta(days=4), 14
    )
