from datetime import UTC, datetime

import pytest
import time_machine

# Every test runs at this instant unless it travels elsewhere itself (`time_machine.travel`), so a test that
# passes today passes on any date. Tests build their dates from the frozen clock (or from FROZEN_AT).
FROZEN_AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock(request):
    # Tests that drive real processes or a browser need time to pass (timeouts, waits), so they start at the
    # same instant and let the clock tick from there.
    tick = any(request.node.get_closest_marker(name) for name in ("e2e", "concurrency"))
    with time_machine.travel(FROZEN_AT, tick=tick):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Hashing with the real PBKDF2 costs ~0.3 s per login; tests only need it to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_import_progress():
    # Run ids start again in each test's database: no progress, heartbeat or cancel of an earlier test's run.
    from django.core.cache import caches

    caches["imports"].clear()
