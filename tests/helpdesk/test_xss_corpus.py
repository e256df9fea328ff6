"""Untrusted text — post text, customer names, notes, template bodies — renders inert in every
page that shows it: no script, no event handler, no javascript: link comes from it."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from core.models import ReplyTemplate
from helpdesk.services import add_note
from tests.factories import ConversationFactory, CustomerFactory, PostFactory

pytestmark = pytest.mark.django_db

CORPUS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "\"><script>alert('attr')</script>",
    "'; alert(1); //",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",  # fullwidth angle brackets
    "{{ 7*7 }}{% now 'Y' %}",
    "</textarea><script>alert(1)</script>",
    '<style>body{display:none}</style><body onpageshow="alert(1)">',
]


class ActiveContent(HTMLParser):
    """Collects what a browser would run or follow: scripts that are not Parley's own static
    files, its JavaScript translation catalog or JSON data, event-handler attributes, and
    javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            source = attributes.get("src") or ""
            own = source.startswith(("/static/", reverse("javascript-catalog") + "?lang="))
            if not own and attributes.get("type") != "application/json":
                self.found.append(f"<script {attrs}>")
        if tag in ("iframe", "object", "embed", "svg", "style"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"{tag}[{name}={value}]")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", CORPUS)
def test_hostile_text_renders_inert_in_inbox_and_conversation(client, agent, default_team, payload):
    customer = CustomerFactory(display_name=payload, handle="h4x")
    conversation = ConversationFactory(team=default_team, customer=customer)
    PostFactory(conversation=conversation, text=payload)
    add_note(conversation_id=conversation.pk, author=agent, text=payload)
    ReplyTemplate.objects.create(name=payload, body=f"Hi {{{{ customer.name }}}} {payload}")
    client.force_login(agent)

    for url in (reverse("inbox"), reverse("conversation", args=[conversation.pk])):
        html = client.get(url).content.decode()
        assert active_content(html) == [], url


def test_the_checker_itself_sees_active_content():
    assert active_content('<img src=x onerror="alert(1)">') == ["img[onerror]"]
    assert active_content("<script>alert(1)</script>")
    assert active_content('<a href="javascript:alert(1)">x</a>')
    assert active_content('<script src="/static/js/inbox.js"></script>') == []
