"""The application's one clock: core.clock.now() is the only reader, and an admin request reads it once."""

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import time_machine
from django.conf import settings

from conftest import FROZEN_AT
from core import clock

# Reads of the time that must go through core.clock.now(). The upload folder's clean-up compares file ages with
# the modification times the operating system stamps, so it reads the same (OS) clock: time.time().
CLOCK_READS = re.compile(
    r"timezone\.now\b|datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(|localtime\(\)|localdate\(\)"
)
ALLOWED = {("core/clock.py", "return timezone.now()"), ("imports/admin.py", "time.time()")}


def test_now_is_the_frozen_clock_and_follows_a_travel():
    assert clock.now() == FROZEN_AT
    with time_machine.travel(FROZEN_AT + timedelta(days=400), tick=False):
        assert clock.now() == FROZEN_AT + timedelta(days=400)


def test_request_as_of_reads_the_clock_once_per_request():
    request = SimpleNamespace()
    with time_machine.travel(FROZEN_AT, tick=True):
        first = clock.request_as_of(request)
        with time_machine.travel(FROZEN_AT + timedelta(hours=1), tick=True):
            assert clock.request_as_of(request) == first
            assert clock.request_as_of(SimpleNamespace()) >= FROZEN_AT + timedelta(hours=1)


def test_no_application_code_reads_the_clock_but_core_clock():
    base = Path(settings.BASE_DIR)
    found = []
    for folder in ("agents", "core", "crm", "leads"):
        for path in sorted((base / folder).rglob("*.py")):
            relative = path.relative_to(base).as_posix()
            if "/tests/" in relative or "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = CLOCK_READS.search(line)
                if match and not any(relative == f and snippet in line for f, snippet in ALLOWED):
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
