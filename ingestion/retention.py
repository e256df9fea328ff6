"""How long webhook deliveries are kept once processed.

Every delivery a platform pushes is stored before it is acknowledged (ingestion.intake) and
marked once a worker has turned it into posts; the posts keep their own raw payload. Kept
forever, the deliveries would grow the table and its unique index on the body's digest by a
month's traffic every month (the index every storm INSERT writes into, at random places),
and keep the platforms' payloads, customers' personal data included, without an end. Those
processed more than WEBHOOK_DELIVERY_RETENTION_DAYS ago are deleted; those not processed
yet are work and stay. A platform redelivering a body after that is stored again and its
posts are found stored (they are kept once per platform and external id): nothing is
duplicated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import WebhookDelivery

logger = logging.getLogger(__name__)

# Rows read and deleted per statement: short transactions beside a storm's INSERTs.
PURGE_BATCH = 5000


def purge_processed_deliveries(*, now: datetime | None = None) -> int:
    """Delete the deliveries processed and received more than the retention ago; returns
    how many. Walks the table from its oldest id and stops at the first batch reaching the
    days kept, so it reads what it deletes, not the whole table."""
    days = settings.WEBHOOK_DELIVERY_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    after = 0
    while True:
        rows = list(
            WebhookDelivery.objects.filter(id__gt=after)
            .order_by("id")
            .values_list("id", "received_at", "processed_at")[:PURGE_BATCH]
        )
        if not rows:
            break
        expired = [
            pk for pk, received, processed in rows if processed is not None and received < cutoff
        ]
        if expired:
            purged += WebhookDelivery.objects.filter(pk__in=expired).delete()[0]
        if rows[-1][1] >= cutoff:
            break
        after = rows[-1][0]
    if purged:
        logger.info("Webhook deliveries: deleted %s processed before %s", purged, cutoff)
    return purged
