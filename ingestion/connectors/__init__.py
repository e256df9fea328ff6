"""One module per platform behind the `Connector` interface; `connector_for` picks it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpdesk.models import Platform

from .base import Connector, ConnectorError, FetchResult, InboundAuthor, InboundItem

if TYPE_CHECKING:
    from ingestion.models import PlatformAccount

__all__ = [
    "Connector",
    "ConnectorError",
    "FetchResult",
    "InboundAuthor",
    "InboundItem",
    "connector_for",
]


def connector_for(account: PlatformAccount) -> Connector:
    if account.platform == Platform.DEMO:
        from .demo import DemoConnector

        return DemoConnector(brand_handle=account.handle)
    raise ConnectorError(
        f"No connector for {account.get_platform_display()} yet; only the demo platform polls."
    )
