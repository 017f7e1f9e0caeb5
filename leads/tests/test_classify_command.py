import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.tests.factories import AgentFactory
from core.clock import parse_as_of
from leads.models import Lead, LeadStatus
from leads.reports import classification_report
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 11, 24, tzinfo=UTC)
DAY = timedelta(days=1)


def classify_json(*args):
    out = StringIO()
    call_command("classify_leads", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_json_report_has_every_class_even_when_its_count_is_zero():
    LeadFactory(status=LeadStatus.NEW, created_at=AS_OF - 10 * DAY)
    data = classify_json("--as-of", "2026-11-24")
    assert data == {
        "as_of": "2026-11-24T00:00:00+00:00",
        "counts": {"fresh": 0, "urgent": 1, "active": 0, "stale": 0, "closed": 0},
        "total": 1,
        "per_agent": {"unassigned": {"fresh": 0, "urgent": 1, "active": 0, "stale": 0, "closed": 0}},
    }


def test_an_empty_database_reports_zeros():
    data = classify_json("--as-of", "2026-11-24")
    assert data["counts"] == {"fresh": 0, "urgent": 0, "active": 0, "stale": 0, "closed": 0}
    assert (data["total"], data["per_agent"]) == (0, {})


def test_the_report_counts_by_class_and_by_agent_including_agents_without_leads():
    ada = AgentFactory(email="ada@sales.test")
    AgentFactory(email="idle@sales.test")
    LeadFactory(status=LeadStatus.NEW, created_at=AS_OF - DAY, assigned_agent=ada)  # fresh
    LeadFactory(status=LeadStatus.CONTACTED, created_at=AS_OF - 8 * DAY, assigned_agent=ada)  # active
    LeadFactory(status=LeadStatus.QUALIFIED, created_at=AS_OF - 31 * DAY, assigned_agent=ada)  # stale
    LeadFactory(status=LeadStatus.CONVERTED, created_at=AS_OF - DAY)  # closed
    LeadFactory(status=LeadStatus.NEW, created_at=AS_OF - 7 * DAY)  # urgent, exactly at the boundary
    data = classify_json("--as-of", "2026-11-24T00:00:00Z")
    assert data["counts"] == {"fresh": 1, "urgent": 1, "active": 1, "stale": 1, "closed": 1}
    assert data["total"] == 5
    assert data["per_agent"] == {
        "ada@sales.test": {"fresh": 1, "urgent": 0, "active": 1, "stale": 1, "closed": 0},
        "idle@sales.test": {"fresh": 0, "urgent": 0, "active": 0, "stale": 0, "closed": 0},
        "unassigned": {"fresh": 0, "urgent": 1, "active": 0, "stale": 0, "closed": 1},
    }


def test_the_counts_overall_and_per_agent_come_from_one_query_and_agree_with_the_sql_classification():
    agents = [AgentFactory() for _ in range(3)]
    for i in range(12):
        LeadFactory(
            assigned_agent=agents[i % 3] if i % 4 else None,
            created_at=AS_OF - i * 3 * DAY,
            status=[LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.LOST][i % 3],
        )
    with CaptureQueriesContext(connection) as queries:
        report = classification_report(as_of=AS_OF)
    on_leads = [q["sql"] for q in queries.captured_queries if "leads_lead" in q["sql"]]
    assert len(on_leads) == 1 and "GROUP BY" in on_leads[0]
    assert len(queries.captured_queries) == 2  # plus the agents' emails
    expected = {email: dict.fromkeys(report.counts, 0) for email in report.per_agent}
    for email, lead_class in Lead.objects.with_classification(AS_OF).values_list("assigned_agent__email", "lead_class"):
        expected[email or "unassigned"][lead_class] += 1
    assert report.per_agent == expected
    assert report.total == 12
    for lead_class, n in report.counts.items():
        assert sum(counts[lead_class] for counts in report.per_agent.values()) == n


def test_a_date_as_of_means_midnight_in_the_configured_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    # 7 days before local midnight (05:00 UTC) minus one second: urgent at New York midnight,
    # but still fresh if the date were read as UTC midnight.
    LeadFactory(status=LeadStatus.NEW, created_at=datetime(2026, 11, 17, 4, 59, 59, tzinfo=UTC))
    data = classify_json("--as-of", "2026-11-24")
    assert data["as_of"] == "2026-11-24T00:00:00-05:00"
    assert data["counts"]["urgent"] == 1
    assert classify_json("--as-of", "2026-11-24T00:00:00Z")["counts"]["fresh"] == 1


def test_a_date_time_with_an_offset_or_z_is_taken_as_written(settings):
    settings.TIME_ZONE = "America/New_York"
    assert parse_as_of("2026-11-24T09:30:00Z") == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert parse_as_of("2026-11-24T09:30:00+02:00") == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    # Without a zone, a date-time is local.
    assert parse_as_of("2026-11-24T09:30") == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    assert parse_as_of("2026-07-01") == datetime(2026, 7, 1, 4, tzinfo=UTC)  # daylight saving time


def test_no_as_of_means_now():
    before = datetime.now(UTC)
    assert before <= parse_as_of(None) <= datetime.now(UTC)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "24/11/2026", "2026-11-24T25:00"])
def test_a_bad_as_of_is_a_one_line_error_naming_the_value(value):
    with pytest.raises(CommandError, match=f"--as-of '{value}' is not an ISO date") as error:
        call_command("classify_leads", "--as-of", value, stdout=StringIO())
    assert error.value.returncode == 2


def test_the_text_report_lists_classes_and_agents():
    agent = AgentFactory(email="ada@sales.test")
    LeadFactory(status=LeadStatus.NEW, created_at=AS_OF - 10 * DAY, assigned_agent=agent)
    out = StringIO()
    call_command("classify_leads", "--as-of", "2026-11-24", stdout=out)
    text = out.getvalue()
    assert "Leads by class as of 2026-11-24 00:00 UTC:" in text
    assert "  urgent           1" in text
    assert "  total            1" in text
    assert "ada@sales.test" in text.splitlines()[-1]


@pytest.mark.parametrize(
    "command",
    [
        ["classify_leads", "--as-of", "0001-01-01"],
        ["verify_assignments", "--as-of", "0001-01-01"],
        ["lookup_lead", "ada", "--as-of", "9999-12-31T23:59:59-14:00"],
        ["lookup_lead", "ada", "--limit", str(2**63)],
    ],
)
def test_extreme_arguments_exit_2_with_one_line_and_no_traceback(command, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    process = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DEBUG": "1"},
    )
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1
    assert "out of range" in process.stderr or "--limit must be from 1 to 100,000" in process.stderr


@pytest.mark.parametrize(
    "value", ["0001-01-01", "1899-12-31T23:59:59Z", "9999-01-01", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00+14:00"]
)
def test_an_as_of_outside_1900_to_9998_is_refused_with_the_range(value):
    with pytest.raises(CommandError, match=r"is out of range: use a moment from 1900-01-01 to 9998-12-31") as error:
        parse_as_of(value)
    assert error.value.returncode == 2


def test_the_ends_of_the_as_of_range_classify_and_verify():
    LeadFactory(status=LeadStatus.NEW, created_at=AS_OF - 10 * DAY)
    assert classify_json("--as-of", "9998-12-31T23:59:59Z")["counts"]["stale"] == 1
    assert classify_json("--as-of", "1900-01-01T00:00:00Z")["total"] == 1
    out = StringIO()
    with pytest.raises(CommandError):  # the lead is not assigned: the check fails, but it runs
        call_command("verify_assignments", "--json", "--as-of", "1900-01-01", stdout=out)
    assert json.loads(out.getvalue())["unassigned"] == 1
