"""The routing rules' "Where would a lead go?" page (leads/admin/where.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from core import clock
from leads.models import Lead, RoutingRule
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager

pytestmark = pytest.mark.django_db

URL = reverse("admin:leads_routingrule_where")


@pytest.fixture
def manager_client(client):
    client.force_login(make_manager())
    return client


@pytest.fixture
def emea():
    """EMEA: busy (2 open leads, weight 1: next key 3) and half (1 open lead, weight 0.5: next key 4); France and
    Germany go there. Someone else is outside the team, with no leads."""
    team = Team.objects.create(name="EMEA")
    busy = AgentFactory(name="Busy", email="busy@x.test")
    half = AgentFactory(name="Half", email="half@x.test", weight=Decimal("0.5"))
    team.agents.add(busy, half)
    AgentFactory(name="Other", email="other@x.test")
    LeadFactory.create_batch(2, assigned_agent=busy)
    LeadFactory(assigned_agent=half)
    RoutingRule.objects.create(position=1, name="Key accounts", team=team, email_domain="acme.com")
    RoutingRule.objects.create(position=2, name="Europe", team=team, country="France|Germany")
    return team


def test_the_rules_list_links_to_the_page(manager_client):
    page = manager_client.get(reverse("admin:leads_routingrule_changelist")).content.decode()
    assert f'href="{URL}"' in page
    assert "Where would a lead go?" in page


def test_the_page_opens_with_an_empty_form_and_no_answer(manager_client, emea):
    response = manager_client.get(URL)
    assert response.status_code == 200
    assert not response.context["form"].is_bound
    assert "preview" not in response.context


def test_a_typed_lead_shows_the_rule_the_pool_and_the_agent(manager_client, emea):
    response = manager_client.get(URL, {"email": "jo@shop.fr", "country": "FRANCE", "status": "new"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.route.rule.name, preview.route.pool_label) == ("Europe", "EMEA")
    assert response.context["agent"]["email"] == "busy@x.test"
    page = response.content.decode()
    assert "rule 2 “Europe”" in page
    assert "Busy &lt;busy@x.test&gt;" in page
    rows = {row["email"]: row for row in response.context["eligible"]}
    assert set(rows) == {"busy@x.test", "half@x.test"}  # the pool is the team: not other@
    assert (rows["busy@x.test"]["load"], rows["busy@x.test"]["level"]) == (2, "3")
    assert (rows["half@x.test"]["share"], rows["half@x.test"]["level"]) == ("1/2", "4")


def test_the_first_matching_rule_decides(manager_client, emea):
    response = manager_client.get(URL, {"email": "ceo@sales.acme.com", "country": "France"})
    assert response.context["preview"].route.rule.name == "Key accounts"


def test_an_existing_lead_is_picked_by_its_email_or_its_id(manager_client, emea):
    lead = LeadFactory(email="known@acme.com", country="Spain")
    for text in (" KNOWN@acme.com ", str(lead.pk)):
        response = manager_client.get(URL, {"lead": text})
        assert response.context["lead"] == lead
        assert response.context["preview"].route.rule.name == "Key accounts"
        assert reverse("admin:leads_lead_change", args=[lead.pk]) in response.content.decode()


def test_a_lead_no_rule_matches_goes_to_the_default_pool(manager_client, emea, settings):
    settings.ROUTING_DEFAULT_TEAM = ""
    response = manager_client.get(URL, {"email": "jo@shop.es", "country": "Spain"})
    preview = response.context["preview"]
    assert preview.route.rule is None
    assert preview.route.pool_label == "every agent"
    assert response.context["agent"]["email"] == "other@x.test"  # no lead yet: next key 1
    assert "no rule matched" in response.content.decode()


def test_a_tie_names_every_agent_the_seed_chooses_from(manager_client):
    team = Team.objects.create(name="Web")
    team.agents.add(AgentFactory(name="Ann", email="ann@x.test"), AgentFactory(name="Bob", email="bob@x.test"))
    RoutingRule.objects.create(position=1, name="Web form", team=team, source="web")
    response = manager_client.get(URL, {"source": "Web"})
    assert response.context["agent"] is None
    assert [row["email"] for row in response.context["tie"]] == ["ann@x.test", "bob@x.test"]
    assert "a tie between Ann &lt;ann@x.test&gt;, Bob &lt;bob@x.test&gt;" in response.content.decode()


def test_when_nobody_is_eligible_it_says_the_lead_waits_and_until_when(manager_client):
    now = clock.now()
    team = Team.objects.create(name="Web")
    away = AgentFactory(name="Away", email="away@x.test")
    full = AgentFactory(name="Full", email="full@x.test", capacity=1)
    team.agents.add(away, full)
    LeadFactory(assigned_agent=full)
    Absence.objects.create(agent=away, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=2), reason="Flu")
    RoutingRule.objects.create(position=1, name="Web form", team=team, source="web")
    response = manager_client.get(URL, {"source": "web"})
    preview = response.context["preview"]
    assert preview.chosen == [] and response.context["agent"] is None
    assert preview.pool.next_available == now + timedelta(days=2)
    page = response.content.decode()
    assert "nobody now: it would wait" in page
    assert (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M") in page
    reasons = {row["email"]: (row["reason"], row.get("absence")) for row in response.context["skipped"]}
    assert reasons == {"away@x.test": ("absent", "Flu"), "full@x.test": ("at capacity", None)}


def test_the_class_the_rules_read_comes_from_the_typed_creation_date(manager_client):
    team = Team.objects.create(name="Stale desk")
    team.agents.add(AgentFactory(email="slow@x.test"))
    RoutingRule.objects.create(position=1, name="Old leads", team=team, classification="stale")
    old = (clock.now() - timedelta(days=400)).strftime("%Y-%m-%d %H:%M")
    assert manager_client.get(URL, {"created_at": old}).context["preview"].route.rule.name == "Old leads"
    assert manager_client.get(URL, {"created_at": ""}).context["preview"].route.rule is None


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "won"}, "status", "Select a valid choice"),
        ({"created_at": "yesterday"}, "created_at", "Enter a valid date/time"),
        ({"email": "not an email"}, "email", "Enter a valid email address"),
        ({"lead": "nobody@x.test"}, "lead", "No lead has the id or email 'nobody@x.test'"),
        ({"lead": "99999999999999999999999"}, "lead", "No lead has the id or email"),
    ],
)
def test_bad_values_are_shown_on_the_form(manager_client, emea, query, field, message):
    response = manager_client.get(URL, query)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert "preview" not in response.context
    assert message in response.content.decode().replace("&#x27;", "'")


def test_picking_a_lead_and_typing_values_at_once_is_refused(manager_client, emea):
    lead = LeadFactory()
    response = manager_client.get(URL, {"lead": str(lead.pk), "country": "France"})
    assert "not both (typed: country)" in " ".join(response.context["form"].non_field_errors())
    assert "preview" not in response.context


def test_a_default_team_that_does_not_exist_is_said_not_raised(manager_client, settings):
    settings.ROUTING_DEFAULT_TEAM = "Nowhere"
    response = manager_client.get(URL, {"country": "Spain"})
    assert response.status_code == 200
    assert "ROUTING_DEFAULT_TEAM is 'Nowhere'" in response.context["routing_error"]


def test_the_page_reads_but_never_assigns(manager_client, emea):
    before = list(Lead.objects.order_by("pk").values_list("pk", "assigned_agent_id"))
    manager_client.get(URL, {"country": "France"})
    assert list(Lead.objects.order_by("pk").values_list("pk", "assigned_agent_id")) == before
    assert Lead.objects.count() == 3


def test_an_agent_login_may_not_open_it(client, emea):
    client.force_login(make_agent_login(AgentFactory(email="rep@x.test")))
    assert client.get(URL, {"country": "France"}).status_code == 403


def test_a_staff_login_with_only_the_view_permission_on_rules_may_open_it(client, emea):
    from django.contrib.auth.models import Permission

    from leads.tests.roles import make_user

    user = make_user("reader")
    user.user_permissions.add(Permission.objects.get(codename="view_routingrule"))
    client.force_login(user)
    assert client.get(URL, {"country": "France"}).context["agent"]["email"] == "busy@x.test"
    user.user_permissions.clear()
    client.force_login(type(user).objects.get(pk=user.pk))
    assert client.get(URL).status_code == 403
