"""Browser fixtures: Parley served as `make run` serves it, and Debian's chromium to drive it.

On failure the server's log and a screenshot of the page are attached to the report (the
screenshot under test-results/), since a browser test's assertion alone rarely says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, demo_server

FAILURE_SCREENSHOTS = REPO_ROOT / "test-results"


def pytest_runtest_setup(item):
    # Before any fixture runs, so a machine without chromium does not start a server first.
    if "browser" in item.keywords and not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        server = item.funcargs.get("parley_server") if hasattr(item, "funcargs") else None
        if server is not None:
            report.sections.append(("Parley server log", server.log()))
        page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
        if page is not None and report.when == "call":
            _attach_screenshot(report, page, item.name)
    return report


def _attach_screenshot(report, page, test_name: str) -> None:
    path = FAILURE_SCREENSHOTS / f"{test_name}.png"
    try:
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=path, full_page=True)
    except Exception as error:  # the browser may be the thing that broke
        report.sections.append(("Screenshot", f"could not take one: {error}"))
    else:
        report.sections.append(("Screenshot", str(path)))


@pytest.fixture(scope="module")
def parley_server():
    """A fresh Parley on a temporary SQLite file: migrated, seeded, serving, polling the demo
    feed every second at 30 posts a minute. Shared by a module's tests, which only add to it."""
    with demo_server(posts_per_minute=30, poll_seconds=1) as server:
        yield server


# The served Parley shares two cores with the in-process tests (`make test` runs both at
# once): an assertion waits up to this long for what a user would see.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()
