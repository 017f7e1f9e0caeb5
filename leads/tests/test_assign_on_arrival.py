"""Assignment on arrival: the water-filling of assign_leads for the leads that just arrived, audited per lead."""

from datetime import timedelta

import pytest
from django.db import IntegrityError

from agents.tests.factories import AgentFactory
from core import clock
from leads import intake
from leads.assignment import assign_on_arrival
from leads.models import AssignmentRun, Lead, LeadAssignment, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_it_fills_the_lowest_loads_within_capacity_and_skips_inactive_agents():
    full = AgentFactory(capacity=1)
    low = AgentFactory()
    AgentFactory(is_active=False)
    LeadFactory(assigned_agent=full)
    LeadFactory.create_batch(2, assigned_agent=low)
    arrivals = LeadFactory.create_batch(3)
    result = assign_on_arrival(lead_ids=[lead.pk for lead in arrivals], as_of=clock.now())
    assert (result.assigned, result.unassigned_left) == (3, 0)
    assert set(Lead.objects.filter(pk__in=[a.pk for a in arrivals]).values_list("assigned_agent", flat=True)) == {
        low.pk
    }
    run = AssignmentRun.objects.get()
    assert (run.source, run.action, run.assigned) == ("api", "assign-on-arrival", 3)
    assert list(LeadAssignment.objects.values_list("reason", flat=True)) == ["assigned-on-arrival"] * 3


def test_it_never_moves_a_lead_that_has_an_agent_or_is_closed():
    ann = AgentFactory()
    AgentFactory()
    held = LeadFactory(assigned_agent=ann)
    closed = LeadFactory(status=LeadStatus.LOST)
    result = assign_on_arrival(lead_ids=[held.pk, closed.pk], as_of=clock.now())
    assert result.assigned == 0
    assert not AssignmentRun.objects.exists()
    assert Lead.objects.get(pk=held.pk).assigned_agent == ann
    assert Lead.objects.get(pk=closed.pk).assigned_agent is None


def test_when_room_is_short_the_most_urgent_arrivals_are_placed():
    AgentFactory(capacity=1)
    fresh = LeadFactory(created_at=clock.now() - timedelta(days=1))
    urgent = LeadFactory(created_at=clock.now() - timedelta(days=10))
    result = assign_on_arrival(lead_ids=[fresh.pk, urgent.pk], as_of=clock.now())
    assert (result.assigned, result.unassigned_left) == (1, 1)
    assert Lead.objects.get(pk=urgent.pk).assigned_agent is not None
    assert Lead.objects.get(pk=fresh.pk).assigned_agent is None


def test_without_an_active_agent_the_arrivals_stay_unassigned():
    lead = LeadFactory()
    result = assign_on_arrival(lead_ids=[lead.pk], as_of=clock.now())
    assert (result.assigned, result.unassigned_left) == (0, 1)
    assert not LeadAssignment.objects.exists()


def test_a_request_whose_insert_meets_a_lead_created_meanwhile_is_run_again(monkeypatch):
    real, calls = intake._save, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # as if its INSERT had met the lead committed by another writer
            raise IntegrityError("UNIQUE constraint failed: leads_lead.email")
        return real(*args, **kwargs)

    LeadFactory(email="jo@example.org", name="Created meanwhile")

    monkeypatch.setattr(intake, "_save", racing)
    result = intake.intake_leads(leads=[{"email": "jo@example.org", "name": "Jo"}], as_of=clock.now())
    assert len(calls) == 2
    assert [o.result for o in result.outcomes] == ["updated"]
    assert Lead.objects.get().name == "Jo"
