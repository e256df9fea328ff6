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

from tests.e2e.announcer import RECORD_ANNOUNCEMENTS
from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, demo_server

pytestmark = pytest.mark.browser

ROWS = "#conversation-rows tr[data-conversation-id]"
NEW_ROW_TIMEOUT_MS = 30_000
# Long enough for a batch to be said and for a dozen countdown ticks after it.
QUIET_SECONDS = 5

MOVE_DUE = """([id, secondsFromNow]) => {
  const cell = document.querySelector(`tr[data-conversation-id="${id}"] td.sla`);
  cell.dataset.due = new Date(Date.now() + secondsFromNow * 1000).toISOString();
  return cell.closest("tr").querySelector("td.who a").textContent;
}"""


@pytest.fixture(scope="module")
def parley_server():
    # New conversations every few seconds, for the tests that wait for one.
    with demo_server(posts_per_minute=12, poll_seconds=1) as server:
        yield server


def log_in(page, server) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def open_first_conversation(page) -> None:
    page.locator(f"{ROWS} td.who a").first.click(timeout=NEW_ROW_TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/conversations/\d+/"))
    # The URL changes before the deferred scripts run, and what is on screen when they do is
    # not news to the announcer: a timer turned before then was taken as the page's start.
    page.wait_for_load_state("domcontentloaded")


def test_live_region_is_polite_and_silent_on_load(parley_server, page):
    log_in(page, parley_server)
    region = page.locator("#announcer")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(page.locator(ROWS).first).to_be_visible(timeout=NEW_ROW_TIMEOUT_MS)
    page.wait_for_timeout(QUIET_SECONDS * 1000)
    # The rows on screen at load are not news, whatever their countdowns say.
    assert "first response SLA" not in (region.text_content() or "")


def test_new_conversation_is_announced(parley_server, page):
    log_in(page, parley_server)
    expect(page.locator("#live-status")).to_have_text("live")
    expect(page.locator("#announcer")).to_contain_text(
        re.compile(r"New conversation from @|\d+ new conversations"), timeout=NEW_ROW_TIMEOUT_MS
    )


def said(page) -> str:
    return " | ".join(page.evaluate("window.parleyE2eSaid"))


def move_due_until_said(page, conversation_id: str, seconds_from_now: int, text: str) -> None:
    """Move the row's due instant and wait for `text` to be said. A post arriving for that
    conversation redraws its row from the server (due instant and all) before the next tick
    can see the move; then the move is made again, on the new row."""
    for _attempt in range(5):
        page.evaluate(MOVE_DUE, [conversation_id, seconds_from_now])
        deadline = time.monotonic() + 10  # a few batches, on a busy machine
        while time.monotonic() < deadline:
            if text in said(page):
                return
            time.sleep(0.25)
    pytest.fail(f"never said {text!r}; said: {said(page)}")


def test_sla_turning_at_risk_then_breached_is_announced_once_each(parley_server, page):
    log_in(page, parley_server)
    expect(page.locator(ROWS).first).to_be_visible(timeout=NEW_ROW_TIMEOUT_MS)
    # The last row: the one a new post is least likely to redraw (they sort to the top).
    row = page.locator(ROWS).last
    page.evaluate(RECORD_ANNOUNCEMENTS)
    conversation_id = row.get_attribute("data-conversation-id")
    customer = row.locator("td.who a").text_content()

    move_due_until_said(page, conversation_id, 120, f"{customer}: first response SLA at risk")
    move_due_until_said(page, conversation_id, -60, f"{customer}: first response SLA breached")
    time.sleep(QUIET_SECONDS)  # a dozen more ticks
    assert said(page).count(f"{customer}: first response SLA at risk") == 1, said(page)
    assert said(page).count(f"{customer}: first response SLA breached") == 1, said(page)


def test_conversation_timer_turning_at_risk_is_announced(parley_server, page):
    log_in(page, parley_server)
    open_first_conversation(page)
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
    open_first_conversation(page)
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


def test_an_sla_alert_both_pushed_and_seen_on_the_timer_is_said_once(parley_server, page):
    # Issue 18: the toast (alerts.js) and the live region both said it. The toasts' region
    # is no longer a live region; alerts.js hands each alert to the announcer, which says an
    # SLA alert once per conversation and state, whichever way it came first.
    log_in(page, parley_server)
    expect(page.locator("#toasts")).to_have_attribute("aria-live", "off")
    open_first_conversation(page)
    conversation_id = page.locator(".conversation-page").get_attribute("data-conversation-id")
    timer = page.locator('dd.sla-timer[data-kind="first_response"][data-due]')
    expect(timer).to_have_attribute("data-state", "ok")
    page.evaluate(RECORD_ANNOUNCEMENTS)
    pushed = f"First response SLA at risk on conversation #{conversation_id}"
    # What alerts.js does with an at-risk alert pushed on /ws/sla/.
    page.evaluate(
        "([id, text]) => window.parleyAnnounce("
        "{event: 'sla.at_risk', conversation_id: Number(id), alert_id: 'e2e'}, text)",
        [conversation_id, pushed],
    )
    expect(page.locator("#announcer")).to_have_text(pushed + ".")
    timer.evaluate("dd => { dd.dataset.atRisk = new Date(Date.now() - 1000).toISOString(); }")
    expect(timer.locator(".sla-state")).to_have_text("At risk")
    time.sleep(QUIET_SECONDS)
    said = page.evaluate("window.parleyE2eSaid")
    assert said == [pushed + "."], said
