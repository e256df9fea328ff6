"""{% socket_url "inbox" %}: a WebSocket's path from its route (parley.websockets), so the
pages' scripts read it from a data attribute instead of spelling it out."""

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def socket_url(name: str, *args) -> str:
    return reverse(f"ws_{name}", urlconf="parley.websockets", args=args)
