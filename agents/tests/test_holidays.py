"""Holidays: one per day and team (or for everyone), and each agent's holiday dates over a range in one query."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, Holiday, Team
from agents.tests.factories import AgentFactory
from core import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def today() -> date:
    return clock.now().date()


@pytest.fixture
def teams():
    return Team.objects.create(name="EMEA"), Team.objects.create(name="Americas")


def test_a_day_is_a_holiday_once_per_team_and_once_for_everyone(teams, today):
    emea, americas = teams
    Holiday.objects.create(date=today, name="Founders' day")
    Holiday.objects.create(date=today, name="EMEA day", team=emea)
    Holiday.objects.create(date=today, name="Americas day", team=americas)
    for team in (None, emea):
        with pytest.raises(IntegrityError), transaction.atomic():
            Holiday.objects.create(date=today, name="again", team=team)
    assert Holiday.objects.count() == 3


def test_the_form_check_names_the_clash_for_everyone_too(teams, today):
    Holiday.objects.create(date=today, name="Founders' day")
    with pytest.raises(ValidationError, match="already a holiday for this team"):
        Holiday(date=today, name="again").full_clean()
    Holiday(date=today, name="EMEA day", team=teams[0]).full_clean()


def test_each_agent_gets_its_teams_and_everyones_holidays_in_one_query(teams, today):
    emea, americas = teams
    ana, carl, both, loner = AgentFactory(), AgentFactory(), AgentFactory(), AgentFactory()
    ana.teams.add(emea)
    carl.teams.add(americas)
    both.teams.add(emea, americas)
    new_year = today + timedelta(days=10)
    Holiday.objects.create(date=new_year, name="New year")
    Holiday.objects.create(date=today + timedelta(days=3), name="EMEA day", team=emea)
    Holiday.objects.create(date=today + timedelta(days=5), name="Americas day", team=americas)
    Holiday.objects.create(date=today + timedelta(days=10), name="Americas new year", team=americas)
    Holiday.objects.create(date=today + timedelta(days=40), name="Too late", team=emea)
    Holiday.objects.create(date=today - timedelta(days=1), name="Too early")

    with CaptureQueriesContext(connection) as queries:
        dates = Agent.objects.holiday_dates(today, today + timedelta(days=10))
    assert len(queries) == 1
    assert dates == {
        ana.pk: frozenset({today + timedelta(days=3), new_year}),
        carl.pk: frozenset({today + timedelta(days=5), new_year}),
        both.pk: frozenset({today + timedelta(days=3), today + timedelta(days=5), new_year}),
        loner.pk: frozenset({new_year}),
    }


def test_the_range_includes_both_ends_and_an_agent_without_holidays_gets_an_empty_set(teams, today):
    ana, loner = AgentFactory(), AgentFactory()
    ana.teams.add(teams[0])
    Holiday.objects.create(date=today, name="First", team=teams[0])
    Holiday.objects.create(date=today + timedelta(days=1), name="Last", team=teams[0])
    dates = Agent.objects.holiday_dates(today, today + timedelta(days=1))
    assert dates == {ana.pk: frozenset({today, today + timedelta(days=1)}), loner.pk: frozenset()}
    assert Agent.objects.holiday_dates(today + timedelta(days=2), today + timedelta(days=9))[ana.pk] == frozenset()


def test_only_the_agents_of_the_queryset_are_answered_for(teams, today):
    ana, bob = AgentFactory(), AgentFactory()
    ana.teams.add(teams[0])
    bob.teams.add(teams[0])
    Holiday.objects.create(date=today, name="EMEA day", team=teams[0])
    assert Agent.objects.filter(pk=ana.pk).holiday_dates(today, today) == {ana.pk: frozenset({today})}
    assert Agent.objects.none().holiday_dates(today, today) == {}
