"""The one small interface every platform connector implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class InboundAuthor:
    external_id: str
    handle: str
    display_name: str = ""
    follower_count: int = 0
    is_verified: bool = False


@dataclass(frozen=True)
class InboundItem:
    """A post as a platform delivered it, before Parley has stored it."""

    external_id: str
    author: InboundAuthor
    text: str
    created_at: datetime
    in_reply_to: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchResult:
    items: list[InboundItem]
    # Stored on the account only once every item is committed.
    cursor: dict[str, Any]


class ConnectorError(Exception):
    """The platform refused or failed a call; the message carries its answer."""


class Connector(Protocol):
    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        """Items posted since `cursor`, oldest first, and the cursor to resume from."""

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        """Publish a public reply; returns the platform's id for it."""
