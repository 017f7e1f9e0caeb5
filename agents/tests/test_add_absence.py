"""`manage.py add_absence EMAIL --from WHEN --until WHEN [--reason TEXT]`."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import Absence
from agents.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def add(*args) -> str:
    out = StringIO()
    call_command("add_absence", *args, stdout=out)
    return out.getvalue()


def test_it_records_an_absence_from_dates_and_date_times(settings):
    agent = AgentFactory(email="ann@x.test")
    output = add(" Ann@X.test ", "--from", "2026-12-24", "--until", "2027-01-02T09:00:00+01:00", "--reason", "Holiday")
    absence = Absence.objects.get()
    assert absence.agent == agent
    assert absence.starts_at == datetime(2026, 12, 24, tzinfo=UTC)  # midnight in TIME_ZONE (UTC in the tests)
    assert absence.ends_at == datetime(2027, 1, 2, 8, 0, tzinfo=UTC)
    assert absence.reason == "Holiday"
    assert "Absence recorded for" in output and "(Holiday)" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nobody@x.test", "--from", "2026-12-24", "--until", "2026-12-25"],
            "No agent with the email 'nobody@x.test'.",
        ),
        (["ann@x.test", "--from", "24/12/2026", "--until", "2026-12-25"], "--from '24/12/2026' is not an ISO date"),
        (["ann@x.test", "--from", "2026-12-24", "--until", "soon"], "--until 'soon' is not an ISO date"),
        (
            ["ann@x.test", "--from", "2026-12-24", "--until", "2026-12-24"],
            "--until (2026-12-24T00:00:00+00:00) must be after",
        ),
        (["ann@x.test", "--from", " ", "--until", "2026-12-24"], "--from is empty"),
        (["ann@x.test", "--from", "2026-12-24", "--until", "0001-01-01"], "--until '0001-01-01' is out of range"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_record_nothing(args, message):
    AgentFactory(email="ann@x.test")
    with pytest.raises(CommandError) as error:
        add(*args)
    assert error.value.returncode == 2
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not Absence.objects.exists()


def test_the_database_refuses_an_absence_ending_before_it_starts():
    from django.db import IntegrityError, transaction

    agent = AgentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Absence.objects.create(
            agent=agent, starts_at=datetime(2026, 12, 2, tzinfo=UTC), ends_at=datetime(2026, 12, 1, tzinfo=UTC)
        )
