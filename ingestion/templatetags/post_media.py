"""What the thread shows of a post's platform payload: its attachments and quoted tweet.

Attachment URLs come from the platforms' payloads, or from an import file: untrusted. Only
http(s) URLs are ever put in a page (never `javascript:` or `data:`), and templates escape
them like any text.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def _web_url(value: Any) -> str:
    url = value.strip() if isinstance(value, str) else ""
    return url if url.lower().startswith(("https://", "http://")) else ""


@register.filter
def post_attachments(post: Any) -> list[dict[str, str]]:
    """The post's attachments with a web URL each: type, url, preview_url, alt_text."""
    raw = getattr(post, "raw", None)
    found = raw.get("parley_attachments") if isinstance(raw, dict) else None
    shown = []
    for attachment in found if isinstance(found, list) else []:
        if not isinstance(attachment, dict):
            continue
        url, preview = _web_url(attachment.get("url")), _web_url(attachment.get("preview_url"))
        if url or preview:
            shown.append(
                {
                    "type": str(attachment.get("type") or "file"),
                    "url": url or preview,
                    "preview_url": preview,
                    "alt_text": str(attachment.get("alt_text") or ""),
                }
            )
    return shown


@register.filter
def quoted_post(post: Any) -> dict[str, str] | None:
    """The tweet a quote tweet quotes, as stored beside it."""
    raw = getattr(post, "raw", None)
    quoted = raw.get("parley_quoted") if isinstance(raw, dict) else None
    if not isinstance(quoted, dict) or not quoted.get("text"):
        return None
    return {"handle": str(quoted.get("handle") or ""), "text": str(quoted["text"])}


@register.filter
def profile_picture(customer: Any) -> str:
    """The customer's picture from a platform profile lookup, if any."""
    try:
        profile = customer.platform_profile
    except Exception:  # no profile row: RelatedObjectDoesNotExist
        return ""
    return _web_url(profile.picture_url)


@register.simple_tag
def messaging_window(conversation: Any) -> Any:
    """Meta's window for answering the conversation's latest private message, if any."""
    from ingestion.selectors import messaging_window as window_of

    return window_of(conversation_id=conversation.pk, platform=conversation.account.platform)


@register.filter
def customer_label(customer: Any) -> str:
    """ "@handle", or the name of a customer the platform gave no handle (an unknown author)."""
    handle = getattr(customer, "handle", "")
    if handle:
        return f"@{handle}"
    return getattr(customer, "display_name", "") or "Unknown author"
