"""The admin of teams, absences and routing rules, and the agent form's routing fields."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from leads.models import RoutingRule
from leads.tests.roles import agent_form, make_manager

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "admin:agents_team_changelist",
        "admin:agents_team_add",
        "admin:agents_absence_changelist",
        "admin:agents_absence_add",
        "admin:leads_routingrule_changelist",
        "admin:leads_routingrule_add",
    ],
)
def test_the_routing_pages_open_for_a_manager(client, name):
    team = Team.objects.create(name="EMEA")
    team.agents.add(AgentFactory())
    RoutingRule.objects.create(position=1, name="France", team=team, country="France")
    client.force_login(make_manager())
    assert client.get(reverse(name)).status_code == 200


def test_the_team_list_counts_members(admin_client):
    team = Team.objects.create(name="EMEA")
    team.agents.add(*AgentFactory.create_batch(3))
    response = admin_client.get(reverse("admin:agents_team_changelist"))
    assert response.context["cl"].result_list[0]._members == 3


def test_a_team_name_differing_only_by_case_or_accents_is_refused(admin_client):
    Team.objects.create(name="Équipe")
    response = admin_client.post(reverse("admin:agents_team_add"), {"name": "EQUIPE"})
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)
    assert Team.objects.count() == 1


def test_a_manager_saves_routing_fields_and_an_absence_on_the_agent_form(client):
    agent = AgentFactory()
    team = Team.objects.create(name="EMEA")
    client.force_login(make_manager())
    form = agent_form(
        agent,
        weight="0.5",
        daily_cap="20",
        time_zone="Europe/Paris",
        working_hours="Mon-Fri 09:00-17:30",
        teams=[team.pk],
        **{
            "absences-TOTAL_FORMS": "1",
            "absences-0-starts_at_0": "2026-12-24",
            "absences-0-starts_at_1": "00:00",
            "absences-0-ends_at_0": "2027-01-02",
            "absences-0-ends_at_1": "00:00",
            "absences-0-reason": "Holiday",
        },
    )
    response = client.post(reverse("admin:agents_agent_change", args=[agent.pk]), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert (agent.weight, agent.daily_cap, agent.time_zone) == (Decimal("0.50"), 20, "Europe/Paris")
    assert list(agent.teams.all()) == [team]
    absence = Absence.objects.get()
    assert (absence.starts_at, absence.reason) == (datetime(2026, 12, 24, tzinfo=UTC), "Holiday")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"weight": "0"}, "weight", "Must be more than 0"),
        ({"time_zone": "Mars/Base"}, "time_zone", "is not an IANA time zone"),
        ({"working_hours": "Mon 9-17"}, "working_hours", "'9' is not a time HH:MM"),
    ],
)
def test_the_agent_form_refuses_bad_routing_values(admin_client, changes, field, message):
    agent = AgentFactory()
    response = admin_client.post(reverse("admin:agents_agent_change", args=[agent.pk]), agent_form(agent, **changes))
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])


def test_an_absence_ending_before_it_starts_is_refused_on_the_form(admin_client):
    agent = AgentFactory()
    response = admin_client.post(
        reverse("admin:agents_absence_add"),
        {
            "agent": agent.pk,
            "starts_at_0": "2026-12-24",
            "starts_at_1": "00:00",
            "ends_at_0": "2026-12-23",
            "ends_at_1": "00:00",
        },
    )
    assert response.status_code == 200
    assert "Must be after the start." in str(response.context["adminform"].form.errors)
    assert not Absence.objects.exists()


def test_a_rule_is_edited_and_its_classes_checked(admin_client):
    team = Team.objects.create(name="EMEA")
    rule = RoutingRule.objects.create(position=1, name="France", team=team)
    url = reverse("admin:leads_routingrule_change", args=[rule.pk])
    form = {"position": "2", "name": "France", "team": team.pk, "country": "France|Belgique", "classification": "hot"}
    response = admin_client.post(url, form)
    assert "'hot' is not a lead class" in " ".join(response.context["adminform"].form.errors["classification"])
    response = admin_client.post(url, {**form, "classification": "Fresh | urgent"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.position, rule.country, rule.classification) == (2, "France|Belgique", "fresh|urgent")


def test_the_agent_list_shows_each_agent_s_weight_and_daily_cap(admin_client):
    AgentFactory(name="Half", weight=Decimal("0.50"), daily_cap=20)
    AgentFactory(name="Full")
    page = admin_client.get(reverse("admin:agents_agent_changelist")).content.decode()
    assert "0.5 · 20/day" in page
    assert ">1<" in page


@pytest.mark.parametrize(("when", "expected"), [("now", ["away"]), ("upcoming", ["later"]), ("past", ["back"])])
def test_the_absence_list_filters_who_is_away_now_coming_up_or_back(admin_client, when, expected):
    from datetime import timedelta

    from conftest import FROZEN_AT

    agent = AgentFactory()
    for reason, start, end in [("away", -1, 1), ("later", 2, 3), ("back", -3, 0)]:
        Absence.objects.create(
            agent=agent,
            reason=reason,
            starts_at=FROZEN_AT + timedelta(days=start),
            ends_at=FROZEN_AT + timedelta(days=end),
        )
    response = admin_client.get(reverse("admin:agents_absence_changelist"), {"when": when})
    assert [a.reason for a in response.context["cl"].result_list] == expected
