"""Social actions and the customer panel in a real browser (issue 18 items 17 and 18).

- An agent hides a customer's Facebook comment: the server calls the Graph API (a test double
  serving Meta's documented answer, as META_GRAPH_URL allows) and the post says it is hidden.
- An agent merges the customer's suggested Instagram profile: the panel says "Merged" and the
  Instagram conversation joins the customer's history.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_server import AGENT_PASSWORD, AGENT_USERNAME, demo_server, free_port

pytestmark = pytest.mark.browser

SET_UP = """
from core.models import Conversation, Customer, Post, Team
from ingestion.models import CustomerLink, PlatformAccount
from django.utils import timezone

care = Team.objects.get(is_default=True)
page = PlatformAccount.objects.create(
    platform="facebook", handle="acmepage", external_id="111222333",
    credentials={"page_access_token": "e2e-page-token", "app_secret": "e2e-secret"},
    poll_interval_seconds=86400, next_poll_at=timezone.now() + timezone.timedelta(days=1),
)
sam = Customer.objects.create(platform="facebook", external_id="6001", handle="sam_okafor")
conversation = Conversation.objects.create(customer=sam, account=page, team=care, status="open")
Post.objects.create(
    conversation=conversation, direction="inbound", platform="facebook", customer=sam,
    external_id="900001_700001", text="Your product ruined my weekend, total scam",
    created_at=timezone.now(), raw={"parley_kind": "comment"},
)
on_ig = Customer.objects.create(platform="instagram", external_id="ig-6001", handle="sam_okafor")
instagram = PlatformAccount.objects.create(
    platform="instagram", handle="acme", external_id="17841",
    poll_interval_seconds=86400, next_poll_at=timezone.now() + timezone.timedelta(days=1),
)
earlier = Conversation.objects.create(customer=on_ig, account=instagram, team=care)
CustomerLink.objects.create(customer=on_ig, other=sam, reason="same handle @sam_okafor")
print(conversation.pk, earlier.pk)
"""


class FakeGraph(BaseHTTPRequestHandler):
    """Meta's Graph API as far as hiding a comment goes: `POST /{version}/{comment-id}` with
    `is_hidden` answers `{"success": true}` (Graph API reference, Comment)."""

    calls: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        FakeGraph.calls.append(f"{self.path} {body}")
        answer = json.dumps({"success": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        return None


@contextlib.contextmanager
def fake_graph():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeGraph)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def care_server():
    saved = os.environ.get("META_GRAPH_URL")
    with fake_graph() as graph_url:
        os.environ["META_GRAPH_URL"] = graph_url
        try:
            with demo_server(posts_per_minute=1, poll_seconds=5) as server:
                made = server.manage("shell", "-c", SET_UP)
                assert made.returncode == 0, made.stdout + made.stderr
                ids = made.stdout.strip().splitlines()[-1].split()
                yield server, ids[0], ids[1]
        finally:
            if saved is None:
                os.environ.pop("META_GRAPH_URL", None)
            else:
                os.environ["META_GRAPH_URL"] = saved


@pytest.fixture
def parley_server(care_server):
    # The name the failure report looks for when it attaches the server's log.
    return care_server[0]


def log_in(page, server) -> None:
    page.goto(server.url("/login/"))
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def test_an_agent_hides_a_facebook_comment_and_sees_it_marked_hidden(
    parley_server, care_server, page
):
    _, conversation, _ = care_server
    log_in(page, parley_server)
    page.goto(parley_server.url(f"/conversations/{conversation}/"))
    comment = page.locator("#thread li.post.inbound").first

    comment.get_by_role("button", name="Hide comment").click()

    comment = page.locator("#thread li.post.inbound").first
    expect(comment.locator(".post-state")).to_have_text("Hidden from the public")
    expect(comment.get_by_role("button", name="Unhide")).to_be_visible()
    expect(page.get_by_text("Comment hidden on Facebook.")).to_be_visible()
    assert any(
        call.startswith("/v21.0/900001_700001 ") and "is_hidden=true" in call
        for call in FakeGraph.calls
    )


def test_an_agent_merges_a_suggested_profile_into_the_customer(parley_server, care_server, page):
    _, conversation, earlier = care_server
    log_in(page, parley_server)
    page.goto(parley_server.url(f"/conversations/{conversation}/"))
    profiles = page.locator("ul.profiles")
    expect(page.locator("ul.past")).to_have_count(0)  # no history of its own yet

    profiles.get_by_role("button", name="Merge into this customer").click()

    expect(page.locator("ul.profiles li.merged")).to_contain_text("Instagram")
    expect(page.locator("ul.profiles li.merged .tag")).to_have_text("Merged")
    expect(page.locator("ul.past").get_by_role("link", name=f"#{earlier}")).to_be_visible()


TOAST = """() => {
  const box = document.createElement("div");
  box.className = "toast";
  box.dataset.kind = "sla.breached";
  box.textContent = "First response SLA breached on a conversation of yours";
  document.getElementById("toasts").append(box);
}"""
OVERLAP = """([a, b]) => {
  const x = document.querySelector(a).getBoundingClientRect();
  const y = document.querySelector(b).getBoundingClientRect();
  return x.left < y.right && y.left < x.right && x.top < y.bottom && y.top < x.bottom;
}"""


@pytest.mark.parametrize("width, height", [(768, 700), (1280, 800)])
def test_toasts_never_cover_the_composer(parley_server, care_server, chromium, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        log_in(page, parley_server)
        page.goto(parley_server.url(f"/conversations/{care_server[1]}/"))
        # "Send reply" at the bottom of the window, in the corner the toasts start from.
        page.evaluate("document.getElementById('send-reply').scrollIntoView({block: 'end'})")
        for _ in range(3):
            page.evaluate(TOAST)
        # Beside the offer of desktop notifications, which is a toast too.
        expect(page.locator('#toasts .toast[data-kind="sla.breached"]')).to_have_count(3)
        page.wait_for_timeout(300)
        rects = page.evaluate(
            "() => ['#toasts', '#reply-form'].map(s => "
            "JSON.stringify(document.querySelector(s).getBoundingClientRect()))"
        )
        assert not page.evaluate(OVERLAP, ["#toasts", "#reply-form"]), rects
    finally:
        context.close()
