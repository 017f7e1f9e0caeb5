"""The notifications in the admin (seen by managers, written by nobody) and the agents' own arrival-email switch."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from agents.models import Agent
from agents.tests.factories import AgentFactory
from core import clock
from leads.assignment import assign_leads
from leads.models import Notification
from leads.tests.factories import LeadFactory
from leads.tests.roles import agent_form, make_agent_login, make_manager

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:leads_notification_changelist")
MY_LEADS = reverse("admin:my_leads")
SWITCH = reverse("admin:my_arrival_emails")
PASSWORD = "correct-horse-battery"


@pytest.fixture
def ann():
    return AgentFactory(name="Ann Agent", email="ann@sales.test")


@pytest.fixture
def digest(ann):
    LeadFactory.create_batch(3)
    run = assign_leads(seed=1, as_of=clock.now())
    return Notification.objects.get(run_id=run.run_id)


@pytest.fixture
def manager_client(client):
    client.force_login(make_manager())
    return client


def test_a_manager_sees_the_notifications_with_their_columns_and_filters(manager_client, digest):
    response = manager_client.get(CHANGELIST)
    assert response.status_code == 200
    headers = [str(h["text"]) for h in response.context["result_headers"]]
    assert [h.lower() for h in headers[1:]] == [
        "created",
        "to",
        "kind",
        "leads",
        "status",
        "attempts",
        "sent",
    ]  # after the checkbox
    assert "ann@sales.test" in response.content.decode()
    assert manager_client.get(CHANGELIST, {"status__exact": "sent"}).context["cl"].result_count == 0
    assert manager_client.get(CHANGELIST, {"kind__exact": "digest", "q": "ANN@"}).context["cl"].result_count == 1


def test_a_digest_s_page_lists_its_leads_and_links_to_their_assignments(manager_client, digest, ann):
    content = manager_client.get(reverse("admin:leads_notification_change", args=[digest.pk])).content.decode()
    for lead in ann.leads.all():
        assert reverse("admin:leads_lead_change", args=[lead.pk]) in content
        assert lead.name in content
    history = reverse("admin:leads_leadassignment_changelist")
    link = f"{history}?run__id__exact={digest.run_id}&amp;to_agent__id__exact={ann.pk}"
    assert link in content
    listed = manager_client.get(link.replace("&amp;", "&"))
    assert listed.status_code == 200 and listed.context["cl"].result_count == 3


def test_a_digest_s_page_shows_the_first_hundred_leads_only(manager_client, ann):
    LeadFactory.create_batch(105)
    digest = Notification.objects.get(run_id=assign_leads(seed=1, as_of=clock.now()).run_id)
    content = manager_client.get(reverse("admin:leads_notification_change", args=[digest.pk])).content.decode()
    assert content.count('<li><a href="/admin/leads/lead/') == 100
    assert "Showing the first 100 of 105" in content


@pytest.mark.parametrize("login", ["manager", "superuser"])
def test_nobody_can_add_change_or_delete_a_notification(client, digest, login, admin_user):
    client.force_login(make_manager() if login == "manager" else admin_user)
    change = reverse("admin:leads_notification_change", args=[digest.pk])
    assert client.get(reverse("admin:leads_notification_add")).status_code == 403
    assert client.get(reverse("admin:leads_notification_delete", args=[digest.pk])).status_code == 403
    client.post(change, {"to": "eve@evil.test", "status": "sent"})
    digest.refresh_from_db()
    assert (digest.to, digest.status) == ("ann@sales.test", "pending")
    actions = [value for value, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices]
    assert actions == ["", "send_failed_again"]  # no "delete selected"


def test_an_agent_cannot_see_the_notifications(client, ann, digest):
    client.force_login(make_agent_login(ann, "ann"))
    assert client.get(CHANGELIST).status_code == 403


def test_send_again_puts_failed_notifications_back_and_sends_them(
    manager_client, digest, django_capture_on_commit_callbacks
):
    Notification.objects.filter(pk=digest.pk).update(status="failed", attempts=5, last_error="550")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = manager_client.post(
            CHANGELIST, {"action": "send_failed_again", ACTION_CHECKBOX_NAME: [str(digest.pk)]}, follow=True
        )
    assert "1 failed notification queued to be sent again." in response.content.decode()
    digest.refresh_from_db()
    assert (digest.status, digest.attempts) == ("pending", 0)
    assert mail.outbox == []
    for callback in callbacks:  # the commit: the job runs
        callback()
    digest.refresh_from_db()
    assert (digest.status, digest.attempts) == ("sent", 1)
    assert [m.to for m in mail.outbox] == [["ann@sales.test"]]


def test_send_again_leaves_sent_notifications_alone(manager_client, digest):
    Notification.objects.filter(pk=digest.pk).update(status="sent", attempts=1)
    response = manager_client.post(
        CHANGELIST, {"action": "send_failed_again", ACTION_CHECKBOX_NAME: [str(digest.pk)]}, follow=True
    )
    assert "0 failed notifications queued to be sent again." in response.content.decode()
    digest.refresh_from_db()
    assert (digest.status, digest.attempts) == ("sent", 1)


# ---------------------------------------------------------------------------------------------------------
# The arrival-email switch


def test_a_manager_edits_an_agent_s_arrival_emails_on_its_page(manager_client, ann):
    page = manager_client.get(reverse("admin:agents_agent_change", args=[ann.pk]))
    assert "Email me each lead on arrival" in page.content.decode()
    response = manager_client.post(
        reverse("admin:agents_agent_change", args=[ann.pk]), agent_form(ann, user="", arrival_emails="")
    )
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.arrival_emails is False


def test_an_agent_turns_their_own_arrival_emails_off_and_on_from_my_leads(client, ann):
    client.force_login(make_agent_login(ann, "ann"))
    page = client.get(MY_LEADS).content.decode()
    assert 'id="id_arrival_emails" checked' in page
    response = client.post(SWITCH, {}, follow=True)
    assert response.redirect_chain == [(MY_LEADS, 302)]
    assert "no longer get an email for each lead" in response.content.decode()
    ann.refresh_from_db()
    assert ann.arrival_emails is False
    assert 'id="id_arrival_emails" checked' not in response.content.decode()
    client.post(SWITCH, {"arrival_emails": "on"})
    ann.refresh_from_db()
    assert ann.arrival_emails is True


def test_an_agent_switches_only_their_own_agent_whatever_they_post(client, ann):
    bob = AgentFactory(email="bob@sales.test")
    client.force_login(make_agent_login(ann, "ann"))
    client.post(SWITCH, {"agent": bob.pk, "id": bob.pk})
    assert dict(Agent.objects.values_list("email", "arrival_emails")) == {ann.email: False, bob.email: True}


def test_the_switch_takes_a_post_with_its_csrf_token_only(ann):
    make_agent_login(ann, "ann", password=PASSWORD)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(User.objects.get(username="ann"))
    assert browser.get(SWITCH).status_code == 405
    assert browser.post(SWITCH, {}).status_code == 403
    ann.refresh_from_db()
    assert ann.arrival_emails is True
    token = browser.get(MY_LEADS).context["csrf_token"]
    assert browser.post(SWITCH, {"csrfmiddlewaretoken": str(token)}).status_code == 302
    ann.refresh_from_db()
    assert ann.arrival_emails is False


def test_a_login_without_an_agent_has_no_switch(client):
    client.force_login(make_manager())
    assert 'id="arrival-emails"' not in client.get(reverse("admin:index")).content.decode()
    assert client.post(SWITCH, {}).status_code == 403
    assert mail.outbox == []
