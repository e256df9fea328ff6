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
    expect(page.locator(".flash, .notice.stale").first).to_be_visible()
    if page.locator(".notice.stale").count():
        # The demo customer wrote again meanwhile, and the page held the reply back until
        # the agent had seen it (as it should): seen, sent.
        page.get_by_role("button", name="Send anyway").click()

    expect(page.locator(".post.outbound .text").last).to_have_text(reply)
    expect(page.locator("#first-response")).to_contain_text(
        re.compile(r"^\d+ s after the first post")
    )

    page.get_by_role("link", name="Inbox").click()
    expect(page).to_have_url(parley_server.url("/inbox/"))
    expect(page.locator(f'{ROWS}[data-conversation-id="{new_id}"] td.sla')).to_have_text("answered")


def created_conversation(server, script: str) -> int:
    created = server.manage("shell", "-c", script)
    assert created.returncode == 0, created.stdout + created.stderr
    return int(created.stdout.strip().splitlines()[-1])


# A customer whose first post says "parcel" and whose latest (the row's excerpt) does not.
PARCEL_CONVERSATION = """
from datetime import timedelta
from core.models import Conversation, Customer, Post, Team
from ingestion.models import PlatformAccount
from django.utils import timezone
account = PlatformAccount.objects.get(handle="parley_demo")
customer = Customer.objects.create(
    platform=account.platform, external_id="e2e-zed", handle="zed_e2e"
)
conversation = Conversation.objects.create(
    customer=customer, account=account, team=Team.objects.get(is_default=True)
)
for n, text in enumerate(["my parcel never came", "hello? anyone there?"]):
    Post.objects.create(
        conversation=conversation, direction="inbound", platform=account.platform,
        external_id=f"e2e-zed-{n}", customer=customer, text=text,
        created_at=timezone.now() - timedelta(minutes=5 - n),
    )
print(conversation.pk)
"""


def test_a_live_update_under_a_search_keeps_the_row_the_server_listed(parley_server, page):
    conversation_id = created_conversation(parley_server, PARCEL_CONVERSATION)
    log_in(page, parley_server)
    page.goto(parley_server.url("/inbox/?view=all&q=parcel"))
    expect(page.locator("#live-status")).to_have_text("live")
    row = page.locator(f'{ROWS}[data-conversation-id="{conversation_id}"]')
    expect(row.locator("td.excerpt")).to_have_text("hello? anyone there?")
    expect(row.locator("td.assignee")).to_have_text("—")
    page.evaluate("window.parleyE2eNoReload = true")

    # A change elsewhere (the agent takes it in another tab) is pushed to this inbox.
    other_tab = page.context.new_page()
    other_tab.goto(parley_server.url(f"/conversations/{conversation_id}/"))
    other_tab.get_by_role("button", name="Assign to me").click()
    expect(other_tab.locator(".assignee-now")).to_contain_text("(you)")
    other_tab.close()

    # The row took the change live and stayed: the server's search matched its first post.
    expect(row.locator("td.assignee")).not_to_have_text("—", timeout=NEW_ROW_TIMEOUT_MS)
    expect(row).to_have_count(1)
    assert page.evaluate("window.parleyE2eNoReload") is True, "the inbox reloaded"


def test_markup_in_a_live_post_is_shown_as_text(parley_server, page, tmp_path):
    # A hostile post stored beside the server; then the real pushes are made to name its
    # conversation, so its row arrives the live way: asked for, server-rendered, inserted.
    posts = tmp_path / "posts.jsonl"
    post = {
        "platform": "demo",
        "external_id": "e2e-hostile-live",
        "author": "eve_live",
        "text": HOSTILE_TEXT,
        "created_at": "2026-01-05T09:30:00Z",
    }
    posts.write_text(json.dumps(post) + "\n")
    imported = parley_server.manage("import_posts", str(posts), "--account", "parley_demo")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    hostile_id = created_conversation(
        parley_server,
        "from core.models import Conversation\n"
        "print(Conversation.objects.get(customer__handle='eve_live').pk)",
    )

    def retarget_pushes(browser_side):
        server_side = browser_side.connect_to_server()

        def push_retargeted(message):
            push = json.loads(message)
            push["conversation"]["id"] = hostile_id
            browser_side.send(json.dumps(push))

        server_side.on_message(push_retargeted)

    page.route_web_socket(re.compile(r"/ws/inbox/$"), retarget_pushes)
    log_in(page, parley_server)
    # Wherever triage put it: its status is new, whether it needs a reply or not.
    page.goto(parley_server.url("/inbox/?view=all&status=new&q=eve_live"))
    expect(page.locator("#live-status")).to_have_text("live")
    row = page.locator(f'{ROWS}[data-conversation-id="{hostile_id}"]')
    expect(row).to_have_count(1)
    # Out of the table, so only a live update can bring it back.
    row.evaluate("row => row.remove()")

    expect(row.locator("td.excerpt")).to_have_text(HOSTILE_TEXT, timeout=20_000)
    expect(row).to_have_class(re.compile(r"\bfresh\b"))
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


def x_conversation(suffix: str) -> str:
    """X_CONVERSATION for another customer (a conversation per test)."""
    return (
        X_CONVERSATION.replace("e2e-maria", f"e2e-{suffix}")
        .replace("maria_x", f"{suffix}_x")
        .replace("e2e-x-1", f"e2e-x-{suffix}")
    )


@pytest.mark.parametrize(
    "text", ["👨‍👩‍👧 thanks", "example.com is down"], ids=["emoji-sequence", "bare-domain"]
)
def test_the_composer_and_the_server_count_alike(parley_server, page, text):
    # The server refuses what its twitter-text count puts over the limit; the composer must
    # count the same (an emoji sequence is one emoji, weight 2; a bare domain is a link, 23).
    from core.models import REPLY_CHAR_LIMITS, Platform, reply_length

    suffix = "emoji" if "thanks" in text else "domain"
    conversation_id = created_conversation(parley_server, x_conversation(suffix))
    log_in(page, parley_server)
    page.goto(parley_server.url(f"/conversations/{conversation_id}/"))

    page.locator("#reply-form textarea").fill(text)

    left = REPLY_CHAR_LIMITS[Platform.TWITTER] - reply_length(Platform.TWITTER, text)
    expect(page.locator("#char-counter")).to_have_text(f"{left} characters left")
