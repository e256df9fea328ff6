"""The one small interface every platform connector implements, and the errors it raises.

A connector turns a platform's API into `InboundItem`s and back. It never touches the
database: the services decide what is stored, when the cursor moves and what is retried.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from reliability.celery_base import TransientError as RetryableError

# What one unreadable event or poll item can raise while its platform's shape is read.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)

# The customer id of a post whose author the platform did not name (Meta may leave out
# `from`): one per post, never one shared "" that would merge strangers' posts.
UNKNOWN_AUTHOR_PREFIX = "unknown:"
UNKNOWN_AUTHOR_NAME = "Unknown author"


@dataclass(frozen=True)
class InboundAuthor:
    external_id: str
    handle: str
    display_name: str = ""
    follower_count: int = 0
    is_verified: bool = False

    @property
    def is_unknown(self) -> bool:
        return not self.external_id or self.external_id.startswith(UNKNOWN_AUTHOR_PREFIX)


def unknown_author(post_id: str) -> InboundAuthor:
    """The author of a post the platform did not say who wrote: a customer of its own."""
    return InboundAuthor(
        external_id=f"{UNKNOWN_AUTHOR_PREFIX}{post_id}", handle="", display_name=UNKNOWN_AUTHOR_NAME
    )


def unescape_x_text(text: str) -> str:
    """X sends `&amp;`, `&lt;` and `&gt;` escaped in tweet and DM text: unescape once, when
    the platform's payload is read (templates escape again on output)."""
    return html.unescape(text) if "&" in text else text


@dataclass(frozen=True)
class Attachment:
    """A photo, video, file or link that came with a post. URLs are the platform's own and
    untrusted: they are shown as links and images, never fetched by Parley."""

    type: str
    url: str = ""
    preview_url: str = ""
    alt_text: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "type": self.type,
            "url": self.url,
            "preview_url": self.preview_url,
            "alt_text": self.alt_text,
        }


class ItemEvent:
    """What happened to a post on the platform."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"
    # A retweet, like or reaction: counted on the post it is about, never a customer post
    # (no conversation, no clock). `in_reply_to` names that post; `raw` carries
    # `parley_engagement` (retweet, like, share) and, when the platform says, `count`.
    ENGAGEMENT = "engagement"


@dataclass(frozen=True)
class InboundItem:
    """A post as a platform delivered it, before Parley has stored it."""

    external_id: str
    author: InboundAuthor
    text: str
    created_at: datetime
    in_reply_to: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    # "post", "comment" or "message" (a private message: DM, Messenger).
    kind: str = "post"
    event: str = ItemEvent.CREATED
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class FetchResult:
    items: list[InboundItem]
    # Stored on the account only once every item is committed.
    cursor: dict[str, Any]
    # The platform's quota as its headers last reported it, per endpoint.
    rate_limit: dict[str, Any] = field(default_factory=dict)
    # Items that could not be read, each skipped and said here (recorded on the account).
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WebhookItem:
    """An item from a webhook delivery, with the id of the brand account it was sent for.

    Some deliveries only point at the post (an Instagram mention): then `item` is None and
    `lookup` says what the connector's `fetch_mention` must fetch.
    """

    account_external_id: str
    item: InboundItem | None
    lookup: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedDelivery:
    """What a webhook delivery carries, read event by event.

    An event that cannot be read is skipped and named in `problems` with its JSON path;
    the rest of the delivery is stored. `revoked` holds the platform user ids that took
    Parley's access away (X `user_event` revoke), with the reason to show.
    """

    items: list[WebhookItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    revoked: list[tuple[str, str]] = field(default_factory=list)

    @contextmanager
    def event(self, path: str) -> Iterator[None]:
        """Read one event; if its shape is not the platform's, record why and go on."""
        try:
            yield
        except SHAPE_ERRORS as error:
            self.problems.append(f"{path}: unreadable event skipped ({error!r})")


@dataclass(frozen=True)
class ConnectionCheck:
    """One thing "Test connection" tried on an account: what, whether it works, in words."""

    capability: str
    works: bool
    detail: str


class SocialAction:
    """What an agent can do to a post (or its author) on the platform, beside answering it."""

    LIKE = "like"
    HIDE = "hide"
    DELETE = "delete"
    BLOCK = "block"


class ConnectorError(Exception):
    """The platform refused or failed a call; the message carries its answer."""


class ReplyRejected(ConnectorError):
    """Parley refused to send a reply the platform would not accept; no API call was made."""


class TransientError(ConnectorError, RetryableError):
    """A 5xx or a network failure: worth retrying later with backoff (a task it escapes from
    is retried by Celery, see reliability.celery_base)."""


class PermanentError(ConnectorError):
    """The platform refuses the account itself (bad or revoked credentials)."""


class RateLimited(ConnectorError):
    """The platform said to slow down; nothing may be called before `reset_at`."""

    def __init__(self, message: str, *, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class DeliveryUncertain(ConnectorError):
    """A publishing call ended without an answer: the platform may have published it."""


class Connector(Protocol):
    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        """Items posted since `cursor`, oldest first, and the cursor to resume from."""

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        """Publish a public reply; returns the platform's id for it."""

    def send_private_message(self, *, recipient_id: str, text: str, idempotency_key: str) -> str:
        """Send a private message (DM, Messenger) to a customer; returns the platform's id."""

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        """The id of a reply with this text to `in_reply_to` published since `since`, if any.

        Asked after a publishing call ended without an answer, before publishing again.
        """

    def check_connection(self) -> list[ConnectionCheck]:
        """One cheap authenticated call per capability (read, reply, DMs, webhooks), said in
        words for the admin's "Test connection"."""

    # Social actions (helpdesk.social), offered where `SOCIAL_ACTIONS` says the platform
    # allows them; each raises a ConnectorError carrying the platform's refusal in words.
    def like_post(self, *, post_id: str, liked: bool) -> None:
        """Like (or, with liked=False, unlike) a post as the brand."""

    def hide_comment(self, *, comment_id: str, hidden: bool) -> None:
        """Hide a comment from everyone but its author (or show it again)."""

    def delete_post(self, *, post_id: str) -> None:
        """Delete one of the brand's own posts (a reply it published)."""

    def block_author(self, *, author_id: str) -> None:
        """Block a user from the brand account."""

    # Meta's connectors also offer `fetch_profile(user_id)` (a page-scoped sender's name and
    # picture), `fetch_author(post_id)` (who wrote a post delivered without `from`) and, for
    # Instagram, `fetch_mention(...)` and `send_mention_reply(...)`.
