"""The demo data looks alive on any day: `make load`'s steps, in-process, on a clock set to several dates."""

import csv
import json
import re
from datetime import datetime
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.demo import SAMPLE_DATE, shift_date_text
from leads.models import Lead

pytestmark = pytest.mark.django_db

FIXTURES = settings.BASE_DIR / "fixtures"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def make_load(out_dir) -> dict:
    """The Makefile's load target; returns the leads import's counts and the classes."""
    run("make_demo_data", "--out", str(out_dir))
    run("import_agents", str(FIXTURES / "agents.csv"))
    imported = json.loads(run("import_leads", str(out_dir / "leads.csv"), "--json"))
    classes = json.loads(run("classify_leads", "--json"))
    run("assign_leads", "--seed", "42")
    run("verify_assignments")  # raises CommandError when a check fails
    return {"import": imported, "classes": classes}


def class_counts(report) -> dict:
    return {name: report["counts"][name] for name in ("fresh", "urgent", "active", "stale", "closed")}


def sample_classes(at: datetime) -> dict:
    """The sample's classes on the day it was made, at the same time of day: what the demo must show."""
    with time_machine.travel(datetime.combine(SAMPLE_DATE, at.timetz()), tick=False):
        run("import_leads", str(FIXTURES / "leads.csv"))
        classes = class_counts(json.loads(run("classify_leads", "--json")))
    Lead.objects.all().delete()
    return classes


@pytest.mark.parametrize("today", ["2026-12-01T12:00:00Z", "2027-06-01T08:00:00Z", "2030-01-01T23:30:00Z"])
def test_make_load_shows_a_living_team_on_any_day_and_a_second_run_changes_nothing(tmp_path, today):
    now = datetime.fromisoformat(today)
    expected = sample_classes(now)
    with time_machine.travel(now, tick=False):
        first = make_load(tmp_path / "demo")
        second = make_load(tmp_path / "demo")
    counts = class_counts(first["classes"])
    assert counts["fresh"] > 0 and counts["urgent"] > 0 and counts["active"] > 0
    assert counts == expected
    assert first["import"]["created"] > 0
    again = second["import"]
    assert (again["created"], again["updated"], again["merged_duplicates"]) == (0, 0, 0)
    assert again["unchanged"] + again["rejected"] == again["rows"]
    assert again["rejected"] == first["import"]["rejected"]


def shape(value: str) -> str:
    return re.sub(r"[0-9]", "9", value)


def test_the_demo_file_moves_only_the_readable_created_dates_and_keeps_their_formats(tmp_path):
    run("make_demo_data", "--out", str(tmp_path), "--as-of", "2027-03-10")
    with open(FIXTURES / "leads.csv", encoding="utf-8", newline="") as handle:
        before = list(csv.reader(handle))
    with open(tmp_path / "leads.csv", encoding="utf-8", newline="") as handle:
        after = list(csv.reader(handle))
    assert len(after) == len(before)
    assert [row[:-1] for row in after] == [row[:-1] for row in before]  # every other cell as written
    dates = [(old[-1], new[-1]) for old, new in zip(before[1:], after[1:], strict=True)]
    assert all(shape(old) == shape(new) for old, new in dates)
    assert ("yesterday", "yesterday") in dates  # the dirt stays
    moved = [(old, new) for old, new in dates if old != new]
    assert len(moved) >= len(dates) - 3
    assert ("2026-11-15 17:39:05", "2027-03-01 17:39:05") in moved  # 106 days on, the time kept
    assert ("10/27/2026", "02/10/2027") in moved


def test_on_the_sample_day_the_demo_file_is_the_sample(tmp_path):
    run("make_demo_data", "--out", str(tmp_path), "--as-of", SAMPLE_DATE.isoformat())
    assert (tmp_path / "leads.csv").read_bytes() == (FIXTURES / "leads.csv").read_bytes()


@pytest.mark.parametrize(
    ("text", "days", "dayfirst", "expected"),
    [
        ("2026-11-15T09:30:00+02:00", 20, False, "2026-12-05T09:30:00+02:00"),
        ("2026-1-5", 1, False, "2026-1-6"),
        (" 3/5/2026 4:05 PM ", 30, False, " 4/4/2026 4:05 PM "),
        ("03/05/2026", 30, True, "02/06/2026"),
        ("24.11.2026", 38, False, "01.01.2027"),
        ("2026-02-30", 1, False, "2026-02-30"),  # not a date: never reaches here from a file, and stays
    ],
)
def test_a_date_moves_in_its_own_format(text, days, dayfirst, expected):
    assert shift_date_text(text, days, dayfirst=dayfirst) == expected


def test_an_unreadable_source_is_refused_with_exit_2(tmp_path):
    with pytest.raises(CommandError, match="no such file") as refused:
        call_command("make_demo_data", "--source", str(tmp_path / "missing.csv"), "--out", str(tmp_path))
    assert refused.value.returncode == 2
