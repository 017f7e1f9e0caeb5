"""SLA policies: one default and one per team, values checked, and which policy a pool has."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from agents.models import Team
from leads.models import SlaPolicy
from leads.sla_policies import SlaPolicySet

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    return Team.objects.create(name="EMEA"), Team.objects.create(name="Americas")


def test_there_is_at_most_one_default_policy_and_one_per_team(teams):
    SlaPolicy.objects.create(first_touch_hours=4)
    SlaPolicy.objects.create(team=teams[0], first_touch_hours=2)
    SlaPolicy.objects.create(team=teams[1])
    for team in (None, teams[0]):
        with pytest.raises(IntegrityError), transaction.atomic():
            SlaPolicy.objects.create(team=team, first_touch_hours=8)
    assert SlaPolicy.objects.count() == 3


def test_the_form_check_refuses_a_second_default_policy():
    SlaPolicy.objects.create(first_touch_hours=4)
    with pytest.raises(ValidationError, match="already a policy for this team"):
        SlaPolicy(first_touch_hours=8).full_clean()


@pytest.mark.parametrize("field", SlaPolicy.HOURS + SlaPolicy.COUNTS)
def test_the_database_refuses_zero_for_any_step(field):
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaPolicy.objects.create(**{field: 0})
    SlaPolicy.objects.create(**{field: 1})


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"first_touch_hours": "-1"}, "first_touch_hours", "Must be more than 0 hours"),
        ({"max_reassignments": 0}, "max_reassignments", "Must be a whole number from 1"),
        ({"recycle_stale_after_days": 0}, "recycle_stale_after_days", "Must be a whole number from 1"),
        ({"first_touch_hours": "4", "remind_at_hours": "5"}, "remind_at_hours", "5 is after the first touch deadline"),
        ({"first_touch_hours": "4", "escalate_after_hours": "3"}, "escalate_after_hours", "3 is before the first"),
        ({"first_touch_hours": "4", "reassign_after_hours": "2"}, "reassign_after_hours", "2 is before the first"),
        ({"remind_at_hours": "6", "escalate_after_hours": "5"}, "escalate_after_hours", "before the reminder (6)"),
        ({"remind_at_hours": "6", "reassign_after_hours": "5"}, "reassign_after_hours", "before the reminder (6)"),
    ],
)
def test_steps_in_an_order_that_makes_no_sense_are_refused(values, field, message):
    with pytest.raises(ValidationError) as error:
        SlaPolicy(**values).full_clean()
    assert message in " ".join(error.value.message_dict[field])


@pytest.mark.parametrize(
    "values",
    [
        {},  # every step off: no SLA for this pool
        {"first_touch_hours": "4", "remind_at_hours": "4", "escalate_after_hours": "4", "reassign_after_hours": "4"},
        {"first_touch_hours": "4", "remind_at_hours": "3", "escalate_after_hours": "16", "reassign_after_hours": "8"},
        {"remind_at_hours": "24", "escalate_after_hours": "40", "reassign_after_hours": "56", "max_reassignments": 2},
        {"first_touch_hours": "0.5", "recycle_stale_after_days": 14},
    ],
)
def test_sensible_policies_pass(values):
    SlaPolicy(**values).full_clean()


def test_a_teams_policy_beats_the_default_and_the_default_covers_the_rest(teams):
    emea, americas = teams
    default = SlaPolicy.objects.create(first_touch_hours=4)
    mine = SlaPolicy.objects.create(team=emea, first_touch_hours=Decimal("1.5"))
    assert SlaPolicy.objects.for_team(emea.pk) == mine
    assert SlaPolicy.objects.for_team(americas.pk) == default
    assert SlaPolicy.objects.for_team(None) == default
    policies = SlaPolicySet.load()
    assert (policies.for_team(emea.pk), policies.for_team(americas.pk), policies.for_team(None)) == (
        mine,
        default,
        default,
    )


def test_without_a_default_policy_a_team_without_its_own_has_no_sla(teams):
    emea, americas = teams
    mine = SlaPolicy.objects.create(team=emea, first_touch_hours=2)
    assert SlaPolicy.objects.for_team(americas.pk) is None
    assert SlaPolicy.objects.for_team(None) is None
    assert SlaPolicy.objects.for_team(emea.pk) == mine
    policies = SlaPolicySet.load()
    assert (policies.for_team(americas.pk), policies.for_team(None), policies.for_team(emea.pk)) == (None, None, mine)


def test_every_policy_loads_in_one_query(teams):
    SlaPolicy.objects.create(first_touch_hours=4)
    for team in teams:
        SlaPolicy.objects.create(team=team, first_touch_hours=2)
    with CaptureQueriesContext(connection) as queries:
        policies = SlaPolicySet.load()
        found = [policies.for_team(t.pk).first_touch_hours for t in teams]
    assert len(queries) == 1
    assert found == [Decimal("2.00"), Decimal("2.00")]
    assert set(policies.by_team) == {t.pk for t in teams}


def test_a_deleted_team_takes_its_policy_with_it_and_falls_back_to_the_default(teams):
    default = SlaPolicy.objects.create(first_touch_hours=4)
    SlaPolicy.objects.create(team=teams[0], first_touch_hours=2)
    teams[0].delete()
    assert list(SlaPolicy.objects.all()) == [default]
