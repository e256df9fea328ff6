"""Two agents of one team, and one of another, working the live inbox in three browsers.

A post the routing rule sends to the Orders team appears live in both Orders agents' queue
and never in the other team's; Ana opening it shows "Ana is viewing" to Ben; Ana answers with
a template whose variables come filled; the answer appears on Ben's screen live; resolving it
takes it out of the queue for both.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, demo_server

pytestmark = pytest.mark.browser

ROWS = "#conversation-rows tr[data-conversation-id]"
ORDERS_PASSWORD = "e2e-orders-password"
TEMPLATE_BODY = "Hi {{ customer.first_name }}, {{ agent.first_name }} from Orders here: on it!"
# An operator's set-up: an Orders team with two agents, a rule ahead of the demo's, a template.
SET_UP_ORDERS_TEAM = f"""
from django.contrib.auth import get_user_model
from core.models import AgentProfile, ReplyTemplate, Team
from routing.models import RoutingRule

orders = Team.objects.create(name="Orders", slug="orders")
for username, first_name in [("ana", "Ana"), ("ben", "Ben")]:
    user = get_user_model().objects.create_user(username, password="{ORDERS_PASSWORD}",
                                                first_name=first_name)
    AgentProfile.objects.create(user=user, is_online=True).teams.add(orders)
RoutingRule.objects.create(name="Anything about orders", position=1, keywords="order",
                           team=orders)
ReplyTemplate.objects.create(name="Order follow-up", team=orders, body="{TEMPLATE_BODY}")
"""
LIVE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def orders_server():
    with demo_server(posts_per_minute=60, poll_seconds=1) as server:
        set_up = server.manage("shell", "-c", SET_UP_ORDERS_TEAM)
        assert set_up.returncode == 0, set_up.stdout + set_up.stderr
        yield server


@pytest.fixture
def browser_for(chromium):
    contexts = []

    def open_as(username: str, password: str):
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


def log_in(page, server, username: str, password: str) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))
    expect(page.locator("#live-status")).to_have_text("live")


def row_ids(page) -> list[str]:
    return page.eval_on_selector_all(ROWS, "rows => rows.map(row => row.dataset.conversationId)")


def test_two_agents_share_a_live_team_queue(orders_server, browser_for):
    ana = browser_for("ana", ORDERS_PASSWORD)
    ben = browser_for("ben", ORDERS_PASSWORD)
    dana = browser_for(AGENT_USERNAME, AGENT_PASSWORD)
    log_in(ana, orders_server, "ana", ORDERS_PASSWORD)
    log_in(ben, orders_server, "ben", ORDERS_PASSWORD)
    log_in(dana, orders_server, AGENT_USERNAME, AGENT_PASSWORD)
    for page in (ana, ben, dana):
        page.evaluate("window.parleyE2eNoReload = true")

    # A post about an order is routed to Orders and arrives in Ana's queue without a reload.
    known = row_ids(ana)
    ana.wait_for_function(
        """([selector, known]) => [...document.querySelectorAll(selector)]
            .some(row => !known.includes(row.dataset.conversationId))""",
        arg=[ROWS, known],
        timeout=LIVE_TIMEOUT_MS,
    )
    conversation_id = next(id_ for id_ in row_ids(ana) if id_ not in known)
    row = f'{ROWS}[data-conversation-id="{conversation_id}"]'
    expect(ana.locator(row)).to_contain_text("Orders")
    expect(ben.locator(row)).to_be_attached()
    # Dana (Customer care, Priority care) keeps receiving her own teams' posts, never this one.
    expect(dana.locator(ROWS).first).to_be_attached(timeout=LIVE_TIMEOUT_MS)
    dana.wait_for_timeout(1000)
    expect(dana.locator(row)).to_have_count(0)
    for page in (ana, ben, dana):
        assert page.evaluate("window.parleyE2eNoReload") is True, "an inbox reloaded"
    assert dana.goto(orders_server.url(f"/conversations/{conversation_id}/")).status == 404

    # Ben opens it first; Ana opening it shows on Ben's screen.
    ben.locator(row).locator("td.who a").click()
    expect(ben.locator("#presence")).to_be_hidden()
    ana.locator(row).locator("td.who a").click()
    expect(ben.locator("#presence")).to_have_text("Ana is viewing")
    expect(ana.locator("#presence")).to_have_text("Ben is viewing")
    ben.evaluate("window.parleyE2eNoReload = true")

    # Ana answers with the team's template, its variables filled for this customer and her.
    ana.locator("#template-picker").select_option(label="Order follow-up")
    reply = ana.get_by_label(re.compile("Reply to @"))
    expect(reply).to_have_value(re.compile(r"^Hi \S+, Ana from Orders here: on it!$"))
    expect(ben.locator("#presence")).to_have_text("Ana is typing…")
    text = reply.input_value()
    ana.get_by_role("button", name="Send reply").click()
    expect(ana.locator(".flash, .notice.stale").first).to_be_visible()
    if ana.locator(".notice.stale").count():
        # The customer wrote again in the meantime; Ana has now seen it, and confirms.
        ana.get_by_role("button", name="Send anyway").click()
    expect(ana.locator(".flash")).to_contain_text("Reply sent.")

    # Ben sees the answer, delivered, without reloading.
    answer = ben.locator(".post.outbound").filter(has_text=text)
    expect(answer).to_have_count(1)
    expect(answer.locator(".delivery")).to_have_text("Sent")
    assert ben.evaluate("window.parleyE2eNoReload") is True, "Ben's conversation reloaded"

    # Ben goes back to the queue; Ana resolves with the keyboard; it leaves both queues.
    ben.get_by_role("link", name="Inbox").click()
    expect(ben.locator(row)).to_be_attached()
    # Only a connected socket can take the row away.
    expect(ben.locator("#live-status")).to_have_text("live")
    ana.wait_for_load_state("domcontentloaded")
    ana.keyboard.press("e")
    expect(ana).to_have_url(re.compile(r"/inbox/"))
    expect(ana.locator(".flash")).to_contain_text("Resolved")
    expect(ana.locator(row)).to_have_count(0)
    expect(ben.locator(row)).to_have_count(0)


def test_a_conversation_taken_by_a_teammate_leaves_my_view_live(orders_server, browser_for):
    ana = browser_for("ana", ORDERS_PASSWORD)
    ben = browser_for("ben", ORDERS_PASSWORD)
    log_in(ana, orders_server, "ana", ORDERS_PASSWORD)
    log_in(ben, orders_server, "ben", ORDERS_PASSWORD)
    expect(ana.locator(ROWS).first).to_be_attached(timeout=LIVE_TIMEOUT_MS)

    # Ana moves down the list with the keyboard to the first unassigned row, and takes it.
    expect(
        ana.locator(ROWS).filter(has=ana.locator("td.assignee", has_text="—")).first
    ).to_be_attached(timeout=LIVE_TIMEOUT_MS)
    selected = ana.locator(f"{ROWS}.selected")
    for _ in range(ana.locator(ROWS).count()):
        ana.keyboard.press("j")
        expect(selected).to_have_count(1)
        if selected.locator("td.assignee").inner_text() == "—":
            break
    conversation_id = selected.get_attribute("data-conversation-id")
    ana.keyboard.press("Enter")
    expect(ana).to_have_url(re.compile(rf"/conversations/{conversation_id}/$"))
    # The URL changes before the deferred scripts (the shortcuts among them) have run.
    ana.wait_for_load_state("domcontentloaded")
    ana.keyboard.press("a")
    # By her display name (issue 18: one person, one name).
    expect(ana.locator(".flash")).to_contain_text("Assigned to Ana.")

    ana.goto(orders_server.url("/inbox/?view=mine"))
    expect(ana.locator("#live-status")).to_have_text("live")
    row = ana.locator(f'{ROWS}[data-conversation-id="{conversation_id}"]')
    expect(row).to_be_attached()
    mine_badge = ana.locator('[data-count="mine"]')
    mine_before = int(mine_badge.inner_text())

    # Ben reassigns it to himself from the conversation page; it leaves Ana's "mine" live.
    ben.goto(orders_server.url(f"/conversations/{conversation_id}/"))
    ben.locator("#assign-agent").select_option(label="Ben")
    ben.get_by_role("button", name="Assign", exact=True).click()
    expect(ben.locator(".flash")).to_contain_text("Assigned to Ben.")
    expect(row).to_have_count(0)
    expect(mine_badge).to_have_text(str(mine_before - 1))
