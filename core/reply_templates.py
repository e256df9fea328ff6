"""Rendering reply templates: Django template syntax, plain text, a fixed set of variables."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError

from .models import Conversation, ReplyTemplate

# Replies are plain text for the platform, not HTML: nothing to escape, and no tags beyond the
# built-ins (no {% load %} of anything the admin did not write).
_ENGINE = Engine(autoescape=False, libraries={})


def check_template_syntax(body: str) -> None:
    try:
        _ENGINE.from_string(body)
    except TemplateSyntaxError as error:
        raise ValidationError(f"Template error: {error}") from error


# What the customer sees in public when an agent takes the conversation private.
TAKEN_PRIVATE_NOTE = (
    "Hi {{ customer.first_name }}, we've sent you a private message so we can look into this "
    "with your details safely. ^{{ agent.first_name }}"
)


def render_reply_template(
    template: ReplyTemplate, *, conversation: Conversation, agent: AbstractBaseUser
) -> str:
    platform = conversation.account.platform
    variant = next((v for v in template.variants.all() if v.platform == platform), None)
    return render_text(
        variant.body if variant else template.body, conversation=conversation, agent=agent
    )


def render_text(body: str, *, conversation: Conversation, agent: AbstractBaseUser) -> str:
    """`body` with the customer, agent and brand variables filled in."""
    customer = conversation.customer
    context = {
        "customer": {
            "name": customer.display_name or customer.handle,
            "first_name": (customer.display_name or customer.handle).split()[0],
            "handle": f"@{customer.handle}",
        },
        "agent": {
            "first_name": getattr(agent, "first_name", "") or agent.get_username(),
            "name": getattr(agent, "get_full_name", lambda: "")() or agent.get_username(),
        },
        "brand": {"handle": f"@{conversation.account.handle}"},
    }
    return _ENGINE.from_string(body).render(Context(context, autoescape=False)).strip()
