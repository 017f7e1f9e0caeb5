"""The agents' notification emails: what is recorded and sent when leads arrive or are assigned in bulk, the
opt-out, the retries, the claims, and the command that sends what is left.

Jobs run in the test process (TASKS_BACKEND=immediate) and emails go to Django's locmem outbox; the emails are
sent once the assignment's transaction commits, so the tests run the commit callbacks (`committed`).
"""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from agents.tests.factories import AgentFactory
from core import clock
from leads import notifications, tasks
from leads.assignment import assign_leads, assign_on_arrival, assign_to_agent, unassign_leads
from leads.models import ApiKey, AssignmentRun, Lead, Notification
from leads.tasks import send_notifications
from leads.tests.factories import LeadFactory
from leads.tests.mail import REFUSED

pytestmark = pytest.mark.django_db

STATUS, KIND = Notification.Status, Notification.Kind
REFUSING = "leads.tests.mail.RefusingBackend"
UNREACHABLE = "leads.tests.mail.UnreachableBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block whose commit callbacks (the queued jobs) run as it ends, as after a real commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def api(client):
    _, key = ApiKey.issue(name="Web form", source="website")

    def post(path, body):
        return client.post(f"/api/v1/{path}", json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")  # fmt: skip

    return post


@pytest.fixture
def ann():
    return AgentFactory(name="Ann Agent", email="ann@sales.test")


@pytest.fixture
def bob():
    return AgentFactory(name="Bob Agent", email="bob@sales.test")


class Queue:
    """Stands for the job in leads.tasks (a Task cannot be patched): enqueue and using(run_after) as given."""

    def __init__(self, enqueue, using=None):
        self.enqueue, self._using = enqueue, using

    def using(self, run_after):
        return self._using(run_after)


def notification_writes() -> int:
    """One INSERT ... SELECT that returns the new ids (RETURNING: every engine here), else one read of them."""
    return 1 if connection.features.can_return_rows_from_bulk_insert else 2


def outbox_to() -> list[str]:
    return sorted(message.to[0] for message in mail.outbox)


def assign(**kwargs):
    return assign_leads(seed=7, as_of=clock.now(), **kwargs)


# ---------------------------------------------------------------------------------------------------------
# Arrival


def test_an_arriving_lead_emails_its_agent_with_a_link_to_the_lead(api, ann, committed, settings):
    settings.SITE_URL = "https://crm.example.org"
    with committed():
        response = api("leads", {"email": "jo@example.org", "name": "Jo Ng", "company": "Acme", "phone": "+1 555"})
    assert response.status_code == 201
    lead = Lead.objects.get()
    [message] = mail.outbox
    assert message.to == ["ann@sales.test"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "New lead: Jo Ng"
    assert "Hello Ann Agent," in message.body
    assert "Jo Ng (Acme · jo@example.org · +1 555)" in message.body
    assert "Source: website" in message.body
    assert f"https://crm.example.org/admin/leads/lead/{lead.pk}/change/" in message.body
    note = Notification.objects.get()
    assert (note.kind, note.agent, note.to, note.lead, note.leads_count) == (KIND.ARRIVAL, ann, ann.email, lead, 1)
    assert (note.status, note.attempts, note.sent_at, note.subject) == (STATUS.SENT, 1, clock.now(), message.subject)
    assert note.run == AssignmentRun.objects.get(source=AssignmentRun.Source.API)


def test_a_batch_sends_one_email_per_placed_lead(api, ann, bob, committed):
    bob.capacity = 1
    bob.save()
    leads = [{"email": f"l{i}@example.org", "name": f"L {i}"} for i in range(5)]
    with committed():
        body = api("leads/batch", {"leads": [*leads, {"email": "bad"}]})
    assert body.json()["created"] == 5
    assert outbox_to() == ["ann@sales.test"] * 4 + ["bob@sales.test"]
    notes = Notification.objects.select_related("lead")
    assert len(notes) == 5 and all(n.lead.assigned_agent_id == n.agent_id and n.to == n.agent.email for n in notes)
    assert sorted(m.subject for m in mail.outbox) == [f"New lead: L {i}" for i in range(5)]


def test_a_full_batch_of_1000_leads_sends_1000_emails_after_its_commit(api, ann, bob, committed):
    leads = [{"email": f"l{i}@example.org", "name": f"L {i}"} for i in range(1000)]
    with committed():
        assert api("leads/batch", {"leads": leads}).json()["created"] == 1000
    assert len(mail.outbox) == 1000
    assert Notification.objects.filter(status=STATUS.SENT, attempts=1).count() == 1000
    assert len({m.subject for m in mail.outbox}) == 1000  # each lead once


def test_a_lead_left_without_an_agent_and_an_update_email_nobody(api, committed):
    with committed():
        api("leads", {"email": "jo@example.org", "name": "Jo"})  # no agent yet
    AgentFactory()
    with committed():
        assert api("leads", {"email": "jo@example.org", "phone": "1"}).status_code == 200
    assert mail.outbox == [] and not Notification.objects.exists()


def test_an_arrival_batch_records_its_emails_in_a_fixed_number_of_queries(ann, bob):
    def notification_queries(n: int) -> int:
        ids = [LeadFactory(assigned_agent=None).pk for _ in range(n)] if n < 50 else _bulk_leads(n)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            assign_on_arrival(lead_ids=ids, as_of=clock.now())
        return sum("leads_notification" in q["sql"] for q in queries.captured_queries)

    assert notification_queries(3) == notification_queries(1000) == notification_writes()
    assert Notification.objects.filter(kind=KIND.ARRIVAL).count() == 1003


def _bulk_leads(n: int) -> list[int]:
    Lead.objects.bulk_create(
        Lead(name=f"Bulk {i}", email=f"bulk{i}@example.org", created_at=clock.now() - timedelta(days=1))
        for i in range(n)
    )
    return list(Lead.objects.filter(email__startswith="bulk").values_list("id", flat=True))


# ---------------------------------------------------------------------------------------------------------
# Digests


def test_assign_leads_sends_one_digest_per_agent_with_its_count(ann, bob, committed):
    full = AgentFactory(email="full@sales.test", capacity=0)
    LeadFactory.create_batch(7)
    with committed():
        result = assign()
    digests = {n.to: n for n in Notification.objects.all()}
    assert set(digests) == {ann.email, bob.email}  # the full agent got no lead, and no email
    assert {email: n.leads_count for email, n in digests.items()} == result.added
    assert all(n.kind == KIND.DIGEST and n.run_id == result.run_id and n.lead is None for n in digests.values())
    assert full.email not in outbox_to() and len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == [ann.email])
    count = result.added[ann.email]
    assert message.subject == f"{count} new leads assigned to you"
    assert f"{count} leads were assigned to you by the command assign_leads (run {result.run_id})" in message.body
    assert message.body.count("/admin/leads/lead/") == count + 1  # each lead, and the list of them
    assert f"/admin/leads/lead/?agent={ann.pk}" in message.body


def test_a_digest_names_the_first_leads_and_counts_the_rest(ann, committed):
    LeadFactory.create_batch(notifications.DIGEST_LISTED + 3)
    with committed():
        assign()
    [message] = mail.outbox
    assert "... and 3 more." in message.body
    assert message.body.count("/change/") == notifications.DIGEST_LISTED


def test_a_big_run_records_its_digests_in_a_fixed_number_of_queries(committed):
    for _ in range(30):
        AgentFactory()
    _bulk_leads(600)
    with CaptureQueriesContext(connection) as queries:
        assign()
    assert sum("leads_notification" in q["sql"] for q in queries.captured_queries) == notification_writes()
    assert Notification.objects.count() == 30
    assert sum(Notification.objects.values_list("leads_count", flat=True)) == 600


def test_a_rebalance_sends_digests_to_the_agents_that_received_leads_only(ann, bob, committed):
    LeadFactory.create_batch(6, assigned_agent=ann)
    with committed():
        result = assign(rebalance=True)
    assert result.moved == 3
    assert outbox_to() == [bob.email]
    assert Notification.objects.get().leads_count == 3


def test_the_admin_actions_send_digests_and_unassigning_sends_none(ann, bob, committed, admin_user):
    leads = LeadFactory.create_batch(4)
    with committed():
        assign(lead_ids=[lead.pk for lead in leads[:2]], source=AssignmentRun.Source.ADMIN, user=admin_user)
    with committed():
        assign_to_agent(lead_ids=[lead.pk for lead in leads], agent=bob, user=admin_user)
    with committed():
        unassign_leads(lead_ids=[lead.pk for lead in leads], user=admin_user)
    runs = list(AssignmentRun.objects.order_by("id"))
    by_run = {run.action: list(run.notifications.values_list("to", "leads_count")) for run in runs}
    assert sorted(by_run["assign"]) == [(ann.email, 1), (bob.email, 1)]
    assert by_run["assign-to-agent"] == [(bob.email, 3)]  # the lead bob already had is not his news
    assert by_run["unassign"] == []
    assert len(mail.outbox) == 3
    assert f"assigned to you by {admin_user.username}" in mail.outbox[-1].body


def test_a_dry_run_records_and_sends_nothing(ann, committed):
    LeadFactory.create_batch(3)
    with committed():
        assign(dry_run=True)
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_rolled_back_assignment_leaves_no_notification(ann, committed):
    LeadFactory.create_batch(3)

    def failing_caller():
        with transaction.atomic():
            assign()
            raise RuntimeError("the caller fails after the run")

    with committed(), pytest.raises(RuntimeError):
        failing_caller()
    assert not Notification.objects.exists() and mail.outbox == []


# ---------------------------------------------------------------------------------------------------------
# Opting out


def test_an_agent_who_turned_arrival_emails_off_gets_none_but_still_gets_digests(api, ann, committed):
    ann.arrival_emails = False
    ann.save()
    with committed():
        assert api("leads", {"email": "jo@example.org", "name": "Jo"}).json()["agent"] == ann.email
    assert mail.outbox == [] and not Notification.objects.exists()
    LeadFactory.create_batch(2)
    with committed():
        assign()
    assert [(n.kind, n.leads_count) for n in Notification.objects.all()] == [(KIND.DIGEST, 2)]
    assert outbox_to() == [ann.email]


def test_opted_out_agents_are_skipped_while_the_others_get_their_arrivals(api, ann, bob, committed):
    bob.arrival_emails = False
    bob.save()
    with committed():
        api("leads/batch", {"leads": [{"email": f"l{i}@example.org", "name": f"L {i}"} for i in range(4)]})
    assert outbox_to() == [ann.email] * 2
    assert Lead.objects.filter(assigned_agent=bob).count() == 2


# ---------------------------------------------------------------------------------------------------------
# Never blocking or failing the intake


def test_the_api_still_answers_201_when_the_mail_server_refuses(api, ann, committed, settings):
    settings.EMAIL_BACKEND = REFUSING
    with committed():
        response = api("leads", {"email": "jo@example.org", "name": "Jo"})
    assert response.status_code == 201
    assert response.json()["agent"] == ann.email
    note = Notification.objects.get()
    assert (note.status, note.attempts, note.sent_at) == (STATUS.PENDING, 1, None)
    assert "SMTPRecipientsRefused" in note.last_error and REFUSED in note.last_error
    assert note.next_attempt_at == clock.now() + timedelta(seconds=notifications.BACKOFF_SECONDS)


def test_a_queue_that_is_down_leaves_the_emails_pending_for_the_command(api, ann, committed, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks, "send_notifications", Queue(down))
    with committed():
        response = api("leads", {"email": "jo@example.org", "name": "Jo"})
    assert response.status_code == 201
    assert Notification.objects.get().status == STATUS.PENDING and mail.outbox == []
    assert "stay pending" in caplog.text
    out = StringIO()
    call_command("send_notifications", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"sent": 1, "retrying": 0, "failed": 0}
    assert outbox_to() == [ann.email] and Notification.objects.get().status == STATUS.SENT


def test_the_request_only_queues_the_job_once_it_has_committed(api, ann, committed, monkeypatch, settings):
    # As with a real queue: the request neither sends nor tries the email, it queues the job after the commit.
    settings.EMAIL_BACKEND = UNREACHABLE
    queued = []
    monkeypatch.setattr(tasks, "send_notifications", Queue(queued.append))
    with committed() as callbacks:
        response = api("leads", {"email": "jo@example.org", "name": "Jo"})
        assert queued == []  # the transaction has committed, the callback not yet run
    assert response.status_code == 201 and len(callbacks) == 1
    note = Notification.objects.get()
    assert queued == [[note.pk]]
    assert (note.status, note.attempts) == (STATUS.PENDING, 0)


DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def test_the_default_queue_takes_the_job_in_the_requests_own_transaction(
    api, ann, settings, django_capture_on_commit_callbacks
):
    # The default queue is a table of this database: its job row is written with the notification, so one commit
    # makes both and nothing is left to run after it.
    settings.TASKS = DATABASE_QUEUE
    with django_capture_on_commit_callbacks() as callbacks:
        response = api("leads", {"email": "jo@example.org", "name": "Jo"})
    assert response.status_code == 201 and callbacks == []
    note = Notification.objects.get()
    [job] = DBTaskResult.objects.all()
    assert (job.task_path, job.args_kwargs, job.status) == (
        "leads.tasks.send_notifications",
        {"args": [[note.pk]], "kwargs": {}},
        "READY",
    )
    assert (note.status, note.attempts) == (STATUS.PENDING, 0) and mail.outbox == []


def test_a_batchs_job_is_handed_the_ids_of_exactly_its_arrival_emails(api, ann, bob, settings):
    settings.TASKS = DATABASE_QUEUE
    api("leads", {"email": "first@example.org", "name": "First"})  # an earlier run's email, not this job's
    body = api("leads/batch", {"leads": [{"email": f"l{i}@example.org", "name": f"L {i}"} for i in range(30)]})
    assert body.json()["created"] == 30
    first, batch = (
        sorted(Notification.objects.filter(run=run).values_list("id", flat=True))
        for run in AssignmentRun.objects.order_by("id")
    )
    jobs = sorted(job.args_kwargs["args"][0] for job in DBTaskResult.objects.all())
    assert len(first) == 1 and len(batch) == 30 and jobs == [first, batch]


def test_an_arrival_rolled_back_leaves_no_job_in_the_default_queue(ann, settings):
    settings.TASKS = DATABASE_QUEUE
    seen = []

    @transaction.atomic
    def arrive_then_fail():
        LeadFactory.create_batch(2)
        assign_on_arrival(lead_ids=list(Lead.objects.values_list("id", flat=True)), as_of=clock.now())
        seen.append((DBTaskResult.objects.count(), Notification.objects.count()))
        raise RuntimeError("the caller's transaction fails after the assignment")

    with pytest.raises(RuntimeError):
        arrive_then_fail()
    assert seen == [(1, 2)]
    assert DBTaskResult.objects.count() == 0 and Notification.objects.count() == 0


def test_a_default_queue_that_fails_loses_neither_the_lead_nor_its_email(api, ann, settings, monkeypatch, caplog):
    # A failing statement inside the request's transaction: the savepoint around the queueing keeps the
    # transaction usable (PostgreSQL refuses every later statement of a transaction whose statement failed).
    settings.TASKS = DATABASE_QUEUE

    def broken(ids):
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM leads_notification")

    monkeypatch.setattr(notifications, "_enqueue", broken)
    response = api("leads", {"email": "jo@example.org", "name": "Jo"})
    assert response.status_code == 201 and response.json()["agent"] == ann.email
    assert Lead.objects.get().assigned_agent == ann and DBTaskResult.objects.count() == 0
    assert Notification.objects.get().status == STATUS.PENDING and "stay pending" in caplog.text


# ---------------------------------------------------------------------------------------------------------
# Retries and claims


def pending_digest(agent) -> Notification:
    LeadFactory.create_batch(2)
    assign()  # not committed in this test's transaction: nothing is sent yet
    return Notification.objects.get(agent=agent)


def test_a_failed_email_is_tried_again_after_its_wait_and_sent_once(ann, settings):
    note = pending_digest(ann)
    settings.EMAIL_BACKEND = REFUSING
    assert notifications.send_due(ids=[note.pk]).retrying == 1
    settings.EMAIL_BACKEND = LOCMEM
    assert notifications.send_due().sent == 0  # still waiting
    with time_machine.travel(clock.now() + timedelta(seconds=notifications.BACKOFF_SECONDS), tick=False):
        assert notifications.send_due().to_dict() == {"sent": 1, "retrying": 0, "failed": 0}
        assert notifications.send_due().sent == 0
    note.refresh_from_db()
    assert (note.status, note.attempts, note.last_error) == (STATUS.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_the_waits_grow_and_the_last_try_fails_the_email_for_good(ann, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.EMAIL_BACKEND = REFUSING
    note = pending_digest(ann)
    start = clock.now()
    waits = []
    for _ in range(3):
        with time_machine.travel(start + timedelta(days=len(waits)), tick=False):
            notifications.send_due()
            note.refresh_from_db()
            waits.append(note.next_attempt_at and (note.next_attempt_at - clock.now()).total_seconds())
    assert waits == [60, 120, None]
    assert (note.status, note.attempts) == (STATUS.FAILED, 3)
    with time_machine.travel(start + timedelta(days=30), tick=False):
        assert notifications.send_due().to_dict() == {"sent": 0, "retrying": 0, "failed": 0}


def test_a_failed_email_sent_again_goes_back_to_pending_then_is_sent(ann, settings, committed):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    settings.EMAIL_BACKEND = REFUSING
    note = pending_digest(ann)
    assert notifications.send_due().failed == 1
    note.refresh_from_db()
    assert note.status == STATUS.FAILED
    settings.EMAIL_BACKEND = LOCMEM
    with committed() as callbacks:
        assert notifications.send_again(Notification.objects.all()) == [note.pk]
        note.refresh_from_db()
        assert (note.status, note.attempts) == (STATUS.PENDING, 0)
    assert len(callbacks) == 1
    note.refresh_from_db()
    assert (note.status, note.attempts) == (STATUS.SENT, 1)
    assert outbox_to() == [ann.email]


def test_two_jobs_with_the_same_ids_send_each_email_once(ann, bob):
    LeadFactory.create_batch(4)
    assign()
    ids = list(Notification.objects.values_list("id", flat=True))
    first = send_notifications.enqueue(ids)
    second = send_notifications.enqueue(ids)
    assert (first.return_value["sent"], second.return_value["sent"]) == (2, 0)
    assert outbox_to() == [ann.email, bob.email]


def test_a_row_claimed_by_a_live_job_is_left_alone_and_one_claimed_by_a_dead_job_is_taken_over(ann):
    note = pending_digest(ann)
    Notification.objects.filter(pk=note.pk).update(claimed_by="another-job", claimed_at=clock.now())
    assert notifications.send_due().sent == 0 and mail.outbox == []
    later = clock.now() + notifications.CLAIM_TIMEOUT + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert notifications.send_due().sent == 1
    note.refresh_from_db()
    assert (note.status, note.claimed_by, note.claimed_at) == (STATUS.SENT, "", None)


def test_a_claim_is_one_update_that_a_row_passes_once(ann, bob):
    LeadFactory.create_batch(4)
    assign()
    ids = list(Notification.objects.values_list("id", flat=True))
    token, rows = notifications._claim(ids, now=clock.now())
    assert len(rows) == 2 and token
    assert notifications._claim(ids, now=clock.now()) == ("", [])  # already claimed: a second job gets nothing


def test_an_unreachable_server_fails_every_email_of_the_batch_this_time(ann, bob, settings):
    settings.EMAIL_BACKEND = UNREACHABLE
    LeadFactory.create_batch(4)
    assign()
    assert notifications.send_due().retrying == 2
    assert set(Notification.objects.values_list("last_error", flat=True)) == {
        "ConnectionRefusedError: [Errno 111] Connection refused"
    }


def test_a_job_whose_emails_fail_queues_itself_for_their_next_try_when_the_backend_can_wait(ann, settings, monkeypatch):
    note = pending_digest(ann)
    settings.EMAIL_BACKEND = REFUSING
    later = []

    class Deferred:
        def __init__(self, run_after):
            self.run_after = run_after

        def enqueue(self, ids):
            later.append((self.run_after, ids))

    monkeypatch.setattr(tasks, "_can_defer", lambda: True)
    monkeypatch.setattr(tasks, "send_notifications", Queue(None, using=Deferred))
    assert send_notifications.call([note.pk]) == {"sent": 0, "retrying": 1, "failed": 0}
    assert later == [(clock.now() + timedelta(seconds=notifications.BACKOFF_SECONDS), [note.pk])]


def test_the_immediate_backend_cannot_wait_so_the_job_leaves_the_retry_to_the_command(ann, settings):
    note = pending_digest(ann)
    settings.EMAIL_BACKEND = REFUSING
    assert not tasks._can_defer()
    assert send_notifications.call([note.pk])["retrying"] == 1


# ---------------------------------------------------------------------------------------------------------
# The command


def test_send_notifications_exits_one_when_emails_failed(ann, settings):
    pending_digest(ann)
    settings.EMAIL_BACKEND = REFUSING
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("send_notifications", stdout=out)
    assert failed.value.returncode == 1
    assert out.getvalue().strip() == "Sent 0; 1 failed and will be tried again; 0 failed for the last time."


def test_send_notifications_with_nothing_due_sends_nothing():
    out = StringIO()
    call_command("send_notifications", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"sent": 0, "retrying": 0, "failed": 0}
