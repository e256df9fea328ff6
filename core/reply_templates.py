"""The one template syntax for every message Parley writes to a customer: reply templates,
the out-of-hours reply, the CSAT survey message and the "taken private" note.

Django's template syntax, plain text out (nothing escaped, no tags beyond the built-ins),
and a fixed set of variables per kind of message. A body that uses a variable its kind does
not offer is refused when it is saved (check_template), with the list of those it may use:
`{{ customer.firstname }}` is an error in the form, not "Hi , thanks!" sent to a customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Node, VariableNode
from django.template.defaulttags import ForNode, IfNode, WithNode

from .models import AgentPreferences, Conversation, Customer, Platform, ReplyTemplate

# Replies are plain text for the platform, not HTML: nothing to escape, and no tags beyond the
# built-ins (no {% load %} of anything the admin did not write).
_ENGINE = Engine(autoescape=False, libraries={})


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    example: str


CUSTOMER_VARIABLES = (
    Variable("customer.name", "The customer's display name (or handle)", "Maria Garcia"),
    Variable("customer.first_name", "The first word of the customer's name", "Maria"),
    Variable("customer.handle", "The customer's @handle", "@maria_g"),
    Variable("brand.handle", "The brand account's @handle", "@parley_demo"),
)
AGENT_VARIABLES = (
    Variable("agent.first_name", "The replying agent's first name", "Dana"),
    Variable("agent.name", "The replying agent's full name", "Dana Smith"),
    Variable("agent.signature", "The signature the agent set on their profile", "^Dana"),
)
# Which variables each kind of message may use.
REPLY_VARIABLES = CUSTOMER_VARIABLES + AGENT_VARIABLES
OUT_OF_HOURS_VARIABLES = (
    *CUSTOMER_VARIABLES,
    Variable("back_at", "When the team is back, in the service window's timezone", "Monday 08:00"),
)
CSAT_VARIABLES = (
    *CUSTOMER_VARIABLES,
    Variable("survey_link", "The link to the one-question survey", "https://…/csat/…/"),
)


def variables_help(variables: Iterable[Variable]) -> str:
    """ "{{ customer.name }} (the customer's display name), …": for a form's help text."""
    return ", ".join(f"{{{{ {v.name} }}}} ({v.description.lower()})" for v in variables)


def _used_variables(nodes: Iterable[Node], local: frozenset[str] = frozenset()) -> dict[str, None]:
    """Every variable name the template reads ("customer.first_name"), in {{ }} and in the
    conditions and loops of built-in tags, in order of appearance (an ordered set); names a
    {% for %} or {% with %} binds are local."""
    used: dict[str, None] = {}

    def variable(var) -> None:
        # A template.Variable with lookups reads the context; a literal ("hi", 3) does not.
        if getattr(var, "lookups", None) and var.var.split(".")[0] not in local:
            used[var.var] = None

    def expression(filter_expression) -> None:
        variable(getattr(filter_expression, "var", None))
        for _, arguments in getattr(filter_expression, "filters", []):
            for _, argument in arguments:
                variable(argument)

    def condition(cond) -> None:
        if cond is None:
            return
        if hasattr(cond, "value"):  # a literal: a FilterExpression
            expression(cond.value)
        for side in (getattr(cond, "first", None), getattr(cond, "second", None)):
            if side is not None and side is not cond:
                condition(side)

    def merge(more: dict[str, None]) -> None:
        used.update(more)

    for node in nodes:
        if isinstance(node, VariableNode):
            expression(node.filter_expression)
        elif isinstance(node, IfNode):
            for cond, nodelist in node.conditions_nodelists:
                condition(cond)
                merge(_used_variables(nodelist, local))
            continue
        elif isinstance(node, ForNode):
            expression(node.sequence)
            bound = local | frozenset(node.loopvars) | {"forloop"}
            merge(_used_variables(node.nodelist_loop, bound))
            merge(_used_variables(node.nodelist_empty, local))
            continue
        elif isinstance(node, WithNode):
            for value in node.extra_context.values():
                expression(value)
            merge(_used_variables(node.nodelist, local | frozenset(node.extra_context)))
            continue
        for attribute in getattr(node, "child_nodelists", ()):
            merge(_used_variables(getattr(node, attribute, None) or [], local))
    return used


def check_template(body: str, variables: Iterable[Variable] = REPLY_VARIABLES) -> None:
    """Refuse a body that does not parse or reads a variable not in `variables`; the error
    names the unknown ones and lists those available."""
    try:
        template = _ENGINE.from_string(body)
    except TemplateSyntaxError as error:
        raise ValidationError(f"Template error: {error}") from error
    known = {variable.name for variable in variables}
    unknown = sorted(set(_used_variables(template.nodelist)) - known)
    if unknown:
        names = ", ".join(f"{{{{ {name} }}}}" for name in unknown)
        available = ", ".join(f"{{{{ {name} }}}}" for name in sorted(known))
        raise ValidationError(
            f"Unknown variable{'s' if len(unknown) > 1 else ''} {names}. Available: {available}."
        )


# The earlier name, kept for its callers: a reply template's syntax and variables check.
check_template_syntax = check_template
# The variables a reply template may use, by name.
KNOWN_VARIABLES = tuple(variable.name for variable in REPLY_VARIABLES)


def unknown_variables(body: str, variables: Iterable[Variable] = REPLY_VARIABLES) -> list[str]:
    """The variables `body` uses that its kind of message does not offer, in order of
    appearance; [] for a body that does not parse (check_template says why)."""
    try:
        template = _ENGINE.from_string(body)
    except TemplateSyntaxError:
        return []
    known = {variable.name for variable in variables}
    return [name for name in _used_variables(template.nodelist) if name not in known]


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


def customer_context(conversation: Conversation) -> dict[str, Any]:
    customer = conversation.customer
    name = customer.display_name or customer.handle
    return {
        "customer": {
            "name": name,
            "first_name": name.split()[0] if name.split() else name,
            "handle": f"@{customer.handle}",
        },
        "brand": {"handle": f"@{conversation.account.handle}"},
    }


def _signature(agent: AbstractBaseUser) -> str:
    """Read once per user object (a page renders every template for the same agent)."""
    if agent.pk is None:
        return ""
    cached = getattr(agent, "_parley_signature", None)
    if cached is None:
        cached = (
            AgentPreferences.objects.filter(user=agent).values_list("signature", flat=True).first()
            or ""
        )
        agent._parley_signature = cached
    return cached


def render_text(
    body: str,
    *,
    conversation: Conversation,
    agent: AbstractBaseUser | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """`body` with the customer, brand and (when given) agent variables filled in, and any
    `extra` ones of the message's kind (back_at, survey_link)."""
    context = customer_context(conversation)
    if agent is not None:
        context["agent"] = {
            "first_name": getattr(agent, "first_name", "") or agent.get_username(),
            "name": getattr(agent, "get_full_name", lambda: "")() or agent.get_username(),
            # Called by the template engine only when a body uses it: no read otherwise.
            "signature": lambda: _signature(agent),
        }
    context.update(extra or {})
    return _ENGINE.from_string(body).render(Context(context, autoescape=False)).strip()


def sample_conversation(platform: str = Platform.DEMO, brand_handle: str = "parley_demo"):
    """An unsaved conversation with a made-up customer, for previews."""
    account_model = Conversation._meta.get_field("account").related_model
    return Conversation(
        customer=Customer(platform=platform, handle="maria_g", display_name="Maria Garcia"),
        account=account_model(platform=platform, handle=brand_handle),
    )


def preview(
    body: str,
    *,
    agent: AbstractBaseUser | None = None,
    conversation: Conversation | None = None,
    variables: Iterable[Variable] = REPLY_VARIABLES,
) -> str:
    """The body checked (ValidationError if it cannot be used) and filled in for a sample
    conversation, as the customer would read it."""
    variables = tuple(variables)
    check_template(body, variables)
    extra = {
        variable.name: variable.example
        for variable in variables
        if "." not in variable.name  # back_at, survey_link
    }
    return render_text(
        body, conversation=conversation or sample_conversation(), agent=agent, extra=extra
    )
