"""A job's progress in the cache: rows and bytes done, speed, time left, the heartbeat and the cancel flag."""

from datetime import timedelta

import pandas as pd
import pytest
import time_machine

from conftest import FROZEN_AT
from imports import progress
from imports.runs import Cancelled
from imports.values import dayfirst_only


@pytest.fixture
def leads_file(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("name,email\n" + "".join(f"Lead {i:04},lead{i:04}@example.org\n" for i in range(1000)))
    return path


def test_the_tracker_turns_rows_into_bytes_speed_and_time_left(leads_file):
    tracker = progress.Tracker(7, leads_file)
    assert progress.snapshot(7)["rows_done"] == 0 and progress.snapshot(7)["bytes_done"] == 0
    with time_machine.travel(FROZEN_AT + timedelta(seconds=10), tick=False):
        tracker(500)
    seen = progress.snapshot(7)
    size = leads_file.stat().st_size
    assert seen["total_bytes"] == size
    assert abs(seen["bytes_done"] - size / 2) < size * 0.02  # half the rows: about half the bytes
    assert seen["rows_per_second"] == 50.0
    assert 9 <= seen["seconds_left"] <= 11
    assert progress.last_beat(7) == FROZEN_AT + timedelta(seconds=10)


def test_bytes_done_never_pass_the_file_size(leads_file):
    tracker = progress.Tracker(7, leads_file)
    tracker(5000)
    assert progress.snapshot(7)["bytes_done"] == leads_file.stat().st_size


def test_a_cancel_request_stops_the_job_at_its_next_batch(leads_file):
    tracker = progress.Tracker(7, leads_file)
    tracker(100)
    progress.request_cancel(7)
    assert progress.cancel_requested(7) and not progress.cancel_requested(8)
    with pytest.raises(Cancelled):
        tracker(200)
    assert progress.snapshot(7)["rows_done"] == 100


def test_a_new_run_forgets_what_an_earlier_run_of_its_id_left(leads_file):
    progress.Tracker(7, leads_file)
    progress.request_cancel(7)
    progress.forget(7)
    assert progress.snapshot(7) is None and not progress.cancel_requested(7) and progress.last_beat(7) is None


def test_only_dates_that_cannot_be_month_first_read_day_first_only():
    values = pd.Series(["30/11/2025", "13/01/2026", "01/02/2026", "2026-01-02", "soon", None])
    assert dayfirst_only(values, time_zone="UTC").tolist() == [True, True, False, False, False, False]
