"""Landing pages, the Workspace navigation, My leads, and the friendly 403/404 pages."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from agents.tests.factories import AgentFactory
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
OVERVIEW = "/admin/lead-overview/"
MY_LEADS = "/admin/my-leads/"


def days_ago(n):
    return timezone.now() - timedelta(days=n)


def log_in(client, username, next_url="/admin/"):
    return client.post(f"/admin/login/?next={next_url}", {"username": username, "password": PASSWORD, "next": next_url})


@pytest.fixture
def ann():
    agent = AgentFactory(name="Ann Agent")
    make_agent_login(agent, "ann", password=PASSWORD)
    return agent


def test_a_manager_lands_on_the_lead_overview_after_logging_in(client):
    make_manager(password=PASSWORD)
    response = log_in(client, "manager")
    assert (response.status_code, response.url) == (302, OVERVIEW)


def test_a_superuser_lands_on_the_lead_overview_after_logging_in(client):
    make_user("root", superuser=True, password=PASSWORD)
    assert log_in(client, "root").url == OVERVIEW


def test_an_agent_lands_on_my_leads_after_logging_in(client, ann):
    assert log_in(client, "ann").url == MY_LEADS


def test_a_page_asked_for_before_logging_in_is_kept(client):
    make_manager(password=PASSWORD)
    assert log_in(client, "manager", "/admin/agents/agent/").url == "/admin/agents/agent/"


def test_the_index_and_the_sidebar_start_with_the_workspace(client):
    make_manager(password=PASSWORD)
    client.force_login(User.objects.get(username="manager"))
    index = client.get("/admin/")
    assert index.context["app_list"][0]["name"] == "Workspace"
    assert [m["admin_url"] for m in index.context["app_list"][0]["models"]] == [OVERVIEW]
    assert index.context["app_list"][1:]  # the apps are still listed below
    sidebar = client.get("/admin/leads/lead/").context["available_apps"]
    assert sidebar[0]["models"][0]["name"] == "Lead overview"


def test_an_agent_s_workspace_is_my_leads_only(client, ann):
    client.force_login(User.objects.get(username="ann"))
    workspace = client.get("/admin/").context["app_list"][0]
    assert [m["name"] for m in workspace["models"]] == ["My leads"]


def test_my_leads_lists_the_agent_s_open_leads_most_urgent_first(client, ann):
    stale = LeadFactory(name="Stale", assigned_agent=ann, created_at=days_ago(40))
    fresh = LeadFactory(name="Fresh", assigned_agent=ann, created_at=days_ago(2))
    active = LeadFactory(name="Active", assigned_agent=ann, status=LeadStatus.CONTACTED, created_at=days_ago(10))
    urgent_newer = LeadFactory(name="Urgent newer", assigned_agent=ann, created_at=days_ago(9))
    urgent_older = LeadFactory(name="Urgent older", assigned_agent=ann, created_at=days_ago(20))
    LeadFactory(name="Closed", assigned_agent=ann, status=LeadStatus.CONVERTED)
    LeadFactory(name="Someone else's", assigned_agent=AgentFactory(), created_at=days_ago(20))
    client.force_login(User.objects.get(username="ann"))
    response = client.get(MY_LEADS)
    rows = response.context["rows"]
    assert [r["lead"] for r in rows] == [urgent_older, urgent_newer, fresh, active, stale]
    first = rows[0]
    assert first["reason"] == "new, 20 days old: not worked after 7 days -> urgent; becomes stale on 2026-12-04"
    content = response.content.decode()
    assert 'class="lead-class lead-class-urgent"' in content
    assert "stale on 2026-12-04" in content
    assert f'href="{reverse("admin:leads_lead_change", args=[urgent_older.pk])}"' in content
    assert "Someone else" not in content and "Closed" not in content


def test_my_leads_is_not_for_a_manager_without_leads(client):
    make_manager(password=PASSWORD)
    client.force_login(User.objects.get(username="manager"))
    assert client.get(MY_LEADS).status_code == 403


def test_the_overview_writes_numbers_with_thousands_separators(client):
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(name=f"Lead {i}", email=f"l{i}@example.org", created_at=now - timedelta(days=40)) for i in range(1234)
    )
    make_manager(password=PASSWORD)
    client.force_login(User.objects.get(username="manager"))
    content = client.get(OVERVIEW).content.decode()
    assert '<span class="n" id="total-leads">1,234</span>' in content
    assert '<a class="n" id="unassigned-open" href="/admin/leads/lead/?agent=none">1,234</a>' in content


@pytest.fixture
def debug_off(settings):
    settings.DEBUG = False


def test_another_agent_s_lead_answers_the_friendly_404(client, ann, debug_off):
    theirs = LeadFactory(assigned_agent=AgentFactory())
    client.force_login(User.objects.get(username="ann"))
    response = client.get(reverse("admin:leads_lead_change", args=[theirs.pk]))
    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content and "Lead management" in content  # the admin's header
    assert "nothing that your login may see" in content
    assert "Traceback" not in content and "URLconf" not in content


def test_a_forbidden_admin_page_answers_the_friendly_403(client, ann, debug_off):
    client.force_login(User.objects.get(username="ann"))
    response = client.get("/admin/lead-overview/")
    assert response.status_code == 403
    content = response.content.decode()
    assert "You may not open this page" in content and "Lead management" in content
    assert "does not give access" in content
    assert "Traceback" not in content and "CSRF" not in content


def test_an_unknown_address_answers_the_friendly_404(client, debug_off):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
