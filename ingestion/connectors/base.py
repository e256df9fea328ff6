"""The one small interface every platform connector implements, and the errors it raises.

A connector turns a platform's API into `InboundItem`s and back. It never touches the
database: the services decide what is stored, when the cursor moves and what is retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from reliability.celery_base import TransientError as RetryableError


@dataclass(frozen=True)
class InboundAuthor:
    external_id: str
    handle: str
    display_name: str = ""
    follower_count: int = 0
    is_verified: bool = False


class ItemEvent:
    """What happened to a post on the platform."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"


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


@dataclass(frozen=True)
class FetchResult:
    items: list[InboundItem]
    # Stored on the account only once every item is committed.
    cursor: dict[str, Any]
    # The platform's quota as its headers last reported it, per endpoint.
    rate_limit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookItem:
    """An item from a webhook delivery, with the id of the brand account it was sent for.

    Some deliveries only point at the post (an Instagram mention): then `item` is None and
    `lookup` says what the connector's `fetch_mention` must fetch.
    """

    account_external_id: str
    item: InboundItem | None
    lookup: dict[str, str] = field(default_factory=dict)


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
