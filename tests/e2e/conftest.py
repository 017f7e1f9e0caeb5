"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Without Chromium the tests are skipped with a reason that `pytest -ra` prints; CI (.ci/run) installs it.
Screenshots go to $E2E_SCREENSHOTS when set (`E2E_SCREENSHOTS=docs/screenshots` refreshes the README's),
else to a temporary folder, so a normal test run leaves the working tree clean.
"""

import os
from pathlib import Path

import pytest

from crm.env import env_str

# Playwright's sync API runs an event loop in this thread; Django's ORM would otherwise refuse to run
# next to it, although nothing here is actually asynchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(env_str("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _browser_session_cookies(settings):
    # The server's clock is frozen (see the root conftest), the browser's is not: cookies that expire two weeks
    # after the frozen instant would already be expired for the browser. Session cookies have no expiry date.
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    settings.CSRF_COOKIE_AGE = None


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(env_str("E2E_SCREENSHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.context.clear_cookies()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
