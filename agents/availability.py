"""When an agent can take leads: working hours in the agent's time zone, and absences.

Working hours are text (Agent.working_hours), parsed by `parse_working_hours`:

    Mon-Fri 09:00-12:00, 13:00-17:30; Sat 10:00-14:00

groups separated by `;`, each a list of days (`Mon`, a range `Mon-Fri`, which may wrap: `Fri-Mon`; several joined
by `,`: `Mon,Wed`; full names too, any case) and then one or more ranges `HH:MM-HH:MM` joined by `,` (an end of
`24:00` is midnight at the end of the day). A day named in several groups gets all their ranges. Empty text:
any time. The ranges are wall-clock times in the agent's zone, so 09:00 stays 09:00 across a DST change.

Business time (`add_working_time`, `working_time_between`, for SLA timers) counts only the instants inside the
hours on local days that are not holidays (below, "Business time").

Availability (`is_available`, `next_available`) is about time only: absent, off hours or available. Whether an
agent is active, below capacity or below its daily cap is the assignment's eligibility.

This module imports no Django model at its top (the import's cleaning process checks working hours and time
zones with it, pickled by reference, where Django is not set up); `absent_agent_ids` and `Absences.overlapping`
read the database.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_BY_NAME = {**{d.lower(): i for i, d in enumerate(DAYS)}, **{d: i for i, d in enumerate(_FULL_DAYS)}}
_TIME = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
MINUTES_PER_DAY = 24 * 60
ABSENT, OFF_HOURS = "absent", "off-hours"


@dataclass(frozen=True)
class WorkingHours:
    """Per weekday (0 = Monday), the open ranges in minutes after midnight: sorted, disjoint, [start, end).

    `always` (the empty text): open at any time."""

    days: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    always: bool = False

    def contains(self, local_dt: datetime) -> bool:
        """Whether the wall-clock time `local_dt` (in the agent's zone) is inside the hours."""
        if self.always:
            return True
        minute = local_dt.hour * 60 + local_dt.minute + (local_dt.second * 1_000_000 + local_dt.microsecond) / 6e7
        return any(start <= minute < end for start, end in self.days[local_dt.weekday()])

    def next_opening(self, after_utc: datetime, tz: str | zoneinfo.ZoneInfo) -> datetime | None:
        """The first instant at or after `after_utc` (aware) inside the hours, in UTC; None if none within two
        weeks (hours whose every range falls in DST gaps)."""
        zone = as_zone(tz)
        after_utc = after_utc.astimezone(UTC)
        if self.contains(after_utc.astimezone(zone)):
            return after_utc
        local_day = after_utc.astimezone(zone).date()
        best = None
        for offset in range(15):  # two weeks: a week whose only ranges fall in a DST gap opens the next
            day = local_day + timedelta(days=offset)
            for start, _end in self.days[day.weekday()]:
                wall = datetime.combine(day, time()) + timedelta(minutes=start)
                for candidate in _instants(wall, zone):
                    if candidate >= after_utc and self.contains(candidate.astimezone(zone)):
                        best = candidate if best is None else min(best, candidate)
            if best is not None:
                return best
        return None

    def __str__(self) -> str:
        """The canonical text: days with the same ranges grouped, `Mon-Fri 09:00-17:30; Sat 10:00-14:00`."""
        if self.always:
            return ""
        groups: list[tuple[list[int], tuple]] = []
        for day, ranges in enumerate(self.days):
            if not ranges:
                continue
            if groups and groups[-1][1] == ranges and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], ranges))
        parts = []
        for days, ranges in groups:
            named = DAYS[days[0]] if len(days) == 1 else f"{DAYS[days[0]]}-{DAYS[days[-1]]}"
            parts.append(f"{named} " + ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges))
        return "; ".join(parts)


ANY_TIME = WorkingHours(always=True)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _instants(wall: datetime, zone: zoneinfo.ZoneInfo) -> list[datetime]:
    """The UTC instants whose wall-clock time in `zone` is `wall`: one, two (the repeated hour of a fall back),
    or, for a time in a spring-forward gap, the instant the gap ends (the first wall time after it)."""
    found = []
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == wall and moment not in found:
            found.append(moment)
    if found:
        return found
    # A gap: fold=1 reads the wall time with the offset after the change (an earlier instant), fold=0 with the
    # one before (a later instant); the change lies between them. Bisect to the microsecond: the change's instant
    # exactly (the first instant whose offset is the new one).
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return [high]


# ---------------------------------------------------------------------------------------------------------
# Parsing


def _parse_time(text: str, where: str, *, end: bool) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{where}: {text.strip()!r} is not a time HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ValueError(f"{where}: {text.strip()!r} is not a time of day (00:00 to 23:59, or 24:00 as an end)")
    return hours * 60 + minutes


def _parse_day(text: str, where: str) -> int:
    day = _DAY_BY_NAME.get(text.strip().lower())
    if day is None:
        raise ValueError(f"{where}: {text.strip()!r} is not a day ({', '.join(DAYS)})")
    return day


def _parse_days(text: str, where: str) -> list[int]:
    days: list[int] = []
    for item in text.split(","):
        if not item.strip():
            raise ValueError(f"{where}: an empty day in {text.strip()!r}")
        if "-" in item:
            first, _, last = item.partition("-")
            start, stop = _parse_day(first, where), _parse_day(last, where)
            span = [(start + i) % 7 for i in range((stop - start) % 7 + 1)]
        else:
            span = [_parse_day(item, where)]
        days.extend(d for d in span if d not in days)
    return days


def _parse_range(text: str, where: str) -> tuple[int, int]:
    if text.count("-") != 1:
        raise ValueError(f"{where}: {text.strip()!r} is not a time range HH:MM-HH:MM")
    first, _, last = text.partition("-")
    start, end = _parse_time(first, where, end=False), _parse_time(last, where, end=True)
    if end <= start:
        raise ValueError(f"{where}: {text.strip()!r} ends before it starts (ranges past midnight: split them)")
    return start, end


def _merged(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


@lru_cache(maxsize=4096)
def parse_working_hours(text: str | None) -> WorkingHours:
    """The hours the text describes (module docstring); ValueError naming what is wrong and where
    (`group 2 ('Sat 10-14'): '10-14' is not a time range HH:MM-HH:MM`)."""
    if text is None or not text.strip():
        return ANY_TIME
    per_day: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    groups = text.split(";")
    for number, group in enumerate(groups, start=1):
        if not group.strip():
            if number == len(groups):
                continue  # a trailing `;`
            raise ValueError(f"group {number}: empty (groups are separated by ';')")
        where = f"group {number} ({group.strip()!r})" if len(groups) > 1 else repr(group.strip())
        match = re.match(r"^\s*([^0-9]*?)\s*([0-9].*)?$", group, re.DOTALL)
        day_text, ranges_text = (match.group(1), match.group(2)) if match else (group, None)
        if not day_text.strip():
            raise ValueError(f"{where}: no days before the hours (e.g. Mon-Fri 09:00-17:30)")
        days = _parse_days(day_text, where)
        if not ranges_text or not ranges_text.strip():
            raise ValueError(f"{where}: no time range after the days (e.g. {day_text.strip()} 09:00-17:30)")
        ranges = []
        for item in ranges_text.split(","):
            if not item.strip():
                raise ValueError(f"{where}: an empty time range in {ranges_text.strip()!r}")
            ranges.append(_parse_range(item, where))
        for day in days:
            per_day[day].extend(ranges)
    return WorkingHours(days=tuple(_merged(r) for r in per_day))


def check_working_hours(text: str) -> str:
    """The text as given when it parses (for the import's cleaner); ValueError otherwise."""
    parse_working_hours(text)
    return text


# ---------------------------------------------------------------------------------------------------------
# Time zones


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@lru_cache(maxsize=1024)
def as_zone(name: str | zoneinfo.ZoneInfo) -> zoneinfo.ZoneInfo:
    if isinstance(name, zoneinfo.ZoneInfo):
        return name
    return zoneinfo.ZoneInfo(check_time_zone(name))


def check_time_zone(name: str) -> str:
    """The IANA name as the time zone database writes it (`europe/paris` -> `Europe/Paris`); ValueError if no
    such zone."""
    canonical = _zone_names().get(str(name).strip().lower())
    if canonical is None:
        raise ValueError(f"{str(name).strip()!r} is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)")
    return canonical


# ---------------------------------------------------------------------------------------------------------
# Business time
#
# Working time is the set of instants whose wall-clock time in the zone lies inside a range of its local day, on
# local days that are not holidays: exactly the instants `WorkingHours.contains` accepts. So a range partly in a
# spring-forward gap is shorter that day (the missing wall times never happen), and the repeated hour of a fall
# back counts twice when it lies inside a range (both occurrences are working time, as the agent is at work
# through both). A range ending at 24:00 runs to the next local midnight.

WORKING_TIME_HORIZON_DAYS = 3 * 366  # add_working_time gives up after this many local days
_DAY = timedelta(days=1)
_OFFSET_SAMPLE = timedelta(hours=4)  # no zone has had two transitions within 6 hours since 1900
_ALL_DAY = ((0, MINUTES_PER_DAY),)


def add_working_time(
    start: datetime,
    hours: Decimal | float | int | timedelta,
    *,
    hours_spec: WorkingHours,
    tz: str | tzinfo,
    holidays: frozenset[date] = frozenset(),
) -> datetime:
    """The instant (UTC) at which `hours` of working time have elapsed after `start` (aware): in the ranges of
    `hours_spec`, wall-clock in `tz`, on local days not in `holidays`. Elapsing exactly at the end of a range
    gives that end (Friday 13:00 + 4h with 09:00-17:00 is Friday 17:00). Zero hours: `start` when it is
    working time, else the next opening. ValueError for negative hours or when they cannot elapse within
    `WORKING_TIME_HORIZON_DAYS` (no ranges at all, or holidays all the way)."""
    zone = _as_tzinfo(tz)
    moment = _as_utc(start, "start")
    remaining = _as_duration(hours)
    if not hours_spec.always and not any(hours_spec.days):
        raise ValueError("no working time at all: the working hours have no range on any day")
    day = moment.astimezone(zone).date()
    for _ in range(WORKING_TIME_HORIZON_DAYS):
        if day not in holidays:
            for opens, closes in _working_intervals(hours_spec, zone, day):
                if closes <= moment:
                    continue
                opens = max(opens, moment)
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
        day += _DAY
    raise ValueError(
        f"the working time cannot elapse within {WORKING_TIME_HORIZON_DAYS} days after {moment.isoformat()}"
        f" ({remaining} still to go): holidays or days without working hours all the way"
    )


def working_time_between(
    start: datetime,
    end: datetime,
    *,
    hours_spec: WorkingHours,
    tz: str | tzinfo,
    holidays: frozenset[date] = frozenset(),
) -> timedelta:
    """The working time inside [start, end) (both aware), counted as `add_working_time` counts it; zero when
    `end` is not after `start`."""
    zone = _as_tzinfo(tz)
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    total = timedelta(0)
    if end <= start or (not hours_spec.always and not any(hours_spec.days)):
        return total
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        if day not in holidays:
            for opens, closes in _working_intervals(hours_spec, zone, day):
                opens, closes = max(opens, start), min(closes, end)
                if opens < closes:
                    total += closes - opens
        day += _DAY
    return total


def working_time_before(
    end: datetime,
    hours: Decimal | float | int | timedelta,
    *,
    hours_spec: WorkingHours,
    tz: str | tzinfo,
    holidays: frozenset[date] = frozenset(),
) -> datetime:
    """The latest instant (UTC) from which `hours` of working time have elapsed by `end`: working_time_between(it,
    end) == hours, and any later start has less. So `hours` have elapsed since a moment `m` exactly when
    m <= working_time_before(end, hours): one bound per agent and step, which a query compares with every lead
    (the SLA). Zero hours: `end`. ValueError as add_working_time."""
    zone = _as_tzinfo(tz)
    moment = _as_utc(end, "end")
    remaining = _as_duration(hours)
    if not remaining:
        return moment
    if not hours_spec.always and not any(hours_spec.days):
        raise ValueError("no working time at all: the working hours have no range on any day")
    day = moment.astimezone(zone).date()
    for _ in range(WORKING_TIME_HORIZON_DAYS):
        if day not in holidays:
            for opens, closes in reversed(_working_intervals(hours_spec, zone, day)):
                if opens >= moment:
                    continue
                closes = min(closes, moment)
                if remaining <= closes - opens:
                    return closes - remaining
                remaining -= closes - opens
        day -= _DAY
    raise ValueError(
        f"the working time cannot elapse within {WORKING_TIME_HORIZON_DAYS} days before {moment.isoformat()}"
        f" ({remaining} still to go): holidays or days without working hours all the way"
    )


def _as_tzinfo(tz: str | tzinfo) -> tzinfo:
    return as_zone(tz) if isinstance(tz, str | zoneinfo.ZoneInfo) else tz


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), not {moment.isoformat()}")
    return moment.astimezone(UTC)


def _as_duration(hours: Decimal | float | int | timedelta) -> timedelta:
    if isinstance(hours, timedelta):
        duration = hours
    elif isinstance(hours, Decimal):
        if not hours.is_finite():
            raise ValueError(f"{hours} is not a number of hours")
        duration = timedelta(microseconds=int((hours * 3_600_000_000).to_integral_value()))
    else:
        if not math.isfinite(hours):
            raise ValueError(f"{hours} is not a number of hours")
        duration = timedelta(hours=hours)
    if duration < timedelta(0):
        raise ValueError(f"{hours} hours: working time cannot be negative")
    return duration


@lru_cache(maxsize=65536)
def _working_intervals(hours: WorkingHours, zone: tzinfo, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The working time of one local day, as sorted disjoint UTC intervals [opens, closes)."""
    midnight = datetime.combine(day, time())
    ranges = _ALL_DAY if hours.always else hours.days[day.weekday()]
    out = []
    for first, last, offset in _day_segments(zone, day):
        for start, end in ranges:
            opens = max(first, (midnight + timedelta(minutes=start) - offset).replace(tzinfo=UTC))
            closes = min(last, (midnight + timedelta(minutes=end) - offset).replace(tzinfo=UTC))
            if opens < closes:
                out.append((opens, closes))
    return tuple(out)


@lru_cache(maxsize=16384)
def _day_segments(zone: tzinfo, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """The instants whose local date is `day`, as UTC intervals [first, last) of one UTC offset each, in order:
    one on most days, two across a DST change (their wall times overlap on a fall back, leave a gap on a spring
    forward). A zone's local date never steps back (true of every zone since 1900), so the days follow each
    other in UTC."""
    midnight = datetime.combine(day, time())
    # Offsets are under a day, so every instant of the day lies within a day either side of its wall times.
    low, high = (midnight - _DAY).replace(tzinfo=UTC), (midnight + 2 * _DAY).replace(tzinfo=UTC)
    out = []
    for first, last, offset in _constant_offsets(zone, low, high):
        first = max(first, (midnight - offset).replace(tzinfo=UTC))
        last = min(last, (midnight + _DAY - offset).replace(tzinfo=UTC))
        if first < last:
            out.append((first, last, offset))
    return tuple(out)


def _constant_offsets(zone: tzinfo, low: datetime, high: datetime) -> list[tuple[datetime, datetime, timedelta]]:
    """[low, high) cut at the zone's offset changes: (first, last, offset) pieces, in order."""
    pieces = []
    first, offset = low, _offset(zone, low)
    sample = low
    while sample < high:
        following = min(sample + _OFFSET_SAMPLE, high)
        after = _offset(zone, following)
        while after != offset:  # one or more changes in (sample, following]: find the first, then go on
            change = _offset_change(zone, sample, following, offset)
            pieces.append((first, change, offset))
            first, sample, offset = change, change, _offset(zone, change)
        sample = following
    pieces.append((first, high, offset))
    return pieces


def _offset(zone: tzinfo, moment: datetime) -> timedelta:
    return moment.astimezone(zone).utcoffset()


def _offset_change(zone: tzinfo, low: datetime, high: datetime, offset: timedelta) -> datetime:
    """The first instant in (low, high] whose offset is not `offset` (low has it, high does not), to the
    microsecond."""
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if _offset(zone, middle) == offset:
            low = middle
        else:
            high = middle
    return high


# ---------------------------------------------------------------------------------------------------------
# Absences and availability


@dataclass(frozen=True)
class Period:
    starts_at: datetime
    ends_at: datetime  # excluded: the agent is back at ends_at
    reason: str = ""


class Absences:
    """Absence periods by agent id, loaded for a window in one query (`overlapping`), or built from periods."""

    def __init__(self, by_agent: dict[int, list[Period]] | None = None):
        self.by_agent = {k: sorted(v, key=lambda p: p.starts_at) for k, v in (by_agent or {}).items()}

    @classmethod
    def overlapping(cls, start: datetime, end: datetime | None = None, *, agent_ids=None) -> Absences:
        """Every absence overlapping [start, end) (end None: from start on), for all agents (or `agent_ids`)."""
        from agents.models import Absence

        rows = Absence.objects.overlapping(start, end)
        if agent_ids is not None:
            rows = rows.filter(agent_id__in=list(agent_ids))
        by_agent: dict[int, list[Period]] = {}
        for agent_id, starts_at, ends_at, reason in rows.values_list("agent_id", "starts_at", "ends_at", "reason"):
            by_agent.setdefault(agent_id, []).append(Period(starts_at, ends_at, reason))
        return cls(by_agent)

    def covering(self, agent_id: int, moment: datetime) -> Period | None:
        """The absence of the agent at that moment, if any (the one ending last, when several overlap)."""
        found = [p for p in self.by_agent.get(agent_id, ()) if p.starts_at <= moment < p.ends_at]
        return max(found, key=lambda p: p.ends_at) if found else None

    def absent_ids(self, moment: datetime) -> set[int]:
        return {agent_id for agent_id in self.by_agent if self.covering(agent_id, moment) is not None}


def absent_agent_ids(as_of: datetime) -> set[int]:
    """The ids of the agents absent at `as_of`, in one query."""
    from agents.models import Absence

    return set(Absence.objects.overlapping(as_of, None).filter(starts_at__lte=as_of).values_list("agent_id", flat=True))


def is_available(agent, absences: Absences, as_of: datetime) -> tuple[bool, str]:
    """(True, "") when the agent (anything with id, time_zone, working_hours) is neither absent nor off hours at
    `as_of`; else (False, "absent") or (False, "off-hours")."""
    if absences.covering(agent.id, as_of) is not None:
        return False, ABSENT
    hours = parse_working_hours(agent.working_hours)
    if not hours.contains(as_of.astimezone(as_zone(agent.time_zone))):
        return False, OFF_HOURS
    return True, ""


def next_available(agent, absences: Absences, after: datetime) -> datetime | None:
    """The first instant at or after `after` when the agent is available (not absent, inside working hours),
    in UTC; None if never within the absences known and a week of hours. `absences` must hold the agent's
    absences from `after` on."""
    hours = parse_working_hours(agent.working_hours)
    zone = as_zone(agent.time_zone)
    moment = after.astimezone(UTC)
    for _ in range(2 + 2 * len(absences.by_agent.get(agent.id, ()))):
        away = absences.covering(agent.id, moment)
        if away is not None:
            moment = away.ends_at.astimezone(UTC)
            continue
        opening = hours.next_opening(moment, zone)
        if opening is None:
            return None
        if opening == moment:
            return moment
        moment = opening
    return moment if is_available(agent, absences, moment)[0] else None
