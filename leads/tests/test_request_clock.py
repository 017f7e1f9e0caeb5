"""One admin request, one moment: every page reads the clock once and every part of it uses that value."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from agents.models import Agent
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from core import clock
from leads.models import AssignmentRun, VerificationRun
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    """The moments core.clock.now() gave, in order; the clock keeps running, so each read gives a later one."""
    seen = []
    real_now = clock.now

    def now():
        seen.append(real_now())
        return seen[-1]

    monkeypatch.setattr(clock, "now", now)
    with time_machine.travel(FROZEN_AT, tick=True):
        yield seen


@pytest.fixture
def lead():
    ann = AgentFactory(name="Ann Agent")
    make_agent_login(ann, "ann")
    return LeadFactory(name="Ada", assigned_agent=ann, created_at=FROZEN_AT - timedelta(days=7))


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:leads_lead_changelist") + "?lead_class=urgent",
        "lead change page",
        reverse("admin:agents_agent_changelist"),
        reverse("admin:lead_overview"),
    ],
)
def test_a_manager_s_page_reads_the_clock_once(client, lead, reads, url):
    client.force_login(make_manager())
    if url == "lead change page":
        url = reverse("admin:leads_lead_change", args=[lead.pk])
    reads.clear()
    assert client.get(url).status_code == 200
    assert len(reads) == 1


def test_my_leads_reads_the_clock_once(client, lead, reads):
    client.force_login(User.objects.get(username="ann"))
    reads.clear()
    response = client.get(reverse("admin:my_leads"))
    assert [row["lead"] for row in response.context["rows"]] == [lead]
    assert len(reads) == 1


def test_the_verify_button_checks_and_records_at_the_request_s_moment(client, lead, reads):
    manager = make_manager()
    manager.is_superuser = True
    manager.save()
    client.force_login(manager)
    reads.clear()
    assert client.post(reverse("admin:lead_overview_verify")).status_code == 302
    assert len(reads) == 1
    assert VerificationRun.objects.get().checked_at == reads[0]


def test_deactivating_agents_stamps_them_with_the_request_s_moment(client, lead, reads):
    client.force_login(make_manager())
    reads.clear()
    response = client.post(
        reverse("admin:agents_agent_changelist"),
        {"action": "deactivate", "_selected_action": [lead.assigned_agent_id]},
    )
    assert response.status_code == 302
    assert len(reads) == 1
    assert Agent.objects.get().updated_at == reads[0]


def test_assign_evenly_classifies_at_the_request_s_moment(client, lead, reads):
    lead.assigned_agent = None
    lead.save()
    client.force_login(make_manager())
    reads.clear()
    response = client.post(
        reverse("admin:leads_lead_changelist"), {"action": "assign_evenly", "_selected_action": [lead.pk]}
    )
    assert response.status_code == 302
    run = AssignmentRun.objects.get()
    assert (run.assigned, run.flags["as_of"]) == (1, reads[0].isoformat())
    assert run.started_at >= reads[0]  # the run's own record of when it ran
