"""The notification job: send the agents' emails once the assignment that made them has committed.

Thin and safe to run twice or to be killed: leads.notifications.send_due claims each row before sending it (a
row is sent by one job only; a claim left by a killed job is taken over later). When some emails failed and
wait for their next try, and the backend can run a job later (the database and RQ backends), the job queues
itself again for that moment; `manage.py send_notifications` (cron) catches anything else.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django_tasks import task

from leads import notifications, schedule

logger = logging.getLogger(__name__)


@task()
def send_notifications(ids: list[int]) -> dict:
    result = notifications.send_due(ids=ids)
    if result.retrying:
        _retry_later(ids)
    return result.to_dict()


def _retry_later(ids: list[int]) -> None:
    due = notifications.next_due_at()
    if due is None or not _can_defer():
        return
    try:
        send_notifications.using(run_after=due).enqueue(ids)
    except Exception:
        logger.exception("Could not queue the next try of %d notifications; send_notifications will.", len(ids))


def _can_defer() -> bool:
    return send_notifications.get_backend().supports_defer


# --------------------------------------------------------------------------------------------------
# The SLA, every SLA_CHECK_MINUTES (leads.schedule: the task queues itself again; start_sla_schedule starts it)

SLA_SCHEDULE = "enforce_sla"


@task()
def enforce_sla_on_schedule() -> dict | None:
    """enforce_sla now, then the next run queued; None when this run was an early duplicate."""
    return schedule.run_due(SLA_SCHEDULE, every=sla_every(), work=_enforce_sla, enqueue=queue_sla)


def sla_every() -> timedelta:
    return timedelta(minutes=settings.SLA_CHECK_MINUTES)


def _enforce_sla(now) -> dict:
    from leads.models import AssignmentRun
    from leads.sla import enforce_sla

    return enforce_sla(as_of=now, source=AssignmentRun.Source.SCHEDULE).to_dict()


def queue_sla(when) -> None:
    """Queue a run of the SLA (at `when`, None: now). A backend that cannot run a task later (immediate) keeps no
    chain: cron runs `manage.py enforce_sla` then. A queue that fails is logged; start_sla_schedule restarts it."""
    job = enforce_sla_on_schedule
    if when is not None:
        if not job.get_backend().supports_defer:
            return
        job = job.using(run_after=when)
    try:
        job.enqueue()
    except Exception:
        logger.exception("Could not queue the next SLA run; manage.py start_sla_schedule starts it again.")
