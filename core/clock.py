"""The application's one clock, and the `--as-of` moment of the commands.

now() is the only place the application reads the time. Services take the moment they work at as a
keyword-only `as_of`; the edges decide it once: a command from its --as-of (parse_as_of), an admin request
from request_as_of(request). So a command run again with the same --as-of gives the same answer, every
part of one admin page agrees at the class boundaries, and tests freeze the one clock (time-machine).
"""

from datetime import UTC, date, datetime, time

from django.core.management.base import CommandError
from django.utils import timezone

# The moments an --as-of may name, in UTC. The classification subtracts its thresholds from as_of and adds them
# to created_at, and the engines store years 1000-9999 at best (MariaDB): a year of margin at the top keeps
# every such date representable, and nothing in a lead file is older than 1900.
AS_OF_MIN = datetime(1900, 1, 1, tzinfo=UTC)
AS_OF_MAX = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)

AS_OF_HELP = (
    "the moment to classify at (default: now): an ISO date, meaning midnight in TIME_ZONE (2026-11-24), "
    "or an ISO date-time with Z or an offset (2026-11-24T09:30:00Z); a date-time without a zone is in TIME_ZONE; "
    "from 1900-01-01 to 9998-12-31"
)


def now() -> datetime:
    """The current moment, aware (UTC)."""
    return timezone.now()


def request_as_of(request) -> datetime:
    """The moment of one request, read once: every page part (filter, badges, reasons, counts) uses it."""
    if not hasattr(request, "_as_of"):
        request._as_of = now()
    return request._as_of


def parse_as_of(text: str | None, *, flag: str = "--as-of") -> datetime:
    """An aware datetime from an --as-of value (or another flag's, named in the messages); now when empty. Raises
    CommandError (exit 2) on a bad value."""
    if text is None or not text.strip():
        return now()
    value = text.strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD: midnight where the sales team is
            moment = timezone.make_aware(datetime.combine(date.fromisoformat(value), time.min))
        else:
            moment = datetime.fromisoformat(value)
            moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
        in_range = AS_OF_MIN <= moment <= AS_OF_MAX
    except ValueError:
        raise CommandError(
            f"{flag} {text!r} is not an ISO date (2026-11-24) or date-time (2026-11-24T09:30:00Z).", returncode=2
        ) from None
    except OverflowError:  # the offset or the time zone pushes it beyond the years a datetime holds
        in_range = False
    if not in_range:
        raise CommandError(
            f"{flag} {text!r} is out of range: use a moment from {AS_OF_MIN:%Y-%m-%d} to {AS_OF_MAX:%Y-%m-%d}.",
            returncode=2,
        )
    return moment
