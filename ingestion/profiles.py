"""Names and pictures for customers Meta knows only by a page-scoped id, and the authors of
posts Meta delivered without one.

Messenger and Instagram Direct senders arrive as bare numbers (a PSID, an IGSID); their
profile comes from a Graph API lookup. Each customer is looked up once: the `CustomerProfile`
row is the cache, and records a failure too (no permission, a user who blocked the page),
so a failing lookup is tolerated and never retried in a loop. A post kept under an "unknown
author" of its own is asked for again once: if the Page token may see who wrote it, the post
(and its conversation) move to that customer.
"""

from __future__ import annotations

import logging

from django.db import transaction

from core.models import Customer
from reliability.redaction import redact

from .connectors import ConnectorError, InboundAuthor, connector_for
from .connectors.base import UNKNOWN_AUTHOR_PREFIX
from .models import CustomerProfile, PlatformAccount

logger = logging.getLogger(__name__)


def look_up_profiles(*, account_id: int, customer_ids: list[int]) -> int:
    """Fetch the profile of each customer not looked up yet; returns how many got a name.

    A failed lookup is recorded on the customer's profile row with the platform's answer
    and leaves the customer as it was.
    """
    account = PlatformAccount.objects.get(pk=account_id)
    try:
        connector = connector_for(account)
    except ConnectorError as error:
        logger.warning("No profile lookups for %s: %s", account, error)
        return 0
    named = 0
    for customer in Customer.objects.filter(pk__in=customer_ids, platform_profile=None):
        if customer.external_id.startswith(UNKNOWN_AUTHOR_PREFIX):
            named += _identify_author(connector, customer)
            continue
        try:
            profile = connector.fetch_profile(customer.external_id)
        except ConnectorError as error:
            logger.info("No profile for %s: %s", customer, error)
            CustomerProfile.objects.get_or_create(
                customer=customer, defaults={"error": redact(str(error))}
            )
            continue
        with transaction.atomic():
            _, created = CustomerProfile.objects.get_or_create(
                customer=customer, defaults={"picture_url": profile["picture_url"][:2000]}
            )
            if not created:
                continue  # looked up meanwhile by another worker
            name = profile["name"][:200]
            handle = (profile["username"] or name)[:100]
            if name or handle:
                Customer.objects.filter(pk=customer.pk).update(
                    display_name=name or customer.display_name, handle=handle or customer.handle
                )
                named += 1
    return named


def _identify_author(connector, customer: Customer) -> int:
    """Ask who wrote the post an "unknown author" stands for; 1 if the platform said."""
    post_id = customer.external_id.removeprefix(UNKNOWN_AUTHOR_PREFIX)
    try:
        author = connector.fetch_author(post_id)
    except ConnectorError as error:
        logger.info("Author of %s still unknown: %s", post_id, error)
        author, reason = None, redact(str(error))
    else:
        reason = "" if author else "The platform does not say who wrote it."
    if author is None:
        CustomerProfile.objects.get_or_create(customer=customer, defaults={"error": reason})
        return 0
    _adopt_author(customer, author)
    return 1


def _adopt_author(unknown: Customer, author: InboundAuthor) -> None:
    """Give the unknown author's posts and conversations to the real one: the customer row
    becomes them, or, when they are already a customer, everything moves to that row."""
    from core.models import Conversation, Post

    with transaction.atomic():
        known = (
            Customer.objects.select_for_update()
            .filter(platform=unknown.platform, external_id=author.external_id)
            .first()
        )
        if known is None:
            Customer.objects.filter(pk=unknown.pk).update(
                external_id=author.external_id,
                handle=author.handle[:100],
                display_name=author.display_name[:200],
            )
            CustomerProfile.objects.get_or_create(customer=unknown)
            return
        Post.objects.filter(customer=unknown).update(customer=known)
        Conversation.objects.filter(customer=unknown).update(customer=known)
        unknown.delete()
