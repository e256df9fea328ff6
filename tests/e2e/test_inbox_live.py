"""The walking skeleton in a real browser: what `make run` gives an agent, end to end.

A demo post arrives in the inbox without a reload, the agent answers it, and the SLA shows
the first response as recorded, on the conversation and back in the inbox. Post text is the
customer's, so it must reach the page as text, whether it arrives live or on a page load.
"""

import json
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME

pytestmark = pytest.mark.browser

NEW_ROW_TIMEOUT_MS = 20_000
ROWS = "#conversation-rows tr[data-conversation-id]"
# Markup a customer could post; if the page ever parsed it, the flag would be set.
HOSTILE_TEXT = '<img src=x onerror="window.parleyE2eInjected = true">Refund me <b>now</b>'


def log_in(page, server) -> None:
    page.goto(server.url("/"))
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.url("/inbox/"))


def conversation_ids(page) -> list[str]:
    return page.eval_on_selector_all(ROWS, "rows => rows.map(row => row.dataset.conversationId)")


def assert_no_markup_ran(page, container) -> None:
    assert container.locator("img, b, script").count() == 0
    assert page.evaluate("window.parleyE2eInjected") is None


def test_agent_sees_a_new_post_live_and_answers_it(parley_server, page):
    log_in(page, parley_server)
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
    # The target that applies, and its countdown.
    expect(new_row.locator("td.sla")).to_have_text(re.compile(r"^First response · \d+:\d\d left$"))

    new_row.locator("td.who a").click()
    expect(page).to_have_url(parley_server.url(f"/conversations/{new_id}/"))
    expect(page.locator("#first-response")).to_have_text("not yet answered")
    reply = "Sorry about that! We're on it — could you DM us your order number?"
    page.get_by_label(re.compile("Reply to @")).fill(reply)
    page.get_by_role("button", name="Send reply").click()

    expect(page.locator(".post.outbound .text").last).to_have_text(reply)
    expect(page.locator("#first-response")).to_contain_text("s after the first post")

    page.get_by_role("link", name="Inbox").click()
    expect(page).to_have_url(parley_server.url("/inbox/"))
    expect(page.locator(f'{ROWS}[data-conversation-id="{new_id}"] td.sla')).to_have_text("answered")


def test_markup_in_a_live_post_is_shown_as_text(parley_server, page):
    # Rewrite what the real server pushes, as if the customer had written markup.
    def tamper_with_pushes(browser_side):
        server_side = browser_side.connect_to_server()

        def push_tampered(message):
            push = json.loads(message)
            push["conversation"]["excerpt"] = HOSTILE_TEXT
            push["conversation"]["customer"] = HOSTILE_TEXT
            browser_side.send(json.dumps(push))

        server_side.on_message(push_tampered)

    page.route_web_socket(re.compile(r"/ws/inbox/$"), tamper_with_pushes)
    log_in(page, parley_server)

    live_row = page.locator(ROWS).filter(has=page.locator("td.excerpt", has_text="Refund me"))
    expect(live_row.first.locator("td.excerpt")).to_have_text(HOSTILE_TEXT, timeout=20_000)
    expect(live_row.first.locator("td.who a")).to_have_text(HOSTILE_TEXT)
    assert_no_markup_ran(page, page.locator("#conversation-rows"))


def test_markup_in_a_stored_post_is_shown_as_text(parley_server, page, tmp_path):
    posts = tmp_path / "posts.jsonl"
    post = {
        "platform": "demo",
        "external_id": "e2e-hostile-1",
        "author": "mallory",
        "text": HOSTILE_TEXT,
        "created_at": "2026-01-05T09:30:00Z",
    }
    posts.write_text(json.dumps(post) + "\n")
    imported = parley_server.manage("import_posts", str(posts), "--account", "parley_demo")
    assert imported.returncode == 0, imported.stdout + imported.stderr

    log_in(page, parley_server)
    # Wherever triage put it: the queue, or "No reply needed" if it took it for spam.
    page.goto(parley_server.url("/inbox/?view=all&status=new&q=mallory"))
    row = page.locator(ROWS).filter(has=page.get_by_role("link", name="@mallory"))
    expect(row.locator("td.excerpt")).to_have_text(HOSTILE_TEXT)
    assert_no_markup_ran(page, row)

    row.get_by_role("link", name="@mallory").click()
    expect(page.locator(".post.inbound .text").first).to_have_text(HOSTILE_TEXT)
    assert_no_markup_ran(page, page.locator(".posts"))


X_CONVERSATION = """
from core.models import Conversation, Customer, Post, Team
from ingestion.models import PlatformAccount
from django.utils import timezone
account, _ = PlatformAccount.objects.get_or_create(
    platform="twitter", external_id="e2e-x", defaults={"handle": "acme_x"}
)
customer = Customer.objects.create(platform="twitter", external_id="e2e-maria", handle="maria_x")
conversation = Conversation.objects.create(
    customer=customer, account=account, team=Team.objects.get(is_default=True)
)
Post.objects.create(
    conversation=conversation, direction="inbound", platform="twitter", external_id="e2e-x-1",
    customer=customer, text="@acme_x where is my parcel?", created_at=timezone.now(),
)
print(conversation.pk)
"""


def test_the_composer_counts_a_reply_on_x_as_x_counts_it(parley_server, page):
    created = parley_server.manage("shell", "-c", X_CONVERSATION)
    assert created.returncode == 0, created.stdout + created.stderr
    conversation_id = int(created.stdout.strip().splitlines()[-1])
    log_in(page, parley_server)
    page.goto(parley_server.url(f"/conversations/{conversation_id}/"))
    composer = page.locator("#reply-form textarea")
    counter = page.locator("#char-counter")

    # 372 characters, but X counts the link as 23.
    link = "https://example.com/" + "track/" * 50
    composer.fill(f"Here is where your parcel is: {link} — sorry for the wait!")
    expect(counter).to_have_text("205 characters left")
    expect(page.locator("#send-reply")).to_be_enabled()

    # Japanese characters count double on X.
    composer.fill("日" * 150)
    expect(counter).to_have_text("20 characters over the limit")
    expect(page.locator("#send-reply")).to_be_disabled()
