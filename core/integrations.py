"""Outbound webhooks for integrators: conversation created / assigned / resolved, SLA breached.

Events are written to an outbox table in the transaction of the change they report and sent
after commit; a failed send is retried with backoff by a periodic sweep. Each request is signed:
`X-Parley-Signature: sha256=HMAC_SHA256(key, "{timestamp}.{body}")`, with the timestamp in
`X-Parley-Timestamp`, so a receiver can verify it and refuse replays. `X-Parley-Delivery` is the
same on every retry of one delivery: receivers dedupe on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import requests
from celery import current_app
from django.db import transaction
from django.utils import timezone

from reliability.services import publish

from .models import Conversation, IntegrationDelivery, IntegrationWebhook

DELIVER_TASK = "core.tasks.deliver_integration_event"
logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30


def sign(key: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def emit(event: str, conversation: Conversation) -> None:
    """Queue `event` for every endpoint that wants it, in the caller's transaction."""
    emit_many(event, [conversation])


def emit_many(event: str, conversations: Sequence[Conversation]) -> None:
    """Queue `event` about each conversation for every endpoint that wants it, in the
    caller's transaction: one read of the endpoints and one insert for a whole batch."""
    if not conversations:
        return
    webhooks = [
        hook for hook in IntegrationWebhook.objects.filter(is_active=True) if hook.wants(event)
    ]
    if not webhooks:
        return
    occurred_at = timezone.now().isoformat()
    deliveries = IntegrationDelivery.objects.bulk_create(
        IntegrationDelivery(
            webhook=hook, event=event, payload=_payload(event, conversation, occurred_at)
        )
        for conversation in conversations
        for hook in webhooks
    )
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))


def _payload(event: str, conversation: Conversation, occurred_at: str) -> dict:
    return {
        "event": event,
        "occurred_at": occurred_at,
        "conversation": {
            "id": conversation.pk,
            "status": conversation.status,
            "team_id": conversation.team_id,
            "assignee_id": conversation.assignee_id,
            "customer_id": conversation.customer_id,
            "account_id": conversation.account_id,
            "priority": conversation.priority,
            "intent": conversation.intent,
            "sentiment": conversation.sentiment,
        },
    }


def deliver(*, delivery_id: int) -> bool:
    """Send one delivery if it is still due; returns whether it is delivered."""
    with transaction.atomic():
        delivery = (
            IntegrationDelivery.objects.select_for_update(skip_locked=True)
            .select_related("webhook")
            .filter(pk=delivery_id, delivered_at=None)
            .first()
        )
        if delivery is None:
            return True
        body = json.dumps(delivery.payload, sort_keys=True).encode()
        timestamp = str(int(timezone.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Parley-Webhooks/1",
            "X-Parley-Event": delivery.event,
            "X-Parley-Delivery": str(delivery.pk),
            "X-Parley-Timestamp": timestamp,
            "X-Parley-Signature": sign(delivery.webhook.secret.get("key", ""), timestamp, body),
        }
        delivery.attempts += 1
        try:
            response = requests.post(
                delivery.webhook.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS
            )
            error = "" if response.ok else f"HTTP {response.status_code}: {response.text[:500]}"
        except requests.RequestException as failure:
            error = f"{type(failure).__name__}: {failure}"
        if error:
            logger.warning("Webhook %s to %s failed: %s", delivery.event, delivery.webhook, error)
            delivery.last_error = error
            delivery.next_attempt_at = _next_attempt(delivery.attempts)
        else:
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        delivery.save()
    return delivery.delivered_at is not None


def retry_due(*, now: datetime) -> int:
    """Re-send deliveries whose backoff has passed (and any whose send never ran)."""
    due = IntegrationDelivery.objects.filter(
        delivered_at=None, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now
    ) | IntegrationDelivery.objects.filter(
        delivered_at=None, attempts=0, created_at__lte=now - timedelta(minutes=1)
    )
    ids = list(due.values_list("pk", flat=True)[:500])
    for delivery_id in ids:
        _enqueue(delivery_id)
    return len(ids)


def _next_attempt(attempts: int) -> datetime | None:
    if attempts >= MAX_ATTEMPTS:
        return None
    return timezone.now() + timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))


def _enqueue(delivery_id: int) -> None:
    # The delivery is in the outbox: with the broker down, retry_due sends it later. The task
    # (core.tasks) is named, not imported: it calls this module.
    publish(current_app.tasks[DELIVER_TASK], delivery_id)
