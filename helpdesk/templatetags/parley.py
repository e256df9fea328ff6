"""Template helpers for the agents' pages."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from core.models import Intent, Note, Priority, Sentiment
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
