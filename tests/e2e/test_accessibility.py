"""Every page an agent, a supervisor or an admin uses, scored by axe-core in Chromium against
WCAG 2 A and AA: no serious or critical violation, on the page as it loads and in the states
a user puts it in (the shortcut help open, a post's triage details open), in the light and
the dark colour scheme. The scheme is switched on the page already open (the themes are pure
CSS media queries), so each page is loaded and brought into its state once.

A failure names each rule and element, e.g. `color-contrast (serious): ... td.sla`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import assert_accessible
from tests.e2e.demo_server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USERNAME

pytestmark = pytest.mark.browser

# seed_demo's supervisor keeps its default password in the demo server.
SUPERVISOR = ("supervisor", "parley-supervisor")
AGENT = (AGENT_USERNAME, AGENT_PASSWORD)
ADMIN = ("admin", ADMIN_PASSWORD)
ROWS = "#conversation-rows tr[data-conversation-id]"

# A survey as the CSAT task would offer it, for the newest conversation; prints its token.
SURVEY_SNIPPET = """
from django.apps import apps
from django.utils import timezone
CsatSurvey = apps.get_model("reports", "CsatSurvey")
Conversation = CsatSurvey._meta.get_field("conversation").related_model
survey = CsatSurvey.objects.create(
    conversation=Conversation.objects.order_by("-pk").first(), resolved_at=timezone.now()
)
print("survey-token:", survey.token)
"""


# Puts three waiting conversations in the states an agent must tell apart without colour:
# one breached, one at risk (both on the inbox countdown and the conversation's SLA timer),
# one pending the customer. Prints their ids, or nothing while fewer than three are waiting.
SLA_STATES_SNIPPET = """
from datetime import timedelta
from django.apps import apps
from django.utils import timezone
SlaTimer = apps.get_model("sla", "SlaTimer")
Conversation = SlaTimer._meta.get_field("conversation").related_model
Post = apps.get_model("core", "Post")
now = timezone.now()
waiting = list(
    Conversation.objects.filter(first_response_at=None, sla_timers__kind="first_response")
    .order_by("pk").values_list("pk", flat=True)[:3]
)
if len(waiting) == 3:
    breached, at_risk, pending = waiting
    for pk, due, at_risk_at, state in (
        (breached, now - timedelta(minutes=3), now - timedelta(minutes=6), "breached"),
        (at_risk, now + timedelta(minutes=3), now - timedelta(minutes=1), "at_risk"),
    ):
        Conversation.objects.filter(pk=pk).update(first_response_due_at=due)
        SlaTimer.objects.filter(conversation_id=pk, kind="first_response").update(
            due_at=due, at_risk_at=at_risk_at, state=state
        )
    Conversation.objects.filter(pk=pending).update(status="pending")
    # What a thread shows of a platform payload: a picture, a video link and a quoted tweet
    # (a closed local port stands in for the platform's media server).
    post = Post.objects.filter(conversation_id=breached, direction="inbound").first()
    media = "http://127.0.0.1:9/"
    post.raw = {
        **(post.raw or {}),
        "parley_quoted": {"handle": "brand", "text": "Our app is back up"},
        "parley_attachments": [
            {"type": "photo", "url": media + "p.jpg", "preview_url": media + "p.jpg",
             "alt_text": "Error screen"},
            {"type": "video", "url": media + "v.mp4"},
        ],
    }
    post.save(update_fields=["raw"])
    print("sla-states:", breached, at_risk, pending)
"""
STATES_TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def sla_states(parley_server) -> dict[str, int]:
    """Ids of a breached, an at-risk and a pending conversation on the demo server."""
    deadline = time.monotonic() + STATES_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        made = parley_server.manage("shell", "-c", SLA_STATES_SNIPPET)
        assert made.returncode == 0, made.stdout + made.stderr
        # The shell may print log lines too: read only the snippet's own line.
        found = re.search(r"^sla-states: (\d+) (\d+) (\d+)$", made.stdout, re.MULTILINE)
        if found:
            breached, at_risk, pending = map(int, found.groups())
            return {"breached": breached, "at_risk": at_risk, "pending": pending}
        time.sleep(1)
    pytest.fail(f"fewer than three waiting conversations after {STATES_TIMEOUT_SECONDS} s")


COLOUR_SCHEMES = ("light", "dark")


def assert_accessible_in_both_schemes(page, where: str) -> None:
    """Score the page as it is in the light theme, then in the dark one
    (prefers-color-scheme); a failure names the scheme."""
    for scheme in COLOUR_SCHEMES:
        page.emulate_media(color_scheme=scheme)
        # The admin's links fade to their new colour (CSS transitions): score the colours
        # they end on, not a frame in between.
        page.evaluate(
            "Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)))"
        )
        assert_accessible(page, f"{where}, {scheme} scheme")


def log_in(page, server, credentials: tuple[str, str], then: str = "/") -> None:
    page.goto(server.url(f"/login/?next={then}"))
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def open_inbox(page, server, states) -> None:
    page.goto(server.url("/inbox/?view=all"))
    # The countdowns are filled in by script; score them as an agent sees them.
    for state in ("breached", "at-risk"):
        expect(page.locator(f'{ROWS} td.sla[data-state="{state}"]').first).to_be_visible()


def open_inbox_with_help(page, server, states) -> None:
    open_inbox(page, server, states)
    page.keyboard.press("j")
    expect(page.locator(f"{ROWS}.selected")).to_have_count(1)
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()


def open_conversation(page, server, states, state: str = "breached") -> None:
    page.goto(server.url(f"/conversations/{states[state]}/"))
    expect(page.locator("#thread .post").first).to_be_visible()
    if state == "breached":
        expect(page.locator("#thread .attachments a").first).to_be_visible()
    expect(page.locator(f'dd.sla-timer[data-state="{state}"]')).to_be_visible()


def open_at_risk_conversation(page, server, states) -> None:
    open_conversation(page, server, states, "at_risk")


def open_conversation_triage(page, server, states) -> None:
    open_conversation(page, server, states)
    details = page.locator("details.triage").first
    details.locator("summary").click()
    details.get_by_role("button", name="Why these tags?").click()
    expect(details.locator("ul.explanation li").first).to_be_visible()


def open_move_to_team(page, server, states) -> None:
    open_conversation(page, server, states)
    page.get_by_role("link", name="Move to another team…").click()
    expect(page.get_by_label("Move to")).to_be_visible()


def open_cockpit(page, server, states) -> None:
    page.goto(server.url("/dashboards/"))
    expect(page.locator("#cockpit-live")).to_have_text("live")
    expect(page.locator('#attention tr[data-state="breached"]').first).to_be_visible()


def open_reports(page, server, states) -> None:
    page.goto(server.url("/dashboards/reports/"))
    expect(page.locator("#heatmap td").first).to_be_attached()


def open_responsiveness(page, server, states) -> None:
    page.goto(server.url("/dashboards/very-responsive/"))
    expect(page.get_by_role("heading", name="Very responsive")).to_be_visible()


def open_profile(page, server, states) -> None:
    page.goto(server.url("/profile/"))
    expect(page.locator("main h1")).to_be_visible()


def open_report_schedules(page, server, states) -> None:
    page.goto(server.url("/dashboards/schedules/"))
    expect(page.locator("main h1")).to_be_visible()


def open_invite(page, server, states) -> None:
    page.goto(server.url("/people/invite/"))
    expect(page.locator("main h1, #content h1").first).to_be_visible()


def open_admin_index(page, server, states) -> None:
    page.goto(server.url("/admin/"))
    expect(page.locator("#site-name")).to_be_visible()


def open_admin_conversation_list(page, server, states) -> None:
    page.goto(server.url("/admin/"))
    page.locator("tr.model-conversation th a").click()
    expect(page.locator("#result_list")).to_be_visible()


def open_admin_conversation_change(page, server, states) -> None:
    page.goto(server.url("/admin/"))
    page.locator("tr.model-conversation th a").click()
    page.locator("#result_list tbody th a").first.click()
    expect(page).to_have_url(re.compile(r"/change/$"))


def open_admin_platform_accounts(page, server, states) -> None:
    page.goto(server.url("/admin/"))
    page.locator("tr.model-platformaccount th a").click()
    expect(page.locator("#result_list")).to_be_visible()


def open_admin_routing_rule_test(page, server, states) -> None:
    page.goto(server.url("/admin/routing/routingrule/"))
    page.get_by_role("link", name="Test against a sample post").first.click()
    page.get_by_label("Text").fill("My parcel never arrived, I want a refund")
    page.get_by_role("button", name="Test this rule").click()
    expect(page.locator("#rule-verdict")).to_be_visible()


PAGES: dict[str, tuple[tuple[str, str] | None, Callable]] = {
    "inbox": (AGENT, open_inbox),
    "inbox, shortcut help open": (AGENT, open_inbox_with_help),
    "conversation, breached": (AGENT, open_conversation),
    "conversation, at risk": (AGENT, open_at_risk_conversation),
    "conversation, triage details open": (AGENT, open_conversation_triage),
    "move a conversation to another team": (AGENT, open_move_to_team),
    "cockpit": (SUPERVISOR, open_cockpit),
    "reports": (SUPERVISOR, open_reports),
    "very responsive": (SUPERVISOR, open_responsiveness),
    "profile": (AGENT, open_profile),
    "report schedules": (SUPERVISOR, open_report_schedules),
    "invite an agent": (ADMIN, open_invite),
    "admin index": (ADMIN, open_admin_index),
    "admin conversation list": (ADMIN, open_admin_conversation_list),
    "admin conversation change page": (ADMIN, open_admin_conversation_change),
    "admin routing rule trial": (ADMIN, open_admin_routing_rule_test),
    "admin platform accounts": (ADMIN, open_admin_platform_accounts),
}


@pytest.mark.parametrize("name", PAGES)
def test_signed_in_page_has_no_serious_accessibility_violations(
    parley_server, sla_states, page, name
):
    credentials, open_page = PAGES[name]
    log_in(page, parley_server, credentials)
    open_page(page, parley_server, sla_states)
    assert_accessible_in_both_schemes(page, name)


def test_login_page_has_no_serious_accessibility_violations(parley_server, page):
    page.goto(parley_server.url("/login/"))
    assert_accessible_in_both_schemes(page, "login")
    page.get_by_label("Username").fill(AGENT_USERNAME)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".error")).to_contain_text("didn't match")
    assert_accessible_in_both_schemes(page, "login with an error")


def test_lockout_page_has_no_serious_accessibility_violations(parley_server, page):
    # A username of its own, so the lockout cannot spill into the other tests' logins.
    for _attempt in range(5):
        page.goto(parley_server.url("/login/"))
        page.get_by_label("Username").fill("locked-out-visitor")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    assert_accessible_in_both_schemes(page, "lockout")


def test_not_found_page_has_no_serious_accessibility_violations(parley_server, page):
    log_in(page, parley_server, AGENT)
    page.goto(parley_server.url("/conversations/999999999/"))
    assert_accessible_in_both_schemes(page, "not found")


def test_csat_survey_has_no_serious_accessibility_violations(parley_server, page):
    made = parley_server.manage("shell", "-c", SURVEY_SNIPPET)
    assert made.returncode == 0, made.stdout + made.stderr
    token = re.search(r"^survey-token: (\S+)$", made.stdout, re.MULTILINE).group(1)
    page.goto(parley_server.url(f"/csat/{token}/"))
    expect(page.get_by_role("button", name="5")).to_be_visible()
    assert_accessible_in_both_schemes(page, "CSAT survey")
    page.get_by_role("button", name="5").click()
    expect(page.locator("#csat-thanks")).to_be_visible()
    assert_accessible_in_both_schemes(page, "CSAT thanks")
