"""The queue tells the truth, live, in a real browser (issue 18).

A "Social care" team works an X account. Its customers' posts arrive as X pushes them: signed
Account Activity deliveries to the server's webhook, processed by the server itself, so
everything an agent sees live comes through the same path as in production. What agents did
earlier (an answer, a pending status, an assignment) is set up from a shell, as history.

- A follow-up to an answered conversation moves it to the top with its next-response clock.
- A customer post on a pending conversation opens it, on the open conversation page.
- A colleague's reply updates the side panel and says who replied.
- An SLA breach on the agent's conversation arrives as a toast.
- A snoozed conversation is found in the Snoozed view, with when it wakes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.announcer import RECORD_ANNOUNCEMENTS
from tests.e2e.demo_server import demo_server

pytestmark = pytest.mark.browser

ROWS = "#conversation-rows tr[data-conversation-id]"
PASSWORD = "e2e-social-password"
CONSUMER_SECRET = "e2e-x-consumer-secret"
BRAND_ID = "9000"
LIVE_TIMEOUT_MS = 20_000
SET_UP_SOCIAL_TEAM = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from core import roles
from core.models import AgentProfile, Team
from ingestion.models import PlatformAccount
from routing.models import RoutingRule

social = Team.objects.create(name="Social care", slug="social-care")
for username, first_name in [("sofia", "Sofia"), ("tom", "Tom")]:
    user = get_user_model().objects.create_user(
        username, password="{PASSWORD}", first_name=first_name
    )
    user.groups.add(Group.objects.get(name=roles.AGENT))
    AgentProfile.objects.create(user=user, is_online=False).teams.add(social)
account = PlatformAccount.objects.create(
    platform="twitter", handle="brandx", external_id="{BRAND_ID}",
    credentials={{
        "consumer_key": "e2e-key", "consumer_secret": "{CONSUMER_SECRET}",
        "access_token": "e2e-token", "access_token_secret": "e2e-token-secret",
    }},
    # Pushed to, never polled: there is no internet here.
    poll_interval_seconds=86400, next_poll_at=timezone.now() + timedelta(days=1),
)
RoutingRule.objects.create(name="X to Social care", position=0, account=account, team=social)
"""
# An agent's earlier answer, as history: stored as sent, the response clocks stopped.
ANSWERED_EARLIER = """
from django.contrib.auth import get_user_model
from django.utils import timezone
from core.models import Conversation, Post
from sla.services import record_first_response

conversation = Conversation.objects.get(posts__external_id="{tweet_id}")
sofia = get_user_model().objects.get(username="sofia")
now = timezone.now()
Post.objects.create(
    conversation=conversation, direction="outbound", platform="twitter", agent=sofia,
    text="We're on it", external_id="reply-{tweet_id}", in_reply_to="{tweet_id}",
    created_at=now, delivery_status="sent",
)
record_first_response(conversation, responded_at=now)
conversation.status = "{status}"
conversation.assignee = sofia
conversation.save()
if conversation.status == "pending":
    from sla.services import conversation_status_changed
    conversation_status_changed(conversation=conversation, at=now)
print(conversation.pk)
"""
ASSIGNED_AND_OVERDUE = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from core.models import Conversation
from sla.models import SlaTimer

conversation = Conversation.objects.get(posts__external_id="{tweet_id}")
conversation.assignee = get_user_model().objects.get(username="sofia")
conversation.save()
past = timezone.now() - timedelta(minutes=1)
SlaTimer.objects.filter(conversation=conversation, kind="first_response").update(
    due_at=past, at_risk_at=past
)
print(conversation.pk)
"""
CONVERSATION_OF = """
from core.models import Conversation
print(Conversation.objects.get(posts__external_id="{tweet_id}").pk)
"""

_tweet_ids = itertools.count(1)


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
def social_server():
    # The SLA sweep every second, so a breach shows promptly; a quiet demo feed.
    with environment(SLA_SWEEP_SECONDS="1"), demo_server(posts_per_minute=1, poll_seconds=1) as s:
        set_up = s.manage("shell", "-c", SET_UP_SOCIAL_TEAM)
        assert set_up.returncode == 0, set_up.stdout + set_up.stderr
        yield s


@pytest.fixture
def parley_server(social_server):
    # The name the failure report looks for when it attaches the server's log.
    return social_server


@pytest.fixture
def browser_for(chromium):
    contexts = []

    def open_page():
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def tweet(server, *, handle: str, text: str, in_reply_to: str = "") -> str:
    """X pushes a customer's tweet to the server's webhook, signed; returns its id."""
    tweet_id = f"77{os.getpid()}{next(_tweet_ids):04d}"
    body = json.dumps(
        {
            "for_user_id": BRAND_ID,
            "tweet_create_events": [
                {
                    "id_str": tweet_id,
                    "created_at": format_datetime(datetime.now(UTC)),
                    "text": text,
                    "in_reply_to_status_id_str": in_reply_to or None,
                    "user": {"id_str": f"id-{handle}", "screen_name": handle, "name": handle},
                }
            ],
        }
    ).encode()
    digest = hmac.new(CONSUMER_SECRET.encode(), body, hashlib.sha256).digest()
    request = urllib.request.Request(
        server.url("/webhooks/x/"),
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Twitter-Webhooks-Signature": "sha256=" + base64.b64encode(digest).decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return tweet_id


def shell(server, snippet: str, **values) -> str:
    """Run `snippet` (its {placeholders} filled) in the server's shell; its last line printed,
    if any."""
    finished = server.manage("shell", "-c", snippet.format(**values))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    printed = finished.stdout.strip().splitlines()
    return printed[-1] if printed else ""


def conversation_of(server, tweet_id: str) -> str:
    return shell(server, CONVERSATION_OF, tweet_id=tweet_id)


def log_in(page, server, username: str) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def open_team_queue(page, server) -> None:
    page.goto(server.url("/inbox/?view=team"))
    expect(page.locator("#live-status")).to_have_text("live")


def row_ids(page) -> list[str]:
    return page.eval_on_selector_all(ROWS, "rows => rows.map(row => row.dataset.conversationId)")


def test_a_follow_up_moves_an_answered_conversation_to_the_top_with_its_next_response_clock(
    parley_server, browser_for
):
    first = tweet(parley_server, handle="ana_x", text="@brandx where is my order 123?")
    # Urgent (an outage): among conversations that owe nothing, it sorts first.
    other = tweet(parley_server, handle="carl_x", text="@brandx is there an outage? app is down")
    answered = shell(parley_server, ANSWERED_EARLIER, tweet_id=first, status="open")
    shell(parley_server, ANSWERED_EARLIER, tweet_id=other, status="open")
    page = browser_for()
    log_in(page, parley_server, "sofia")
    open_team_queue(page, parley_server)
    row = page.locator(f'{ROWS}[data-conversation-id="{answered}"]')
    expect(row.locator("td.sla")).to_have_text("answered")
    assert row_ids(page).index(answered) > 0
    page.evaluate("window.parleyE2eNoReload = true")

    tweet(parley_server, handle="ana_x", text="@brandx any news? still nothing", in_reply_to=first)

    expect(page.locator(ROWS).first).to_have_attribute(
        "data-conversation-id", answered, timeout=LIVE_TIMEOUT_MS
    )
    expect(row.locator("td.sla")).to_contain_text("Next response")
    expect(row.locator("td.sla")).to_contain_text("left")
    expect(row.locator("td.waiting")).not_to_have_text("—")
    assert page.evaluate("window.parleyE2eNoReload") is True, "the inbox reloaded"
    # A reload shows the same order.
    page.reload()
    expect(page.locator(ROWS).first).to_have_attribute("data-conversation-id", answered)


def test_a_customer_post_opens_a_pending_conversation_live(parley_server, browser_for):
    first = tweet(parley_server, handle="pia_x", text="@brandx my card was declined")
    pending = shell(parley_server, ANSWERED_EARLIER, tweet_id=first, status="pending")
    page = browser_for()
    log_in(page, parley_server, "sofia")
    page.goto(parley_server.url(f"/conversations/{pending}/"))
    expect(page.locator("#status")).to_have_text("Pending customer")
    page.wait_for_timeout(500)  # the page's socket connects

    tweet(
        parley_server, handle="pia_x", text="@brandx here is the reference 4455", in_reply_to=first
    )

    expect(page.locator("#status")).to_have_text("Open", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#new-activity")).to_contain_text("The customer wrote again")
    expect(page.locator("aside .status-buttons button.current")).to_have_text(
        "Open", timeout=LIVE_TIMEOUT_MS
    )


def test_the_side_panel_follows_a_colleagues_reply(parley_server, browser_for):
    first = tweet(parley_server, handle="sam_x", text="@brandx how do I reset my password?")
    conversation = conversation_of(parley_server, first)
    sofia, tom = browser_for(), browser_for()
    log_in(sofia, parley_server, "sofia")
    log_in(tom, parley_server, "tom")
    sofia.goto(parley_server.url(f"/conversations/{conversation}/"))
    expect(sofia.locator(".assignee-now")).to_have_text("Nobody yet")
    tom.goto(parley_server.url(f"/conversations/{conversation}/"))
    expect(sofia.locator("#presence")).to_contain_text("Tom is viewing", timeout=LIVE_TIMEOUT_MS)

    tom.locator("#reply-form textarea").fill("Use the 'forgot password' link on the login page")
    tom.locator("#send-reply").click()
    expect(tom.locator(".flash")).to_contain_text("Reply sent.")

    expect(sofia.locator(".assignee-now")).to_contain_text("Tom", timeout=LIVE_TIMEOUT_MS)
    expect(sofia.locator("#new-activity")).to_contain_text("Tom replied")
    expect(sofia.locator("#status")).to_have_text("Open")
    reply = sofia.locator("#thread li.outbound").last
    expect(reply).to_contain_text("Public reply")


def test_an_sla_breach_on_my_conversation_arrives_as_a_toast(parley_server, browser_for):
    first = tweet(parley_server, handle="zoe_x", text="@brandx the app crashes on start")
    page = browser_for()
    log_in(page, parley_server, "sofia")
    open_team_queue(page, parley_server)
    page.wait_for_timeout(500)  # the alert socket connects

    conversation = shell(parley_server, ASSIGNED_AND_OVERDUE, tweet_id=first)

    toast = page.locator(f'#toasts .toast[data-conversation-id="{conversation}"]')
    expect(toast).to_contain_text(
        f"First response breached on conversation #{conversation}", timeout=LIVE_TIMEOUT_MS
    )
    toast.get_by_role("link", name="Open").click()
    expect(page).to_have_url(parley_server.url(f"/conversations/{conversation}/"))


def test_a_snoozed_conversation_is_found_in_the_snoozed_view(parley_server, browser_for):
    first = tweet(parley_server, handle="uma_x", text="@brandx can I change my plan?")
    conversation = conversation_of(parley_server, first)
    page = browser_for()
    log_in(page, parley_server, "sofia")
    page.goto(parley_server.url(f"/conversations/{conversation}/"))

    page.locator("#snooze").select_option("4h")
    page.get_by_role("button", name="Snooze", exact=True).click()

    expect(page).to_have_url(re.compile(r"/inbox/"))
    expect(page.locator(f'{ROWS}[data-conversation-id="{conversation}"]')).to_have_count(0)
    page.locator('[data-view-tab="snoozed"]').click()
    row = page.locator(f'{ROWS}[data-conversation-id="{conversation}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".wakes")).to_contain_text("wakes")
    wakes = datetime.fromisoformat(row.locator(".wakes").get_attribute("data-wakes"))
    assert timedelta(hours=3, minutes=55) < wakes - datetime.now(UTC) <= timedelta(hours=4)
    assert int(page.locator('[data-count="snoozed"]').text_content()) >= 1


def test_bulk_assign_of_three_rows(parley_server, browser_for):
    tweets = [
        tweet(parley_server, handle=f"bulk{n}_x", text=f"@brandx question number {n} about billing")
        for n in range(3)
    ]
    ids = [conversation_of(parley_server, tweet_id) for tweet_id in tweets]
    page = browser_for()
    log_in(page, parley_server, "sofia")
    open_team_queue(page, parley_server)
    boxes = [page.locator(f'{ROWS}[data-conversation-id="{pk}"] td.pick input') for pk in ids]

    # One click, then a shift-click: the rows between are taken too.
    boxes[0].click()
    boxes[2].click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.locator("#bulk-action").select_option("assign")
    page.locator("#bulk-assignee").select_option(label="Tom")
    page.locator("#bulk-apply").click()

    expect(page.locator(".flash")).to_contain_text("Assigned 3 conversations to Tom.")
    for pk in ids:
        row = page.locator(f'{ROWS}[data-conversation-id="{pk}"]')
        expect(row.locator("td.assignee")).to_have_text("Tom")


MACRO = """
from core.models import ReplyTemplate, Team
from helpdesk.models import Macro

template = ReplyTemplate.objects.create(
    name="Ask for the order number",
    body="Hi {{ customer.first_name }}, could you send us your order number? "
    "^{{ agent.first_name }}",
)
Macro.objects.create(
    name="Need order number", team=Team.objects.get(slug="social-care"), template=template,
    add_tag="needs-info", set_status="pending", assign="me",
)
"""


def test_a_macro_fills_the_composer_and_sets_status_tag_and_assignee(parley_server, browser_for):
    first = tweet(parley_server, handle="omar_x", text="@brandx my parcel never came")
    conversation = conversation_of(parley_server, first)
    made = parley_server.manage("shell", "-c", MACRO)  # not shell(): the body has braces
    assert made.returncode == 0, made.stdout + made.stderr
    page = browser_for()
    log_in(page, parley_server, "sofia")
    page.goto(parley_server.url(f"/conversations/{conversation}/"))

    page.keyboard.press("m")
    expect(page.locator("#macro-picker")).to_be_focused()
    page.locator("#macro-picker").select_option(label="Need order number")
    page.locator("#run-macro").click()

    expect(page.locator(".flash")).to_contain_text("Macro: tagged “needs-info”")
    expect(page.locator("#reply-form textarea")).to_have_value(
        "Hi omar_x, could you send us your order number? ^Sofia"
    )
    expect(page.locator("#status")).to_have_text("Pending customer")
    expect(page.locator(".assignee-now")).to_contain_text("Sofia")
    expect(page.locator(".tags")).to_contain_text("needs-info")


TEMPLATES = """
from core.models import ReplyTemplate, Team

social = Team.objects.get(slug="social-care")
ReplyTemplate.objects.create(
    name="Delivery delay", team=social,
    body="Hi {{ customer.first_name }}, sorry for the delay: your parcel ships today.",
)
# Stored straight into the database: the template form would refuse the unknown variable.
ReplyTemplate.objects.create(name="Broken greeting", team=social, body="Hi {{ customer.nam }}!")
"""


def test_template_quick_search_previews_and_flags_unknown_variables(parley_server, browser_for):
    first = tweet(parley_server, handle="lea_x", text="@brandx where is my parcel?")
    conversation = conversation_of(parley_server, first)
    made = parley_server.manage("shell", "-c", TEMPLATES)
    assert made.returncode == 0, made.stdout + made.stderr
    page = browser_for()
    log_in(page, parley_server, "sofia")
    page.goto(parley_server.url(f"/conversations/{conversation}/"))

    page.locator("#reply-form textarea").press("/")
    search = page.locator("#template-search input")
    expect(search).to_be_focused()
    search.fill("broken")
    expect(page.locator("#template-search .template-unknown")).to_contain_text(
        "Unknown variable {{ customer.nam }}"
    )
    search.press("Enter")  # refused: nothing inserted
    expect(page.locator("#template-search")).to_be_visible()

    search.fill("dlvry")  # fuzzy: the letters in order
    expect(page.locator("#template-search .template-preview")).to_have_text(
        "Hi lea_x, sorry for the delay: your parcel ships today."
    )
    search.press("Enter")

    expect(page.locator("#template-search")).to_have_count(0)
    expect(page.locator("#reply-form textarea")).to_have_value(
        "Hi lea_x, sorry for the delay: your parcel ships today."
    )


SUGGESTED_TEMPLATES = """
from core.models import Intent, Post, ReplyTemplate, Team

social = Team.objects.get(slug="social-care")
for name, intent in (("Apology", Intent.COMPLAINT), ("Kind words", Intent.COMPLIMENT)):
    ReplyTemplate.objects.create(name=name, team=social, intent=intent, body=name + "!")
# The classifier's tag, as if it had read praise.
Post.objects.filter(conversation_id={conversation}).update(intent=Intent.COMPLIMENT)
"""


def test_template_quick_search_offers_the_template_for_the_latest_post_first(
    parley_server, browser_for
):
    first = tweet(parley_server, handle="ines_x", text="@brandx you were great today, thanks")
    conversation = conversation_of(parley_server, first)
    shell(parley_server, SUGGESTED_TEMPLATES, conversation=conversation)
    page = browser_for()
    log_in(page, parley_server, "sofia")
    page.goto(parley_server.url(f"/conversations/{conversation}/"))

    page.locator("#reply-form textarea").press("/")

    # Before anything is typed every template ties: those suggested for praise lead (the
    # demo's thanks among them), then the rest, each by name (other tests of this server
    # add theirs after "Apology").
    offered = page.locator("#template-search li")
    expect(offered.first).to_have_text("Kind words · suggested")
    expect(offered.nth(1)).to_have_text("Thanks for the kind words · suggested")
    expect(offered.nth(2)).to_have_text("Apology")
    expect(offered.filter(has_text="suggested")).to_have_count(2)
    page.locator("#template-search input").press("Enter")
    expect(page.locator("#reply-form textarea")).to_have_value("Kind words!")


VIP_TAG_RULE = """
from core.models import Team
from routing.models import RoutingRule

vip, _ = Team.objects.get_or_create(name="VIP care", slug="vip-care")
RoutingRule.objects.get_or_create(
    name="VIPs to VIP care", defaults={{"has_tag": "vip", "team": vip, "position": 5}}
)
print(vip.pk)
"""


def test_a_conversation_a_tag_rule_moves_away_leaves_my_team_queue_live(parley_server, browser_for):
    shell(parley_server, VIP_TAG_RULE)
    first = tweet(parley_server, handle="vic_x", text="@brandx my order is a week late")
    moved = conversation_of(parley_server, first)
    sofia, tom = browser_for(), browser_for()
    log_in(sofia, parley_server, "sofia")
    open_team_queue(sofia, parley_server)
    row = sofia.locator(f'{ROWS}[data-conversation-id="{moved}"]')
    expect(row).to_have_count(1)
    sofia.evaluate("window.parleyE2eNoReload = true")

    # Tom tags it; the rule sends it to VIP care, a team neither of them is in.
    log_in(tom, parley_server, "tom")
    tom.goto(parley_server.url(f"/conversations/{moved}/"))
    tom.get_by_placeholder("Add a tag").fill("vip")
    tom.get_by_placeholder("Add a tag").press("Enter")

    expect(row).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    assert sofia.evaluate("window.parleyE2eNoReload") is True, "the inbox reloaded"
    sofia.reload()
    expect(sofia.locator(f'{ROWS}[data-conversation-id="{moved}"]')).to_have_count(0)


# Maria works Returns, whose queue is longer than a page, and Social care, where tweets land.
LONG_RETURNS_QUEUE = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from core import roles
from core.models import AgentProfile, Conversation, Customer, Post, Team
from ingestion.models import PlatformAccount

returns = Team.objects.create(name="Returns", slug="returns")
maria = get_user_model().objects.create_user("maria", password="{password}", first_name="Maria")
maria.groups.add(Group.objects.get(name=roles.AGENT))
AgentProfile.objects.create(user=maria, is_online=False).teams.add(
    returns, Team.objects.get(slug="social-care")
)
account = PlatformAccount.objects.get(handle="brandx")
start = timezone.now() - timedelta(hours=3)
for number in range({count}):
    at = start + timedelta(minutes=number)
    customer = Customer.objects.create(
        platform="twitter", external_id=f"returns-{{number}}", handle=f"returner{{number}}"
    )
    conversation = Conversation.objects.create(
        account=account, customer=customer, team=returns, last_inbound_at=at
    )
    # Unanswered: waiting since it began.
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
    Post.objects.create(
        conversation=conversation, customer=customer, direction="inbound", platform="twitter",
        external_id=f"returns-post-{{number}}", text=f"@brandx return number {{number}}",
        created_at=at,
    )
"""


def test_a_long_queue_shows_fifty_and_the_rest_in_order_on_show_more(parley_server, browser_for):
    """Show more is a link; the keyboard's `j` past the last row follows it as a click does
    (shortcuts.js), so the test walks down the list as an agent would."""
    shell(parley_server, LONG_RETURNS_QUEUE, count=55, password=PASSWORD)
    page = browser_for()
    log_in(page, parley_server, "maria")
    open_team_queue(page, parley_server)
    expect(page.locator(ROWS)).to_have_count(50)
    show_more = page.get_by_role("link", name="Show more")
    expect(show_more).to_be_visible()
    badge = page.locator('[data-count="team"]')
    queued = int(badge.inner_text())
    page.evaluate("window.parleyE2eNoReload = true")

    # A new tweet joins the queue behind the fifty shown: the badge counts it, the list does
    # not show it at the end of this page, where it does not belong.
    arrived = conversation_of(
        parley_server, tweet(parley_server, handle="late_x", text="@brandx a return label?")
    )
    expect(badge).to_have_text(str(queued + 1), timeout=LIVE_TIMEOUT_MS)
    assert arrived not in row_ids(page)

    page.evaluate(RECORD_ANNOUNCEMENTS)
    # Down the list with the keyboard: past the last row, `j` brings the next page.
    for _ in range(51):
        page.keyboard.press("j")

    expect(page.locator(ROWS)).to_have_count(queued + 1)
    expect(show_more).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator(f"{ROWS}.selected")).to_have_attribute(
        "data-conversation-id", row_ids(page)[50]
    )
    ids = row_ids(page)
    assert len(set(ids)) == len(ids)
    assert arrived in ids
    keys = page.eval_on_selector_all(ROWS, "rows => rows.map(r => JSON.parse(r.dataset.sortKey))")
    assert keys == sorted(keys), "the rows are not in the queue's order"
    assert page.evaluate("window.parleyE2eNoReload") is True, "the inbox reloaded"
    # The rows it brought are older ones: a screen reader is not told of new conversations
    # (announce.js says a batch within 3 s).
    page.wait_for_timeout(4_000)
    said = page.evaluate("window.parleyE2eSaid")
    assert not [text for text in said if "new conversation" in text.lower()], said
