"""An agent without a mouse: every control on the inbox and the conversation page is reached
with Tab and shows where focus is, the shortcut help is a proper dialog that lists the
shortcuts, and a conversation can be found, opened and answered from the keyboard alone.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def parley_server():
    # The demo feed posts its first burst and then stays quiet. A customer's post arriving
    # between opening a conversation and sending made the page hold the reply back ("New
    # activity arrived since you opened this conversation"), as it should, and failed the
    # answering test on a fresh clone; nothing here needs posts to keep arriving.
    with demo_server(posts_per_minute=0, poll_seconds=1) as server:
        server.wait_for_inbound_posts(1)
        yield server


ROWS = "#conversation-rows tr[data-conversation-id]"
MAX_TABS = 150

# What the focused element is, whether its focus ring shows, and a mark that Tab reached it.
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  element.dataset.e2eReached = "yes";
  const style = getComputedStyle(element);
  return {
    description: element.outerHTML.slice(0, 120),
    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
}"""
# Controls a user can see and use, and that Tab never reached. Of a radio group only the
# checked radio is a Tab stop (arrow keys move within it).
UNREACHED = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type="hidden"]), select, textarea, summary'
  )]
  .filter((element) => !element.disabled && element.checkVisibility())
  .filter((element) => !(element.type === "radio" && !element.checked))
  .filter((element) => element.dataset.e2eReached !== "yes")
  .map((element) => element.outerHTML.slice(0, 120))"""


def log_in(page, server) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/inbox/"))
    # The URL changes before the deferred scripts run; "live" says they have (keys included).
    expect(page.locator("#live-status")).to_have_text("live")


def tab_through(page) -> list[str]:
    """Press Tab until focus comes round again; the elements whose focus did not show."""
    without_ring = []
    seen = []
    for _press in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        if seen and focused["description"] == seen[0]:
            break
        seen.append(focused["description"])
        if not focused["ring"]:
            without_ring.append(focused["description"])
    return without_ring


def test_every_inbox_control_is_reached_by_tab_with_a_visible_focus_ring(parley_server, page):
    log_in(page, parley_server)
    expect(page.locator(ROWS).first).to_be_visible()
    without_ring = tab_through(page)
    assert without_ring == [], "focus does not show on:\n" + "\n".join(without_ring)
    assert page.evaluate(UNREACHED) == []


def test_every_conversation_control_is_reached_by_tab_with_a_visible_focus_ring(
    parley_server, page
):
    log_in(page, parley_server)
    page.locator(f"{ROWS} td.who a").first.click()
    expect(page.locator("#thread .post").first).to_be_visible()
    page.locator("details.triage summary").first.click()  # its controls count too
    without_ring = tab_through(page)
    assert without_ring == [], "focus does not show on:\n" + "\n".join(without_ring)
    assert page.evaluate(UNREACHED) == []


def test_skip_link_moves_focus_past_the_navigation(parley_server, page):
    log_in(page, parley_server)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_shortcut_help_is_a_dialog_that_lists_the_shortcuts_and_gives_focus_back(
    parley_server, page
):
    log_in(page, parley_server)
    search = page.locator("#inbox-search")
    search.focus()
    page.keyboard.press("Escape")  # leaves the search field, as the help says
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    close = dialog.get_by_role("button", name="Close")
    expect(close).to_be_focused()
    page.keyboard.press("Tab")
    expect(close).to_be_focused()  # focus stays in the dialog
    listed = dialog.locator("kbd").all_text_contents()
    for key in ("j", "k", "Enter", "o", "n", "r", "e", "a", "/", "?", "Esc"):
        assert key in listed, f"the help does not list {key!r}: {listed}"
    page.keyboard.press("j")  # nothing happens behind an open dialog
    expect(page.locator(f"{ROWS}.selected")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name=re.compile("^Keyboard shortcuts")).focus()
    page.keyboard.press("Enter")
    expect(close).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("^Keyboard shortcuts"))).to_be_focused()


def test_agent_opens_and_answers_a_conversation_from_the_keyboard(parley_server, page):
    log_in(page, parley_server)
    expect(page.locator(ROWS).first).to_be_visible()
    page.keyboard.press("j")
    selected = page.locator(f"{ROWS}.selected")
    expect(selected).to_have_count(1)
    href = selected.locator("td.who a").get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(parley_server.url(href))
    # The URL changes before the deferred scripts (the shortcuts among them) have run.
    page.wait_for_load_state("domcontentloaded")

    page.keyboard.press("r")
    reply_box = page.get_by_label(re.compile("Reply to @"))
    expect(reply_box).to_be_focused()
    reply = "Thanks for waiting, we are looking into it now."
    page.keyboard.type(reply)
    send = page.get_by_role("button", name="Send reply")
    for _press in range(10):
        page.keyboard.press("Tab")
        if send.evaluate("button => button === document.activeElement"):
            break
    expect(send).to_be_focused()
    page.keyboard.press("Enter")  # a focused button does its own job, not a shortcut's
    expect(page.locator(".post.outbound .text").last).to_have_text(reply)


@pytest.mark.parametrize("path", ["/dashboards/", "/dashboards/reports/"])
def test_every_dashboard_control_is_reached_by_tab_with_a_visible_focus_ring(
    parley_server, page, path
):
    page.goto(parley_server.url(f"/login/?next={path}"))
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("parley-supervisor")  # seed_demo's default
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(parley_server.url(path))
    page.wait_for_load_state("networkidle")
    without_ring = tab_through(page)
    assert without_ring == [], "focus does not show on:\n" + "\n".join(without_ring)
    assert page.evaluate(UNREACHED) == []
