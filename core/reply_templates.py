"""Rendering reply templates: Django template syntax, plain text, a fixed set of variables."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import VariableNode

from .models import Conversation, ReplyTemplate

# Replies are plain text for the platform, not HTML: nothing to escape, and no tags beyond the
# built-ins (no {% load %} of anything the admin did not write).
_ENGINE = Engine(autoescape=False, libraries={})


# What a reply template may use (render_text fills them); anything else would be left empty.
KNOWN_VARIABLES = (
    "customer.name",
    "customer.first_name",
    "customer.handle",
    "agent.first_name",
    "agent.name",
    "brand.handle",
)


def check_template_syntax(body: str) -> None:
    """A body that does not parse, or uses a variable Parley does not fill, is refused with
    a message that says which (so "Hi {{ customer.nam }}" never goes out as "Hi ")."""
    try:
        _ENGINE.from_string(body)
    except TemplateSyntaxError as error:
        raise ValidationError(f"Template error: {error}") from error
    unknown = unknown_variables(body)
    if unknown:
        names = ", ".join(f"{{{{ {name} }}}}" for name in unknown)
        known = ", ".join(f"{{{{ {name} }}}}" for name in KNOWN_VARIABLES)
        raise ValidationError(f"Unknown variable {names}: use {known}.")


def unknown_variables(body: str) -> list[str]:
    """The variables `body` uses that Parley does not fill, in order of appearance; [] for
    a body that does not parse (check_template_syntax says why)."""
    try:
        template = _ENGINE.from_string(body)
    except TemplateSyntaxError:
        return []
    found: list[str] = []
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        variable = node.filter_expression.var
        name = getattr(variable, "var", None)
        if isinstance(name, str) and name not in KNOWN_VARIABLES and name not in found:
            found.append(name)
    return found


def body_for(template: ReplyTemplate, platform: str) -> str:
    """The template's text on `platform`: its variant there, else its own body."""
    variant = next((v for v in template.variants.all() if v.platform == platform), None)
    return variant.body if variant else template.body


# What the customer sees in public when an agent takes the conversation private.
TAKEN_PRIVATE_NOTE = (
    "Hi {{ customer.first_name }}, we've sent you a private message so we can look into this "
    "with your details safely. ^{{ agent.first_name }}"
)


def render_reply_template(
    template: ReplyTemplate, *, conversation: Conversation, agent: AbstractBaseUser
) -> str:
    body = body_for(template, conversation.account.platform)
    return render_text(body, conversation=conversation, agent=agent)


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
