"""Notification emails in a real browser: an agent switches their arrival emails on My leads, and a manager reads
the notifications in the admin. Leads arrive through the live server's API; its jobs run in the server
(TASKS_BACKEND=immediate) after each request commits, into Django's locmem outbox."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from agents.models import Agent
from agents.tests.factories import AgentFactory
from leads.models import ApiKey, Notification
from leads.tests.roles import make_agent_login, make_manager
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post_lead(page, key: str, email: str) -> dict:
    response = page.request.post(
        "/api/v1/leads", data={"email": email, "name": email.split("@")[0]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 201, response.text()
    return response.json()


def test_an_agent_turns_arrival_emails_off_and_on_from_my_leads(page):
    ann = AgentFactory(name="Ann Agent", email="ann@sales.test")
    make_agent_login(ann, "ann", password=PASSWORD)
    _, key = ApiKey.issue(name="Web form")

    log_in(page, "ann")
    box = page.locator("#id_arrival_emails")
    expect(box).to_be_checked()
    box.uncheck()
    page.click("#arrival-emails input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("no longer get an email for each lead")
    expect(page.locator("#id_arrival_emails")).not_to_be_checked()
    assert Agent.objects.get(pk=ann.pk).arrival_emails is False

    assert post_lead(page, key, "quiet@example.org")["agent"] == ann.email
    assert mail.outbox == []

    page.locator("#id_arrival_emails").check()
    page.click("#arrival-emails input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("You will get an email for each lead")
    post_lead(page, key, "loud@example.org")
    assert [(m.to, m.subject) for m in mail.outbox] == [(["ann@sales.test"], "New lead: loud")]


def test_a_manager_reads_the_sent_emails_in_the_admin(page):
    AgentFactory(name="Ann Agent", email="ann@sales.test")
    make_manager(password=PASSWORD)
    _, key = ApiKey.issue(name="Web form")
    lead = post_lead(page, key, "jo@example.org")

    log_in(page, "manager")
    page.goto("/admin/")
    page.click("text=Notifications")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ann@sales.test")
    expect(rows.first.locator(".field-status")).to_have_text("Sent")
    rows.first.locator("a").first.click()
    expect(page.locator(".field-subject")).to_contain_text("New lead: jo")
    page.locator(".field-leads a").click()
    expect(page).to_have_url(f"{page.url.split('/admin/')[0]}/admin/leads/lead/{lead['id']}/change/")
    assert Notification.objects.get().status == "sent"


def test_a_manager_sends_a_failed_email_again_from_the_list(page, settings):
    AgentFactory(name="Ann Agent", email="ann@sales.test")
    make_manager(password=PASSWORD)
    _, key = ApiKey.issue(name="Web form")
    settings.EMAIL_BACKEND = "leads.tests.mail.RefusingBackend"
    settings.NOTIFY_MAX_ATTEMPTS = 1
    post_lead(page, key, "jo@example.org")
    failed = Notification.objects.get()
    assert failed.status == "failed" and mail.outbox == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back

    log_in(page, "manager")
    page.goto("/admin/leads/notification/")
    page.check(f"input[name=_selected_action][value='{failed.pk}']")
    page.select_option("select[name=action]", "send_failed_again")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("1 failed notification queued to be sent again.")
    expect(page.locator("#result_list tbody tr").first.locator(".field-status")).to_have_text("Sent")
    assert [(m.to, m.subject) for m in mail.outbox] == [(["ann@sales.test"], "New lead: jo")]
    assert Notification.objects.get().status == "sent"
