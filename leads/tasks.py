"""The notification job: send the agents' emails once the assignment that made them has committed.

Thin and safe to run twice or to be killed: leads.notifications.send_due claims each row before sending it (a
row is sent by one job only; a claim left by a killed job is taken over later). When some emails failed and
wait for their next try, and the backend can run a job later (the database and RQ backends), the job queues
itself again for that moment; `manage.py send_notifications` (cron) catches anything else.
"""

from __future__ import annotations

import logging

from django_tasks import task

from leads import notifications

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
