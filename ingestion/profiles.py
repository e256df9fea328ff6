"""Names and pictures for customers Meta knows only by a page-scoped id.

Messenger and Instagram Direct senders arrive as bare numbers (a PSID, an IGSID); their
profile comes from a Graph API lookup. Each customer is looked up once: the `CustomerProfile`
row is the cache, and records a failure too (no permission, a user who blocked the page),
so a failing lookup is tolerated and never retried in a loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from core.models import Customer, Platform

from .connectors import ConnectorError, connector_for
from .models import CustomerProfile, PlatformAccount

logger = logging.getLogger(__name__)

LOOKUP_PLATFORMS = {Platform.FACEBOOK, Platform.INSTAGRAM}


def customers_needing_profiles(*, platform: str, external_ids: Iterable[str]) -> list[int]:
    """The ids of these customers never looked up yet."""
    if platform not in LOOKUP_PLATFORMS:
        return []
    return list(
        Customer.objects.filter(
            platform=platform, external_id__in=list(set(external_ids)), platform_profile=None
        ).values_list("pk", flat=True)
    )


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
        try:
            profile = connector.fetch_profile(customer.external_id)
        except ConnectorError as error:
            logger.info("No profile for %s: %s", customer, error)
            CustomerProfile.objects.get_or_create(customer=customer, defaults={"error": str(error)})
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
