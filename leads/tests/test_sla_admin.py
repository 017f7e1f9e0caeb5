"""The admin of holidays and SLA policies: open and editable for a manager, closed to an agent."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Holiday, Team
from agents.tests.factories import AgentFactory
from core import clock
from leads.models import SlaPolicy
from leads.tests.roles import make_agent_login, make_manager

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:agents_holiday_changelist",
    "admin:agents_holiday_add",
    "admin:leads_slapolicy_changelist",
    "admin:leads_slapolicy_add",
]


@pytest.fixture
def emea():
    return Team.objects.create(name="EMEA")


@pytest.fixture
def data(emea):
    today = clock.now().date()
    Holiday.objects.create(date=today, name="Founders' day")
    Holiday.objects.create(date=date(today.year + 1, 1, 2), name="EMEA new year", team=emea)
    return SlaPolicy.objects.create(first_touch_hours=4), SlaPolicy.objects.create(team=emea, first_touch_hours=2)


@pytest.mark.parametrize("name", PAGES)
def test_the_sla_pages_open_for_a_manager(client, data, name):
    client.force_login(make_manager())
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_an_agent_cannot_open_the_sla_pages(client, data, name):
    client.force_login(make_agent_login(AgentFactory(email="ann@sales.test")))
    assert client.get(reverse(name)).status_code == 403


def test_an_agent_cannot_change_a_policy(client, data):
    default, _ = data
    client.force_login(make_agent_login(AgentFactory(email="ann@sales.test")))
    response = client.post(reverse("admin:leads_slapolicy_change", args=[default.pk]), {"first_touch_hours": "1"})
    assert response.status_code == 403
    default.refresh_from_db()
    assert default.first_touch_hours == Decimal("4.00")


def test_the_policy_list_shows_every_step_default_first(client, data):
    client.force_login(make_manager())
    response = client.get(reverse("admin:leads_slapolicy_changelist"))
    rows = response.context["cl"].result_list
    assert [p.team_id for p in rows] == [None, data[1].team_id]
    text = response.content.decode()
    for header in ("First touch (hours)", "Remind at (hours)", "Escalate after (hours)", "Reassign after (hours)"):
        assert header in text
    assert "Default (every pool without its own)" in text
    form = client.get(reverse("admin:leads_slapolicy_add")).content.decode()
    assert '<option value="" selected>Default (no team)</option>' in form


def test_a_manager_edits_a_policy_and_a_reminder_after_the_deadline_is_refused(client, data, emea):
    _, mine = data
    client.force_login(make_manager())
    url = reverse("admin:leads_slapolicy_change", args=[mine.pk])
    form = {"team": emea.pk, "first_touch_hours": "4", "remind_at_hours": "5", "max_reassignments": "2"}
    response = client.post(url, form)
    assert response.status_code == 200
    assert "5 is after the first touch deadline (4)" in str(response.context["adminform"].form.errors)
    response = client.post(url, {**form, "remind_at_hours": "3", "reassign_after_hours": "8"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.first_touch_hours, mine.remind_at_hours, mine.reassign_after_hours) == (4, 3, 8)
    assert mine.max_reassignments == 2


def test_a_second_default_policy_is_refused_on_the_form(client, data):
    client.force_login(make_manager())
    response = client.post(reverse("admin:leads_slapolicy_add"), {"first_touch_hours": "8"})
    assert response.status_code == 200
    assert "already a policy for this team" in str(response.context["adminform"].form.errors)
    assert SlaPolicy.objects.count() == 2


def test_the_holiday_list_filters_by_team_and_year(client, data, emea):
    client.force_login(make_manager())
    url = reverse("admin:agents_holiday_changelist")
    year = clock.now().year

    def names(query):
        return [h.name for h in client.get(url, query).context["cl"].result_list]

    assert names({}) == ["EMEA new year", "Founders' day"]
    assert names({"team": "everyone"}) == ["Founders' day"]
    assert names({"team": str(emea.pk)}) == ["EMEA new year"]
    assert names({"year": str(year + 1)}) == ["EMEA new year"]
    assert names({"date__year": str(year)}) == ["Founders' day"]
    assert "Everyone" in client.get(url).content.decode()


def test_a_manager_adds_a_holiday_and_the_same_day_again_is_refused(client, emea):
    client.force_login(make_manager())
    url = reverse("admin:agents_holiday_add")
    day = clock.now().date().isoformat()
    assert client.post(url, {"date": day, "name": "Founders' day"}).status_code == 302
    assert client.post(url, {"date": day, "name": "EMEA day", "team": emea.pk}).status_code == 302
    response = client.post(url, {"date": day, "name": "Again"})
    assert response.status_code == 200
    assert "already a holiday for this team (or for everyone)" in str(response.context["adminform"].form.errors)
    assert Holiday.objects.count() == 2


def test_reversing_the_sla_permissions_takes_only_them_from_sales_managers(client, data):
    from django.apps import apps
    from django.contrib.auth.models import Group

    from agents.roles import SALES_MANAGERS
    from leads.tests.roles import sla_permissions_migration

    manager = make_manager()

    def codenames():
        return set(Group.objects.get(name=SALES_MANAGERS).permissions.values_list("codename", flat=True))

    sla_permissions_migration.revoke(apps, None)
    assert not {c for c in codenames() if "holiday" in c or "slapolicy" in c}
    assert "change_routingrule" in codenames()
    client.force_login(manager)
    assert client.get(reverse("admin:leads_slapolicy_changelist")).status_code == 403
    sla_permissions_migration.grant(apps, None)
    sla_permissions_migration.grant(apps, None)
    assert {"view_holiday", "delete_holiday", "change_slapolicy", "add_slapolicy"} <= codenames()
