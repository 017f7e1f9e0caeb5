import pytest
from django.db import DataError, IntegrityError, transaction
from django.db.models import ProtectedError

from agents.models import Agent
from agents.tests.factories import AgentFactory
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_it_stores_the_email_trimmed_and_lower_cased():
    agent = AgentFactory(email="  June.Agent@Sales.TEST ")
    agent.refresh_from_db()
    assert agent.email == "june.agent@sales.test"


def test_it_finds_an_agent_by_email_in_any_case():
    agent = AgentFactory(email="kai@sales.test")
    assert Agent.objects.get(email=" KAI@Sales.test") == agent


def test_emails_are_unique_whatever_their_case():
    AgentFactory(email="lee@sales.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentFactory(email="LEE@sales.test")


def test_capacity_cannot_be_negative():
    # MySQL's unsigned column refuses it as out of range; the others by the check constraint.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        AgentFactory(capacity=-1)


def test_deleting_an_agent_who_holds_leads_is_refused_and_keeps_the_leads():
    agent = AgentFactory()
    lead = LeadFactory(assigned_agent=agent)
    with pytest.raises(ProtectedError, match="protected"):
        agent.delete()
    lead.refresh_from_db()
    assert lead.assigned_agent == agent


def test_an_agent_without_leads_can_be_deleted():
    agent = AgentFactory()
    agent.delete()
    assert not Agent.objects.exists()


def test_active_lists_only_active_agents():
    active = AgentFactory(is_active=True)
    AgentFactory(is_active=False)
    assert list(Agent.objects.active()) == [active]


def test_the_agent_search_finds_an_email_typed_in_capitals(admin_client):
    from django.urls import reverse

    agent = Agent.objects.create(name="Ann Smith", email="ann.smith@sales.example")
    Agent.objects.create(name="Bob", email="bob@sales.example")
    response = admin_client.get(reverse("admin:agents_agent_changelist"), {"q": "ANN.Smith@Sales"})
    assert list(response.context["cl"].result_list) == [agent]
    response = admin_client.get(reverse("admin:agents_agent_changelist"), {"q": "ann SMITH"})
    assert list(response.context["cl"].result_list) == [agent]


@pytest.mark.parametrize("weight", ["0", "-0.5"])
def test_the_database_refuses_a_weight_of_zero_or_less(weight):
    agent = AgentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(weight=weight)


def test_a_new_agent_gets_a_full_share_and_the_project_s_time_zone(settings):
    agent = AgentFactory()
    agent.refresh_from_db()
    assert (str(agent.weight), agent.daily_cap, agent.time_zone, agent.working_hours) == ("1.00", None, "UTC", "")
    assert agent.hours.always


def test_two_teams_cannot_differ_only_by_case_accents_or_spaces():
    from agents.models import Team

    Team.objects.create(name="Équipe  Nord")
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(name="equipe nord")
