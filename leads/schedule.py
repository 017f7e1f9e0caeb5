"""Jobs the worker runs every so often, through the tasks framework (leads.tasks), without a separate scheduler.

A scheduled job is a task that, when it runs, does its work and queues itself again for `every` later (the
database and RQ backends can run a task later). Its Schedule row says when the next run is due: a queued run that
finds itself early (a second chain, from starting the schedule twice or a retry) ends without queueing another, so
the job never runs more often than asked; `start` queues a first run unless a chain is alive (its next run due).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction

from core import clock
from leads.models import Schedule

EARLY = 0.5  # a run more than half a period before its schedule's next run is a duplicate
DEAD_AFTER = timedelta(minutes=10)


def start(name: str, *, every: timedelta, enqueue: Callable[[datetime | None], None]) -> bool:
    """Queue a first run now unless the schedule's chain is alive: its next run is not overdue by three periods
    (at least ten minutes, the time a worker may take to come up). Returns whether it queued one. Should a chain
    that only looked dead come back, the duplicate ends at its next run (run_due)."""
    now = clock.now()
    grace = max(3 * every, DEAD_AFTER)
    with transaction.atomic():
        row, _ = Schedule.objects.select_for_update().get_or_create(name=name)
        if row.next_run_at is not None and row.next_run_at + grace > now:
            return False
        row.next_run_at = now
        row.save(update_fields=["next_run_at"])
    enqueue(None)
    return True


def run_due(
    name: str, *, every: timedelta, work: Callable[[datetime], dict], enqueue: Callable[[datetime | None], None]
) -> dict | None:
    """One run of a scheduled job: claim it (none if this run is an early duplicate), do the work at this moment,
    queue the next run. Returns the work's result (None for a duplicate)."""
    now = clock.now()
    with transaction.atomic():
        row, _ = Schedule.objects.select_for_update().get_or_create(name=name)
        if row.next_run_at is not None and now < row.next_run_at - every * EARLY:
            return None
        row.next_run_at = now + every
        row.save(update_fields=["next_run_at"])
    try:
        result = work(now)
    finally:
        enqueue(now + every)  # even after a failure: the schedule goes on
    Schedule.objects.filter(name=name).update(last_run_at=now, last_result=result)
    return result
