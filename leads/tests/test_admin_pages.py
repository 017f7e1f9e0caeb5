import pytest
from django.urls import reverse

from agents.tests.factories import AgentFactory
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:leads_lead_changelist",
        "admin:leads_lead_add",
        "admin:agents_agent_changelist",
        "admin:agents_agent_add",
        "admin:leads_assignmentrun_changelist",
        "admin:leads_leadassignment_changelist",
        "admin:leads_verificationrun_changelist",
    ],
)
def test_admin_pages_open_for_a_superuser(admin_client, url_name):
    LeadFactory(assigned_agent=AgentFactory())
    response = admin_client.get(reverse(url_name))
    assert response.status_code == 200


def test_the_lead_changelist_searches_names_without_accents(admin_client):
    LeadFactory(name="José Müller")
    LeadFactory(name="Ada Lovelace")
    response = admin_client.get(reverse("admin:leads_lead_changelist"), {"q": "jose muller"})
    assert b"Jos\xc3\xa9 M\xc3\xbcller" in response.content
    assert b"Ada Lovelace" not in response.content


def test_deleting_an_agent_with_leads_in_the_admin_explains_why_not(admin_client):
    agent = AgentFactory(name="Held Agent")
    LeadFactory(assigned_agent=agent)
    response = admin_client.post(reverse("admin:agents_agent_delete", args=[agent.pk]), {"post": "yes"})
    assert response.status_code == 200
    assert b"would require deleting the following protected related objects" in response.content
    assert agent.__class__.objects.filter(pk=agent.pk).exists()
