"""The inbox, the conversation page and the supervisor's dashboards fit the screen: no
sideways scrolling on a 1280 or 1440 pixel desktop, and usable on a 768 pixel tablet held
upright (inbox rows fold into cards, the conversation's side panel goes under the thread).

Each check saves a full-page screenshot under test-results/layout/ to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, REPO_ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO_ROOT / "test-results" / "layout"
ROWS = "#conversation-rows tr[data-conversation-id]"
VIEWPORTS = [(1280, 800), (1440, 900), (768, 1024)]
# seed_demo's supervisor keeps its default password in the demo server.
SUPERVISOR = ("supervisor", "parley-supervisor")

# The worst a customer and the triage can do to a line: an unbroken 200-character link in the
# post and a long reason tag (the conversation page once grew to 1,478 px at 1440 from one).
LONG_CONTENT_SNIPPET = """
from django.apps import apps
Post = apps.get_model("core", "Post")
post = Post.objects.filter(direction="inbound").exclude(intent="").order_by("pk").first()
post.text = "Look: https://example.com/" + "a" * 200 + " and tell me why"
post.triage_reasons = [
    "priority: outage, negative complaint, mentions a competitor, verified customer with "
    "many followers, repeated contact within the hour",
    "keyword: refund_request_for_order_number_12345678901234567890",
]
post.save(update_fields=["text", "triage_reasons"])
print("long-conversation:", post.conversation_id)
"""


@pytest.fixture(scope="module")
def long_conversation_id(parley_server) -> int:
    made = parley_server.manage("shell", "-c", LONG_CONTENT_SNIPPET)
    assert made.returncode == 0, made.stdout + made.stderr
    # The shell may print log lines too: read only the snippet's own line.
    return int(re.search(r"^long-conversation: (\d+)$", made.stdout, re.MULTILINE).group(1))


@pytest.fixture
def sized_page(chromium, request):
    width, height = request.param
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page, server) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def overflow(page, selector: str) -> dict[str, int]:
    return page.eval_on_selector(
        selector, "el => ({scrollWidth: el.scrollWidth, clientWidth: el.clientWidth})"
    )


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(
        path=SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png", full_page=True
    )


def assert_no_sideways_scroll(page, selector: str) -> None:
    sizes = overflow(page, selector)
    assert sizes["scrollWidth"] <= sizes["clientWidth"], (
        f"{selector} scrolls sideways at {page.viewport_size['width']} px: {sizes}"
    )


@pytest.mark.parametrize(
    "sized_page", VIEWPORTS, indirect=True, ids=lambda size: "x".join(map(str, size))
)
def test_inbox_fits_the_screen(parley_server, sized_page):
    page = sized_page
    log_in(page, parley_server)
    page.goto(parley_server.url("/inbox/?view=all"))
    expect(page.locator(ROWS).first).to_be_visible()
    expect(page.get_by_text("Nothing here.")).to_be_hidden()
    screenshot(page, "inbox")
    assert_no_sideways_scroll(page, "html")
    # The table's own scroller must not hide columns off to the right either.
    assert_no_sideways_scroll(page, "section.inbox")
    # What an agent needs to pick a conversation stays on screen at every width.
    first_row = page.locator(ROWS).first
    for cell in ("td.who", "td.excerpt", "td.sla"):
        expect(first_row.locator(cell)).to_be_in_viewport()


@pytest.mark.parametrize(
    "sized_page", VIEWPORTS, indirect=True, ids=lambda size: "x".join(map(str, size))
)
def test_conversation_page_fits_the_screen(parley_server, long_conversation_id, sized_page):
    page = sized_page
    log_in(page, parley_server)
    page.goto(parley_server.url(f"/conversations/{long_conversation_id}/"))
    expect(page.locator("#thread .tag.reason").first).to_be_visible()
    screenshot(page, "conversation")
    assert_no_sideways_scroll(page, "html")
    thread = page.locator(".main-column").bounding_box()
    side = page.locator(".side-column").bounding_box()
    if page.viewport_size["width"] <= 900:
        # Stacked: the side panel starts under the thread, as wide as it.
        assert side["y"] >= thread["y"] + thread["height"], (thread, side)
    else:
        assert side["x"] >= thread["x"] + thread["width"], (thread, side)


@pytest.mark.parametrize(
    "sized_page", VIEWPORTS, indirect=True, ids=lambda size: "x".join(map(str, size))
)
def test_supervisor_pages_fit_the_screen(parley_server, sized_page):
    page = sized_page
    page.goto(parley_server.url("/login/"))
    page.get_by_label("Username").fill(SUPERVISOR[0])
    page.get_by_label("Password").fill(SUPERVISOR[1])
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    for name, path, heading in (
        ("cockpit", "/dashboards/", "Live cockpit"),
        ("reports", "/dashboards/reports/", "Reports"),
        ("very-responsive", "/dashboards/very-responsive/", "Very responsive"),
    ):
        page.goto(parley_server.url(path))
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")  # the charts and the heatmap are drawn
        screenshot(page, name)
        assert_no_sideways_scroll(page, "html")


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_new_row_highlight_fades_only_without_a_reduced_motion_wish(parley_server, page, motion):
    page.emulate_media(reduced_motion=motion)
    log_in(page, parley_server)
    row = page.locator(ROWS).first
    expect(row).to_be_visible()
    # The class a live row arrives with (static/js/inbox.js).
    row.evaluate("row => row.classList.add('fresh')")
    animation = row.evaluate("row => getComputedStyle(row).animationName")
    assert animation == ("none" if motion == "reduce" else "fresh")
