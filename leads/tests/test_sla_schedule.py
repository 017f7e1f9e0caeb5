"""The SLA schedule: a task that queues itself again, never twice as often, started once."""

from datetime import timedelta

import pytest
import time_machine

from core import clock
from leads import schedule
from leads.models import Schedule

pytestmark = pytest.mark.django_db

EVERY = timedelta(minutes=5)


class Queue:
    def __init__(self):
        self.calls = []

    def __call__(self, when):
        self.calls.append(when)


def test_a_run_works_and_queues_the_next_one():
    queue, done = Queue(), []
    result = schedule.run_due("job", every=EVERY, work=lambda now: done.append(now) or {"n": 1}, enqueue=queue)
    assert result == {"n": 1}
    assert done == [clock.now()]
    assert queue.calls == [clock.now() + EVERY]
    row = Schedule.objects.get(name="job")
    assert (row.last_run_at, row.next_run_at, row.last_result) == (clock.now(), clock.now() + EVERY, {"n": 1})


def test_an_early_duplicate_run_ends_without_working_or_queueing():
    queue, done = Queue(), []
    schedule.run_due("job", every=EVERY, work=lambda now: done.append(now) or {}, enqueue=queue)
    with time_machine.travel(clock.now() + timedelta(minutes=1), tick=False):
        assert schedule.run_due("job", every=EVERY, work=lambda now: done.append(now) or {}, enqueue=queue) is None
    assert len(done) == 1 and len(queue.calls) == 1
    with time_machine.travel(clock.now() + EVERY, tick=False):  # on time: it runs
        schedule.run_due("job", every=EVERY, work=lambda now: done.append(now) or {}, enqueue=queue)
    assert len(done) == 2


def test_starting_twice_queues_one_first_run_and_a_dead_chain_is_restarted():
    queue = Queue()
    assert schedule.start("job", every=EVERY, enqueue=queue)
    assert not schedule.start("job", every=EVERY, enqueue=queue)
    assert queue.calls == [None]
    with time_machine.travel(clock.now() + 3 * EVERY, tick=False):  # nothing ran for three periods: dead
        assert schedule.start("job", every=EVERY, enqueue=queue)
    assert queue.calls == [None, None]


def test_a_failing_run_still_queues_the_next_one():
    queue = Queue()

    def broken(now):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        schedule.run_due("job", every=EVERY, work=broken, enqueue=queue)
    assert queue.calls == [clock.now() + EVERY]
