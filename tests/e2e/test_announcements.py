"""What a screen reader says on its own: a new conversation in the inbox and an SLA turning
at risk or breached, each said once through the page's polite live region, not on every
tick of a countdown.

Time is moved on in the page, not waited for: a countdown's due instant is set into the past
(or near) exactly as the clock would bring it there.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, demo_server

pytestmark = pytest.mark.browser

ROWS = "#conversation-rows tr[data-conversation-id]"
NEW_ROW_TIMEOUT_MS = 30_000
# Long enough for a batch to be said and for a dozen countdown ticks after it.
QUIET_SECONDS = 5

# Keeps every text the live region is given, in order, in window.parleyE2eSaid.
RECORD_ANNOUNCEMENTS = """() => {
  window.parleyE2eSaid = [];
  const region = document.getElementById("announcer");
  new MutationObserver(() => window.parleyE2eSaid.push(region.textContent))
    .observe(region, { childList: true, characterData: true, subtree: true });
}"""
MOVE_DUE = """([id, secondsFromNow]) => {
  const cell = document.querySelector(`tr[data-conversation-id="${id}"] td.sla`);
  cell.dataset.due = new Date(Date.now() + secondsFromNow * 1000).toISOString();
  return cell.closest("tr").querySelector("td.who a").textContent;
}"""


@pytest.fixture(scope="module")
def parley_server():
    # A calmer feed than the other modules': new conversations still come every few seconds,
    # but a row whose countdown a test moved is rarely redrawn by a new post under it.
    with demo_server(posts_per_minute=12, poll_seconds=1) as server:
        yield server


def log_in(page, server) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def test_live_region_is_polite_and_silent_on_load(parley_server, page):
    log_in(page, parley_server)
    region = page.locator("#announcer")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(page.locator(ROWS).first).to_be_visible()
    page.wait_for_timeout(QUIET_SECONDS * 1000)
    # The rows on screen at load are not news, whatever their countdowns say.
    assert "first response SLA" not in (region.text_content() or "")


def test_new_conversation_is_announced(parley_server, page):
    log_in(page, parley_server)
    expect(page.locator("#live-status")).to_have_text("live")
    expect(page.locator("#announcer")).to_contain_text(
        re.compile(r"New conversation from @|\d+ new conversations"), timeout=NEW_ROW_TIMEOUT_MS
    )


def test_sla_turning_at_risk_and_breached_is_announced_once(parley_server, page):
    log_in(page, parley_server)
    expect(page.locator(ROWS).nth(1)).to_be_visible()
    page.evaluate(RECORD_ANNOUNCEMENTS)
    ids = page.eval_on_selector_all(ROWS, "rows => rows.map(row => row.dataset.conversationId)")
    late = page.evaluate(MOVE_DUE, [ids[0], -60])
    close = page.evaluate(MOVE_DUE, [ids[1], 120])

    expect(page.locator(f'{ROWS}[data-conversation-id="{ids[0]}"] td.sla')).to_have_text(
        re.compile("overdue$")
    )
    region = page.locator("#announcer")
    expect(region).to_contain_text(f"{late}: first response SLA breached")
    expect(region).to_contain_text(f"{close}: first response SLA at risk")
    time.sleep(QUIET_SECONDS)
    said = " | ".join(page.evaluate("window.parleyE2eSaid"))
    assert said.count(f"{late}: first response SLA breached") == 1, said
    assert said.count(f"{close}: first response SLA at risk") == 1, said


def test_conversation_timer_turning_at_risk_is_announced(parley_server, page):
    log_in(page, parley_server)
    page.locator(f"{ROWS} td.who a").first.click()
    timer = page.locator('dd.sla-timer[data-kind="first_response"][data-due]')
    expect(timer).to_have_attribute("data-state", "ok")
    page.evaluate(RECORD_ANNOUNCEMENTS)
    timer.evaluate("dd => { dd.dataset.atRisk = new Date(Date.now() - 1000).toISOString(); }")
    expect(timer.locator(".sla-state")).to_have_text("At risk")
    expect(page.locator("#announcer")).to_have_text("First response SLA at risk.")
    time.sleep(QUIET_SECONDS)
    said = page.evaluate("window.parleyE2eSaid")
    assert said.count("First response SLA at risk.") == 1, said


def test_reply_counter_speaks_when_close_to_and_over_the_limit_only(parley_server, page):
    log_in(page, parley_server)
    page.locator(f"{ROWS} td.who a").first.click()
    reply = page.get_by_label(re.compile("Reply to @"))
    limit = int(page.locator("#reply-form").get_attribute("data-char-limit"))
    page.evaluate(RECORD_ANNOUNCEMENTS)
    reply.fill("a" * (limit - 30))
    reply.press_sequentially("bcd")  # still far from the limit: nothing is said
    reply.fill("a" * (limit - 15))
    expect(page.locator("#announcer")).to_have_text("15 characters left.")
    reply.press_sequentially("bcd")  # closer, but no longer news
    reply.fill("a" * (limit + 5))
    expect(page.locator("#announcer")).to_have_text("5 characters over the limit.")
    assert page.evaluate("window.parleyE2eSaid") == [
        "15 characters left.",
        "5 characters over the limit.",
    ]
