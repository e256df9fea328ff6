"""An agent's own language and time zone, as the browser shows them: a French-speaking agent
gets the inbox in French (the server's templates and the scripts' strings), and an agent in
New York reads New York times, whatever zone the browser's own clock is in."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, demo_server

pytestmark = pytest.mark.browser

ROWS = "#conversation-rows tr[data-conversation-id]"
ROWS_TIMEOUT_MS = 30_000
NEW_YORK = ZoneInfo("America/New_York")

CHOOSE_SNIPPET = """
from django.contrib.auth import get_user_model
from core.models import AgentProfile
user = get_user_model().objects.get(username="agent")
AgentProfile.objects.filter(user=user).update(language={language!r}, time_zone={zone!r})
print("chosen")
"""

# Snoozes one of the agent's conversations until a fixed 15:00 UTC, two days ahead, and
# prints its id, that instant and its first post's instant.
SNOOZE_SNIPPET = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from core.models import Conversation
from core.selectors import visible_conversations
user = get_user_model().objects.get(username="agent")
conversation = visible_conversations(user).filter(
    status__in=["new", "open"], posts__direction="inbound"
).first()
if conversation:
    wake = (timezone.now() + timedelta(days=2)).replace(hour=15, minute=0, second=0, microsecond=0)
    Conversation.objects.filter(pk=conversation.pk).update(snoozed_until=wake, needs_reply=True)
    first = conversation.posts.order_by("created_at").first()
    print("snoozed:", conversation.pk, wake.isoformat(), first.created_at.isoformat())
"""
SNOOZE_TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def parley_server():
    # The demo feed posts its first burst and then stays quiet: a customer's post would end
    # the snooze the New York test reads (it did, on a fresh clone, twice).
    with demo_server(posts_per_minute=0, poll_seconds=1) as server:
        server.wait_for_inbound_posts(1)
        yield server


def choose(server, *, language: str = "", zone: str = "") -> None:
    done = server.manage("shell", "-c", CHOOSE_SNIPPET.format(language=language, zone=zone))
    assert done.returncode == 0 and "chosen" in done.stdout, done.stdout + done.stderr


def log_in(page, server) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def test_a_french_agent_sees_the_inbox_in_french(parley_server, page):
    choose(parley_server, language="fr")
    log_in(page, parley_server)  # the browser asks for English (en-US)

    expect(page.locator("h1")).to_have_text("Boîte de réception")
    expect(page.locator("table.conversations thead")).to_contain_text("Dernier message")
    expect(page.locator("#inbox-search")).to_have_attribute(
        "placeholder", "Chercher des personnes et des messages  /"
    )
    # The scripts' strings come from the JavaScript catalog, in French too.
    expect(page.locator("#live-status")).to_have_text("en direct")
    expect(page.locator(ROWS).first).to_be_visible(timeout=ROWS_TIMEOUT_MS)
    expect(page.locator(f"{ROWS} td.sla").first).to_have_text(
        re.compile(r"restantes|de retard|pas de chrono|répondu")
    )
    page.locator(f"{ROWS} td.pick input").first.check()
    expect(page.locator("#bulk-count")).to_have_text("1 sélectionnée(s)")
    page.screenshot(path="/tmp/h22i-inbox-fr.png")


@pytest.fixture
def tokyo_page(chromium):
    """A browser whose own clock is in Tokyo: the agent's zone must win over it."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="Asia/Tokyo"
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def snoozed_conversation(server) -> tuple[int, datetime, datetime]:
    deadline = time.monotonic() + SNOOZE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        made = server.manage("shell", "-c", SNOOZE_SNIPPET)
        assert made.returncode == 0, made.stdout + made.stderr
        found = re.search(r"^snoozed: (\d+) (\S+) (\S+)$", made.stdout, re.MULTILINE)
        if found:
            pk, wake, first = found.groups()
            return int(pk), datetime.fromisoformat(wake), datetime.fromisoformat(first)
        time.sleep(1)
    pytest.fail(f"no conversation of the agent's after {SNOOZE_TIMEOUT_SECONDS} s")


def shown(instant: datetime, with_date: bool = True) -> str:
    """As the pages show an instant ("Wed 2 Dec, 10:00", or "Wed 10:00"), in New York."""
    local = instant.astimezone(NEW_YORK)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}" if with_date else f"{local:%a %H:%M}"


def test_an_agent_in_new_york_sees_new_york_times(parley_server, tokyo_page):
    page = tokyo_page
    choose(parley_server, zone="America/New_York")
    conversation_id, wake, first_post = snoozed_conversation(parley_server)
    log_in(page, parley_server)

    page.goto(parley_server.url("/inbox/?view=snoozed"))
    row = page.locator(f'tr[data-conversation-id="{conversation_id}"]')
    # 15:00 UTC is 10:00 (or 11:00 in summer) in New York; 00:00 the next day in Tokyo.
    expect(row.locator("small.wakes")).to_have_text(f"wakes {shown(wake, with_date=False)}")
    # Times the scripts draw (a live row's wake-up) use the same zone, not the browser's.
    drawn = page.evaluate(
        "iso => ParleyTime.format(iso, {weekday: 'short', hour: '2-digit', minute: '2-digit', "
        "hourCycle: 'h23'})",
        wake.isoformat(),
    )
    assert drawn == shown(wake, with_date=False)
    page.screenshot(path="/tmp/h22i-inbox-new-york.png")

    page.goto(parley_server.url(f"/conversations/{conversation_id}/"))
    expect(page.locator("body")).to_have_attribute("data-time-zone", "America/New_York")
    expect(page.locator(f'#thread time[datetime="{first_post.isoformat()}"]')).to_have_text(
        shown(first_post)
    )
    expect(page.locator(".snooze .hint")).to_have_text(f"Snoozed until {shown(wake)}")
    page.screenshot(path="/tmp/h22i-conversation-new-york.png")
