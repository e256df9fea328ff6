"""The walking skeleton in a real browser: what `make run` gives an agent, end to end.

A demo post arrives in the inbox without a reload, the agent answers it, and the SLA shows
the first response as recorded, on the conversation and back in the inbox.
"""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME

pytestmark = pytest.mark.browser

NEW_ROW_TIMEOUT_MS = 20_000
ROWS = "#conversation-rows tr[data-conversation-id]"


def conversation_ids(page) -> list[str]:
    return page.eval_on_selector_all(ROWS, "rows => rows.map(row => row.dataset.conversationId)")


def test_agent_sees_a_new_post_live_and_answers_it(parley_server, page):
    page.goto(parley_server.url("/"))
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(parley_server.url("/inbox/"))
    # Only a connected socket can bring the new row; wait for it before noting the rows.
    expect(page.locator("#live-status")).to_have_text("live")

    rows_before = conversation_ids(page)
    # A full page load would wipe this; it must survive the wait for the new row.
    page.evaluate("window.parleyE2eNoReload = true")
    try:
        page.wait_for_function(
            """([selector, known]) => [...document.querySelectorAll(selector)]
                .some(row => !known.includes(row.dataset.conversationId))""",
            arg=[ROWS, rows_before],
            timeout=NEW_ROW_TIMEOUT_MS,
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"no new conversation row appeared within {NEW_ROW_TIMEOUT_MS // 1000} s")
    assert page.evaluate("window.parleyE2eNoReload") is True, "the inbox reloaded"
    new_id = next(id_ for id_ in conversation_ids(page) if id_ not in rows_before)
    new_row = page.locator(f'{ROWS}[data-conversation-id="{new_id}"]')
    expect(new_row.locator("td.sla")).not_to_have_text("answered")

    new_row.locator("td.who a").click()
    expect(page).to_have_url(parley_server.url(f"/conversations/{new_id}/"))
    expect(page.locator("#first-response")).to_have_text("not yet answered")
    reply = "Sorry about that! We're on it — could you DM us your order number?"
    page.get_by_role("textbox").fill(reply)
    page.get_by_role("button", name="Send reply").click()

    expect(page.locator(".post.outbound .text").last).to_have_text(reply)
    expect(page.locator("#first-response")).to_contain_text("s after the first post")

    page.get_by_role("link", name="Inbox").click()
    expect(page).to_have_url(parley_server.url("/inbox/"))
    expect(page.locator(f'{ROWS}[data-conversation-id="{new_id}"] td.sla')).to_have_text("answered")
