"""Template helpers for the agents' pages."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from core import selectors as core_selectors
from core.models import Intent, Note, Platform, Priority, Sentiment
from helpdesk import selectors
from helpdesk.services import MENTION

register = template.Library()


@register.filter
def with_mentions(note: Note) -> SafeString:
    """The note's text, escaped, with @mentions of real colleagues highlighted."""
    mentioned = {user.get_username() for user in note.mentions.all()}
    pieces = []
    position = 0
    for match in MENTION.finditer(note.text):
        pieces.append(conditional_escape(note.text[position : match.start()]))
        if match.group(1) in mentioned:
            pieces.append(format_html('<mark class="mention">{}</mark>', match.group(0)))
        else:
            pieces.append(conditional_escape(match.group(0)))
        position = match.end()
    pieces.append(conditional_escape(note.text[position:]))
    return mark_safe("".join(pieces))  # every piece above is escaped


@register.simple_tag
def triage_choices() -> dict[str, list[tuple]]:
    """The labels an agent can correct a post's tags to."""
    return {
        "intent": [choice for choice in Intent.choices if choice[0]],
        "sentiment": [choice for choice in Sentiment.choices if choice[0]],
        "priority": list(Priority.choices),
    }


@register.filter
def display_name(user) -> str:
    """What Parley calls a person: their full name, else their username ("" for nobody)."""
    return core_selectors.display_name(user)


@register.filter
def timer_label(kind: str | None) -> str:
    """ "First response" / "Next response" for a response timer's kind."""
    return selectors.RESPONSE_TIMER_LABELS.get(kind or "", "")


# Where an outbound post went, as the thread labels it.
_CHANNEL_LABELS = {
    "public": _("Public reply"),
    "private": _("Private message"),
    "note": _("Public note (taken private)"),
    "auto": _("Automatic reply"),
}


@register.filter
def outbound_channel(post) -> str:
    """ "public", "private", "note" (the public note of a conversation taken private) or
    "auto" (an automatic reply) for an outbound post."""
    if post.is_private:
        return "private"
    raw = post.raw or {}
    if raw.get("parley_outbound") == "public_note":
        return "note"
    if raw.get("auto_reply"):
        return "auto"
    return "public"


@register.filter
def outbound_channel_label(post) -> str:
    return _CHANNEL_LABELS[outbound_channel(post)]


@register.filter
def permalink(post) -> str:
    """The post's address on its platform, for a published public post; "" when there is
    none (not published yet, a private message, the demo platform)."""
    if post.is_private or not post.external_id:
        return ""
    raw = post.raw or {}
    if raw.get("permalink"):
        return str(raw["permalink"]) if str(raw["permalink"]).startswith("https://") else ""
    if post.platform == Platform.TWITTER:
        return f"https://x.com/i/web/status/{post.external_id}"
    if post.platform == Platform.FACEBOOK:
        return f"https://www.facebook.com/{post.external_id}"
    return ""


@register.filter
def social_actions(post) -> frozenset[str]:
    """The social actions (like, hide, delete, block) the post's platform allows on it."""
    from helpdesk.social import actions_for

    return actions_for(post)
