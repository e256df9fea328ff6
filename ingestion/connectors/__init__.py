"""One module per platform behind the `Connector` interface; `connector_for` picks it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.models import Platform

from .base import (
    Attachment,
    ConnectionCheck,
    Connector,
    ConnectorError,
    DeliveryUncertain,
    FetchResult,
    InboundAuthor,
    InboundItem,
    ItemEvent,
    ParsedDelivery,
    PermanentError,
    RateLimited,
    ReplyRejected,
    SocialAction,
    TransientError,
    WebhookItem,
    unknown_author,
)

if TYPE_CHECKING:
    from ingestion.models import PlatformAccount

__all__ = [
    "SOCIAL_ACTIONS",
    "Attachment",
    "ConnectionCheck",
    "Connector",
    "ConnectorError",
    "DeliveryUncertain",
    "FetchResult",
    "InboundAuthor",
    "InboundItem",
    "ItemEvent",
    "ParsedDelivery",
    "PermanentError",
    "RateLimited",
    "ReplyRejected",
    "SocialAction",
    "TransientError",
    "WebhookItem",
    "connector_for",
    "unknown_author",
]

# What each platform's API lets a brand do beside answering. X: like a post, delete its own
# tweet, block a user (the block endpoint needs X's Enterprise plan; X says so when refused).
# Facebook Pages: like, hide a comment, delete the Page's own comment, block a user from the
# Page. Instagram: hide a comment and delete the account's own (its API has no like and no
# block). The demo platform does everything, so `make run` shows every button working.
SOCIAL_ACTIONS: dict[str, frozenset[str]] = {
    Platform.DEMO: frozenset(
        {SocialAction.LIKE, SocialAction.HIDE, SocialAction.DELETE, SocialAction.BLOCK}
    ),
    Platform.TWITTER: frozenset({SocialAction.LIKE, SocialAction.DELETE, SocialAction.BLOCK}),
    Platform.FACEBOOK: frozenset(
        {SocialAction.LIKE, SocialAction.HIDE, SocialAction.DELETE, SocialAction.BLOCK}
    ),
    Platform.INSTAGRAM: frozenset({SocialAction.HIDE, SocialAction.DELETE}),
}


def connector_for(account: PlatformAccount) -> Connector:
    if account.platform == Platform.DEMO:
        from .demo import DemoConnector

        return DemoConnector(brand_handle=account.handle)
    if not account.external_id:
        raise PermanentError(
            f"{account} has no platform account id; set it in the admin before polling."
        )
    if account.platform == Platform.TWITTER:
        from .twitter import TwitterConnector

        return TwitterConnector(
            account_id=account.external_id,
            handle=account.handle,
            credentials=account.credentials,
            queries=account.queries,
        )
    if account.platform == Platform.FACEBOOK:
        from .facebook import FacebookPageConnector

        return FacebookPageConnector(
            account_id=account.external_id, handle=account.handle, credentials=account.credentials
        )
    if account.platform == Platform.INSTAGRAM:
        from .facebook import InstagramConnector

        return InstagramConnector(
            account_id=account.external_id, handle=account.handle, credentials=account.credentials
        )
    raise ConnectorError(f"No connector for {account.get_platform_display()}.")
