"""Read-side queries of ingestion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import Customer, Direction, Platform, Post

from .models import CustomerLink, LinkStatus


def linked_identities(*, customer: Customer) -> QuerySet[Customer]:
    """The customer's confirmed identities on other platforms."""
    links = CustomerLink.objects.filter(status=LinkStatus.CONFIRMED).filter(
        Q(customer=customer) | Q(other=customer)
    )
    ids = {pk for pair in links.values_list("customer_id", "other_id") for pk in pair}
    ids.discard(customer.pk)
    return Customer.objects.filter(pk__in=ids).order_by("platform", "handle")


# Meta's messaging policy: a business may answer a person's message freely for 24 hours; a
# human agent may answer up to 7 days after it with the HUMAN_AGENT tag (a permission Meta
# grants on review). Same for Messenger and Instagram Direct.
# https://developers.facebook.com/docs/messenger-platform/policy/policy-overview
# https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags/
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class MessagingWindow:
    """When a private answer to a Messenger / Instagram Direct customer may still go out."""

    last_message_at: datetime
    standard_ends_at: datetime
    human_agent_ends_at: datetime
    human_agent_enabled: bool

    def state(self, now: datetime | None = None) -> str:
        """ "open" (answer freely), "human_agent" (only with the tag) or "closed"."""
        now = now or timezone.now()
        if now < self.standard_ends_at:
            return "open"
        if now < self.human_agent_ends_at:
            return "human_agent"
        return "closed"

    def refusal(self, now: datetime | None = None) -> str:
        """Why a private answer cannot go out now, in words an agent can act on; "" if it can."""
        state = self.state(now)
        if state == "open" or (state == "human_agent" and self.human_agent_enabled):
            return ""
        closed = f"{self.standard_ends_at:%d %b %H:%M} UTC"
        if state == "human_agent":
            return (
                f"Meta's 24-hour window to answer this message privately closed at {closed}. "
                "Sending later needs Meta's Human Agent permission (set META_HUMAN_AGENT_TAG "
                "once Meta approved it). Answer publicly, or ask the customer to write again."
            )
        return (
            f"Meta's window to answer this message privately closed at {closed} (7 days with "
            "the Human Agent tag). Answer publicly, or wait until the customer writes again."
        )


def messaging_window(*, conversation_id: int, platform: str) -> MessagingWindow | None:
    """The window of the customer's latest private message in the conversation (Facebook and
    Instagram only); None when they sent none."""
    if platform not in {Platform.FACEBOOK, Platform.INSTAGRAM}:
        return None
    last = (
        Post.objects.filter(
            conversation_id=conversation_id,
            direction=Direction.INBOUND,
            raw__parley_kind="message",
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return None
    return MessagingWindow(
        last_message_at=last,
        standard_ends_at=last + STANDARD_WINDOW,
        human_agent_ends_at=last + HUMAN_AGENT_WINDOW,
        human_agent_enabled=settings.META_HUMAN_AGENT_TAG,
    )


# Platforms whose message senders are page-scoped ids, named by a profile lookup.
PROFILE_LOOKUP_PLATFORMS = {Platform.FACEBOOK, Platform.INSTAGRAM}


def customers_needing_profiles(*, platform: str, external_ids: Iterable[str]) -> list[int]:
    """The ids of these customers never looked up yet."""
    if platform not in PROFILE_LOOKUP_PLATFORMS:
        return []
    return list(
        Customer.objects.filter(
            platform=platform, external_id__in=list(set(external_ids)), platform_profile=None
        ).values_list("pk", flat=True)
    )
