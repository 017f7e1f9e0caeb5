"""The `--as-of` clock shared by every command that classifies or assigns leads.

A command reads the time once and uses it throughout, so its output is
reproducible: run it again with the same --as-of and get the same answer.
"""

from datetime import date, datetime, time

from django.core.management.base import CommandError
from django.utils import timezone

AS_OF_HELP = (
    "the moment to classify at (default: now): an ISO date, meaning midnight in TIME_ZONE (2026-11-24), "
    "or an ISO date-time with Z or an offset (2026-11-24T09:30:00Z); a date-time without a zone is in TIME_ZONE"
)


def parse_as_of(text: str | None) -> datetime:
    """An aware datetime from an --as-of value; now when empty. Raises CommandError (exit 2) on a bad value."""
    if text is None or not text.strip():
        return timezone.now()
    value = text.strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD: midnight where the sales team is
            return timezone.make_aware(datetime.combine(date.fromisoformat(value), time.min))
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--as-of {text!r} is not an ISO date (2026-11-24) or date-time (2026-11-24T09:30:00Z).", returncode=2
        ) from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
