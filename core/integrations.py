"""Outbound webhooks for integrators: conversation created / assigned / resolved, SLA breached.

Events are written to an outbox table in the transaction of the change they report and sent
after commit; a failed send is retried with backoff by a periodic sweep. Each request is signed
as Standard Webhooks (standardwebhooks.com) define, so receivers verify it with a stock library:
`webhook-id` (the same on every retry of one delivery: receivers dedupe on it),
`webhook-timestamp` and `webhook-signature: v1,base64(HMAC_SHA256(secret, "{id}.{timestamp}.
{body}"))`. The secret is the endpoint's signing key: a `whsec_…` key as Standard Webhooks
libraries generate it, or any other text, which verifiers then take as `whsec_` + its base64.

The earlier `X-Parley-*` headers (`X-Parley-Signature: sha256=HMAC_SHA256(key,
"{timestamp}.{body}")`, `X-Parley-Timestamp`, `X-Parley-Delivery`, `X-Parley-Event`) are still
sent while INTEGRATION_WEBHOOKS_LEGACY_HEADERS is on (this release; off in the next).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import requests
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from reliability.services import publish

from .models import Conversation, IntegrationDelivery, IntegrationWebhook

DELIVER_TASK = "core.tasks.deliver_integration_event"
logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The legacy `X-Parley-Signature`."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def standard_secret(key: str) -> str:
    """The endpoint's key as Standard Webhooks verifiers take it (`whsec_` + base64)."""
    if key.startswith("whsec_"):
        return key
    return "whsec_" + base64.b64encode(key.encode()).decode()


def signed_headers(*, key: str, delivery_id: int, event: str, body: bytes) -> dict[str, str]:
    """The headers of one attempt of a delivery: Standard Webhooks', and the legacy ones."""
    sent_at = timezone.now()
    message_id = str(delivery_id)
    timestamp = str(int(sent_at.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Parley-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
    }
    if key:  # an endpoint saved without a signing key gets unsigned requests
        headers["webhook-signature"] = Webhook(standard_secret(key)).sign(
            msg_id=message_id, timestamp=sent_at, data=body.decode()
        )
    if settings.INTEGRATION_WEBHOOKS_LEGACY_HEADERS:
        headers |= {
            "X-Parley-Event": event,
            "X-Parley-Delivery": message_id,
            "X-Parley-Timestamp": timestamp,
            "X-Parley-Signature": sign(key, timestamp, body),
        }
    return headers


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
        headers = signed_headers(
            key=delivery.webhook.secret.get("key", ""),
            delivery_id=delivery.pk,
            event=delivery.event,
            body=body,
        )
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
