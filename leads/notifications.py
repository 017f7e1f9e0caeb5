"""Telling agents about the leads they receive: the Notification rows and the emails (README "Notifications").

Recording is set-based and runs in the assignment's own transaction (a rollback leaves no notification):
- a bulk run (assign_leads, a rebalance, the admin actions) makes ONE INSERT ... SELECT of one digest per agent
  that received leads in it, counted from the run's LeadAssignment rows (a digest's leads are those rows, not a
  copy);
- an arrival run (the intake API) makes ONE INSERT ... SELECT of one arrival email per placed lead, for the
  agents who want them (Agent.arrival_emails).
A job (leads.tasks.send_notifications) is queued for the new rows (queue_sending): by the default queue, kept in
this database, inside the same transaction (one commit for both, and no window where rows have no job); by a queue
elsewhere (Redis) once the transaction commits. A queue that cannot take it (Redis down) is logged and the rows
stay pending for `manage.py send_notifications`.

Sending claims rows with one UPDATE (claimed_by, claimed_at) that only pending, due rows not claimed by a live
job pass, a few at a time: two jobs given the same ids send each email once, and rows claimed by a job that died
are taken over after CLAIM_TIMEOUT. A failed email waits BACKOFF_SECONDS * 2**(tries-1) and is tried again, up
to NOTIFY_MAX_ATTEMPTS tries; then it is failed.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent
from core import clock
from leads.models import LeadAssignment, Notification

logger = logging.getLogger(__name__)

STATUS, KIND = Notification.Status, Notification.Kind
CLAIM_SIZE = 20  # emails claimed at a time: a slow SMTP server (EMAIL_TIMEOUT each) stays well within the timeout
CLAIM_TIMEOUT = timedelta(minutes=15)  # a claim older than this belongs to a job that died
BACKOFF_SECONDS = 60  # a failed email waits 1, 2, 4, 8 ... minutes before its next try
DIGEST_LISTED = 20  # leads named in a digest's body; the rest are behind the link


# --------------------------------------------------------------------------------------------------
# Recording (inside the assignment's transaction)


def record_digests(*, run_id: int, as_of: datetime) -> list[int]:
    """One digest per agent that received leads in the run (its count from the run's audit rows)."""
    return _insert(
        run_id=run_id,
        as_of=as_of,
        kind=KIND.DIGEST,
        select="c.to_agent_id, a.email, COUNT(*)",
        columns="agent_id, {to}, leads_count",
        where="c.to_agent_id IS NOT NULL",
        group="GROUP BY c.to_agent_id, a.email ORDER BY c.to_agent_id",
    )


def record_arrivals(*, run_id: int, as_of: datetime) -> list[int]:
    """One arrival email per lead the run placed, for the agents who have not turned them off."""
    return _insert(
        run_id=run_id,
        as_of=as_of,
        kind=KIND.ARRIVAL,
        select="c.to_agent_id, a.email, c.lead_id, 1",
        columns="agent_id, {to}, lead_id, leads_count",
        where="c.to_agent_id IS NOT NULL AND a.arrival_emails = %s",
        where_params=[True],
        group="ORDER BY c.lead_id",
    )


def _insert(*, run_id, as_of, kind, select, columns, where, group, where_params=()) -> list[int]:
    qn = connection.ops.quote_name
    table, history, agents = (qn(m._meta.db_table) for m in (Notification, LeadAssignment, Agent))
    stamp = connection.ops.adapt_datetimefield_value(as_of)
    returning = connection.features.can_return_rows_from_bulk_insert  # else one SELECT of the run's rows
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns.format(to=qn('to'))}, kind, run_id, status, attempts, created_at, "
            "claimed_by, subject, last_error) "
            f"SELECT {select}, %s, %s, %s, 0, %s, '', '', '' "
            f"FROM {history} c JOIN {agents} a ON a.id = c.to_agent_id "
            f"WHERE c.run_id = %s AND {where} {group}" + (f" RETURNING {qn('id')}" if returning else ""),
            [kind, run_id, STATUS.PENDING, stamp, run_id, *where_params],
        )
        ids = sorted(row[0] for row in cursor.fetchall()) if returning else None
    if ids is None:
        ids = list(Notification.objects.filter(run_id=run_id).order_by("id").values_list("id", flat=True))
    if ids:
        queue_sending(ids)
    return ids


def queue_sending(ids: list[int]) -> None:
    """Queue the sending of these notifications with the transaction that records them. The default queue lives
    in this database: its job row is written in the same transaction (a savepoint, so a failure to queue never
    fails the caller), committed with the rows and never before them, which spares an intake request a commit of
    its own. Any other queue takes the job once the transaction commits: a worker must not look for rows that may
    still roll back."""
    if connection.in_atomic_block and _queue_in_this_database():
        try:
            with transaction.atomic():
                _enqueue(ids)
        except Exception:
            logger.exception("Could not queue the sending of %d notifications; they stay pending.", len(ids))
        return
    transaction.on_commit(lambda: enqueue(ids))


def _queue_in_this_database() -> bool:
    """Whether the jobs' queue (the default backend, send_notifications' own) is a table of this database."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def enqueue(ids: list[int]) -> bool:
    """Queue the job that sends these notifications; a queue that fails is logged, never raised: the rows stay
    pending for the next `send_notifications`."""
    try:
        _enqueue(ids)
    except Exception:
        logger.exception("Could not queue the sending of %d notifications; they stay pending.", len(ids))
        return False
    return True


def _enqueue(ids: list[int]) -> None:
    from leads.tasks import send_notifications  # the task module imports this one

    send_notifications.enqueue(ids)


# --------------------------------------------------------------------------------------------------
# Sending (a job, or the command)


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # failed for the last time

    def to_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def send_due(*, ids: list[int] | None = None) -> SendResult:
    """Send the due pending notifications (among `ids`, or all), a claimed handful at a time."""
    result = SendResult()
    while True:
        token, rows = _claim(ids, now=clock.now())
        if not rows:
            return result
        _send(rows, token, result)


def _due(now: datetime) -> Q:
    return (
        Q(status=STATUS.PENDING)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
    )


def _claim(ids, *, now: datetime) -> tuple[str, list[Notification]]:
    due = Notification.objects.filter(_due(now))
    if ids is not None:
        due = due.filter(id__in=ids)
    batch = list(due.order_by("id").values_list("id", flat=True)[:CLAIM_SIZE])
    if not batch:
        return "", []
    token = secrets.token_hex(16)
    # The UPDATE checks the conditions again: of two jobs that read the same rows, each row goes to one.
    Notification.objects.filter(_due(now), id__in=batch).update(claimed_by=token, claimed_at=now)
    # None when another job took the whole batch: it goes on with the rest, as this one would have.
    return token, list(
        Notification.objects.filter(claimed_by=token).select_related("agent", "user", "lead", "run").order_by("id")
    )


def _send(rows: list[Notification], token: str, result: SendResult) -> None:
    mail = get_connection(fail_silently=False)
    try:
        mail.open()
    except Exception as exc:  # the server is unreachable: every email of the batch failed this time
        for row in rows:
            _failed(row, token, exc, result)
        return
    try:
        for row in rows:
            try:
                subject, body = render(row)
                row.subject = subject
                EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [row.to], connection=mail).send(
                    fail_silently=False
                )
            except Exception as exc:
                _failed(row, token, exc, result)
            else:
                Notification.objects.filter(pk=row.pk, claimed_by=token).update(
                    status=STATUS.SENT,
                    sent_at=clock.now(),
                    subject=subject,
                    attempts=F("attempts") + 1,
                    last_error="",
                    claimed_by="",
                    claimed_at=None,
                )
                result.sent += 1
    finally:
        try:
            mail.close()
        except Exception:
            logger.warning("Closing the email connection failed.", exc_info=True)


def _failed(row: Notification, token: str, exc: Exception, result: SendResult) -> None:
    attempts = row.attempts + 1
    now = clock.now()
    last = attempts >= settings.NOTIFY_MAX_ATTEMPTS
    logger.warning("Notification %s to %s failed (try %d): %s", row.pk, row.to, attempts, exc)
    Notification.objects.filter(pk=row.pk, claimed_by=token).update(
        status=STATUS.FAILED if last else STATUS.PENDING,
        attempts=attempts,
        next_attempt_at=None if last else now + timedelta(seconds=BACKOFF_SECONDS * 2 ** (attempts - 1)),
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        subject=row.subject[:255],
        claimed_by="",
        claimed_at=None,
    )
    if last:
        result.failed += 1
    else:
        result.retrying += 1


def next_due_at() -> datetime | None:
    """When the earliest pending notification waiting after a failure is due (for a deferred job)."""
    return (
        Notification.objects.filter(status=STATUS.PENDING, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def send_again(queryset) -> list[int]:
    """Put failed notifications back to pending, with a fresh count of tries, and queue their sending."""
    ids = list(queryset.filter(status=STATUS.FAILED).values_list("id", flat=True))
    if ids:
        Notification.objects.filter(id__in=ids, status=STATUS.FAILED).update(
            status=STATUS.PENDING, attempts=0, next_attempt_at=None, claimed_by="", claimed_at=None
        )
        queue_sending(ids)
    return ids


# --------------------------------------------------------------------------------------------------
# The emails


def site_url(path: str) -> str:
    return settings.SITE_URL + path


def lead_url(lead_id: int) -> str:
    return site_url(reverse("admin:leads_lead_change", args=[lead_id]))


def render(row: Notification) -> tuple[str, str]:
    """The subject and plain-text body of a notification (reads the agent, the lead or the run's leads)."""
    if row.kind == KIND.ARRIVAL:
        return _render_arrival(row)
    if row.kind == KIND.SLA_REMINDER:
        return _render_sla_reminder(row)
    if row.kind == KIND.SLA_ESCALATION:
        return _render_sla_escalation(row)
    return _render_digest(row)


def _since(row: Notification) -> str:
    return timezone.localtime(row.sla_clock).strftime("%d %b %Y %H:%M") if row.sla_clock else "its assignment"


def _render_sla_reminder(row: Notification) -> tuple[str, str]:
    lead = row.lead
    if lead is None:
        raise LookupError("the lead of this notification was deleted")
    subject = f"Reminder: {lead.name} is waiting for its first touch"[:255]
    lines = [
        f"Hello {row.agent.name},",
        "",
        f"This lead was assigned to you on {_since(row)} and has not been worked yet:",
        "",
        f"  {_lead_line(lead)}",
        "",
        f"Open it: {lead_url(lead.pk)}",
        "",
        "If it stays untouched, your managers are told and it may be given to someone else (the SLA policy).",
    ]
    return subject, "\n".join(lines) + "\n"


def _render_sla_escalation(row: Notification) -> tuple[str, str]:
    lead = row.lead
    if lead is None:
        raise LookupError("the lead of this notification was deleted")
    holder = row.agent.name if row.agent_id else "its agent"
    subject = f"Escalation: {lead.name} untouched by {holder}"[:255]
    name = (row.user.get_full_name() or row.user.get_username()) if row.user_id else "there"
    lines = [
        f"Hello {name},",
        "",
        f"This lead, assigned to {holder} on {_since(row)}, has not been worked within its SLA:",
        "",
        f"  {_lead_line(lead)}",
        "",
        f"Open it: {lead_url(lead.pk)}",
    ]
    return subject, "\n".join(lines) + "\n"


def _lead_line(lead) -> str:
    details = " · ".join(part for part in (lead.company, lead.email, lead.phone) if part)
    return f"{lead.name}" + (f" ({details})" if details else "")


def _render_arrival(row: Notification) -> tuple[str, str]:
    lead = row.lead
    if lead is None:
        raise LookupError("the lead of this notification was deleted")
    subject = f"New lead: {lead.name}"[:255]
    lines = [
        f"Hello {row.agent.name},",
        "",
        "A new lead has just been assigned to you:",
        "",
        f"  {_lead_line(lead)}",
    ]
    if lead.source:
        lines.append(f"  Source: {lead.source}")
    lines += [
        "",
        f"Open it: {lead_url(lead.pk)}",
        "",
        "You get an email for each lead assigned to you on arrival; you can turn them off on your My leads page:",
        site_url(reverse("admin:my_leads")),
    ]
    return subject, "\n".join(lines) + "\n"


def _render_digest(row: Notification) -> tuple[str, str]:
    n = row.leads_count
    subject = f"{n} new lead{'s' if n != 1 else ''} assigned to you"
    changes = (
        LeadAssignment.objects.filter(run_id=row.run_id, to_agent_id=row.agent_id)
        .select_related("lead")
        .order_by("lead_id")[:DIGEST_LISTED]
    )
    lines = [
        f"Hello {row.agent.name},",
        "",
        f"{n} lead{'s were' if n != 1 else ' was'} assigned to you by {row.run.by_text} (run {row.run_id}):",
        "",
    ]
    lines += [f"  - {_lead_line(change.lead)}\n    {lead_url(change.lead_id)}" for change in changes]
    if n > DIGEST_LISTED:
        lines.append(f"  ... and {n - DIGEST_LISTED} more.")
    lines += [
        "",
        f"All your leads: {site_url(reverse('admin:leads_lead_changelist'))}?agent={row.agent_id}",
    ]
    return subject, "\n".join(lines) + "\n"
