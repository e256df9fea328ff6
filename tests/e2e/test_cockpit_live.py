"""The supervisor's cockpit in a real browser: it updates without a reload when a post
arrives and when a conversation breaches its SLA.

The server is `make run`'s, with the SLA sweep every second so a breach shows promptly. The
breach is made as an operator could: a shell command moves one running timer's due time into
the past, and the server's own sweep finds it.
"""

import contextlib
import os
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import demo_server

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 20_000
# seed_demo's supervisor (the Supervisor role: every team, SLA alerts) and default password.
SUPERVISOR_USERNAME = "supervisor"
SUPERVISOR_PASSWORD = "parley-supervisor"
OVERDUE_SNIPPET = """
from datetime import timedelta
from django.utils import timezone
from sla.models import SlaTimer
timer = (
    SlaTimer.objects.filter(kind="first_response", stopped_at=None, paused_since=None)
    .exclude(state="breached").order_by("id").first()
)
past = timezone.now() - timedelta(minutes=1)
SlaTimer.objects.filter(pk=timer.pk).update(due_at=past, at_risk_at=past)
print(timer.conversation_id)
"""


@contextlib.contextmanager
def environment(**values: str):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def cockpit_server():
    # The demo server copies this process's environment.
    with environment(SLA_SWEEP_SECONDS="1"), demo_server(posts_per_minute=30, poll_seconds=1) as s:
        yield s


@pytest.fixture
def parley_server(cockpit_server):
    # The name the failure report looks for when it attaches the server's log.
    return cockpit_server


def log_in_as_supervisor(page, server) -> None:
    page.goto(server.url("/dashboards/"))
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(SUPERVISOR_USERNAME)
    page.get_by_label("Password").fill(SUPERVISOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.url("/dashboards/"))
    expect(page.locator("#cockpit-live")).to_have_text("live")


def test_cockpit_counts_a_new_post_without_a_reload(parley_server, page):
    log_in_as_supervisor(page, parley_server)
    depth_before = int(page.locator("#total-depth").text_content())
    page.evaluate("window.parleyE2eNoReload = true")

    # Polled through the DOM: the page's CSP forbids the eval a JavaScript predicate needs.
    expect(page.locator("#total-depth")).not_to_have_text(
        str(depth_before), timeout=LIVE_TIMEOUT_MS
    )
    assert int(page.locator("#total-depth").text_content()) > depth_before

    assert page.evaluate("window.parleyE2eNoReload") is True, "the cockpit reloaded"
    queues = page.locator("#queues tr")
    expect(queues.first).to_contain_text("Demo")


def test_cockpit_shows_a_breach_live_and_links_to_the_conversation(parley_server, page):
    log_in_as_supervisor(page, parley_server)
    # Wait for a conversation on the clock, then push its first response past due.
    expect(page.locator("#total-depth")).not_to_have_text("0", timeout=LIVE_TIMEOUT_MS)
    breached_before = int(page.locator("#total-breached").text_content())
    page.evaluate("window.parleyE2eNoReload = true")

    overdue = parley_server.manage("shell", "-c", OVERDUE_SNIPPET)
    assert overdue.returncode == 0, overdue.stdout + overdue.stderr
    conversation_id = overdue.stdout.strip().splitlines()[-1]

    row = page.locator(f'#attention tr[data-conversation-id="{conversation_id}"]')
    expect(row).to_have_attribute("data-state", "breached", timeout=LIVE_TIMEOUT_MS)
    # The totals follow the row (read at once, they had not always caught up under load).
    expect(page.locator("#total-breached")).not_to_have_text(
        str(breached_before), timeout=LIVE_TIMEOUT_MS
    )
    assert int(page.locator("#total-breached").text_content()) > breached_before
    assert page.evaluate("window.parleyE2eNoReload") is True, "the cockpit reloaded"

    row.get_by_role("link").click()
    expect(page).to_have_url(parley_server.url(f"/conversations/{conversation_id}/"))


def test_reports_draw_their_charts_from_the_local_chart_js(parley_server, page):
    blocked = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and blocked.append(message.text),
    )
    log_in_as_supervisor(page, parley_server)

    page.get_by_role("link", name="Reports").click()

    expect(page.locator("#summary")).to_contain_text("First response, median")
    # reports.js counts the charts it drew: three at once, the volume chart once its spikes
    # have arrived from the API, the triage accuracy chart once /triage/accuracy/ has.
    expect(page.locator("[data-charts-drawn]")).to_have_attribute("data-charts-drawn", "5")
    expect(page.locator("#heatmap tr")).to_have_count(8)
    assert blocked == []
