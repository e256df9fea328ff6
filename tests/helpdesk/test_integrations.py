import base64
import hashlib
import hmac
import json

import pytest
import responses
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import core.integrations
from core.models import (
    ConversationStatus,
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationWebhook,
)
from helpdesk.services import change_status
from routing.services import assign_conversation
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db

HOOK_URL = "https://crm.example.com/parley"


@pytest.fixture
def webhook():
    return IntegrationWebhook.objects.create(
        name="CRM", url=HOOK_URL, secret={"key": "k3y"}, events=[]
    )


@responses.activate
def test_resolution_is_posted_signed_after_commit(
    webhook, default_team, django_capture_on_commit_callbacks
):
    responses.post(HOOK_URL, status=204)
    conversation = ConversationFactory(team=default_team)

    with django_capture_on_commit_callbacks(execute=True):
        change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)

    request = responses.calls[0].request
    body = json.loads(request.body)
    assert body["event"] == "conversation.resolved"
    assert body["conversation"]["id"] == conversation.pk
    expected = hmac.new(
        b"k3y", request.headers["X-Parley-Timestamp"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Parley-Signature"] == f"sha256={expected}"
    assert IntegrationDelivery.objects.get().delivered_at is not None


@responses.activate
def test_a_failing_endpoint_is_retried_with_backoff_and_the_error_kept(
    webhook, default_team, agent, django_capture_on_commit_callbacks
):
    responses.post(HOOK_URL, status=503, body="down for maintenance")
    conversation = ConversationFactory(team=default_team)

    with django_capture_on_commit_callbacks(execute=True):
        assign_conversation(conversation_id=conversation.pk, agent=agent, expected_assignee_id=None)

    delivery = IntegrationDelivery.objects.get()
    assert delivery.event == IntegrationEvent.CONVERSATION_ASSIGNED
    assert delivery.delivered_at is None
    assert delivery.last_error == "HTTP 503: down for maintenance"
    assert delivery.next_attempt_at > timezone.now()

    from core.integrations import retry_due

    responses.replace(responses.POST, HOOK_URL, status=200)
    assert retry_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert delivery.attempts == 2
    assert len({c.request.headers["X-Parley-Delivery"] for c in responses.calls}) == 1


def test_endpoints_get_only_the_events_they_chose(default_team, agent):
    IntegrationWebhook.objects.create(
        name="Only breaches", url=HOOK_URL, events=[IntegrationEvent.SLA_BREACHED]
    )
    conversation = ConversationFactory(team=default_team)

    change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)

    assert not IntegrationDelivery.objects.exists()


def test_nothing_is_queued_when_the_change_rolls_back(webhook, default_team):
    conversation = ConversationFactory(team=default_team)

    with pytest.raises(RuntimeError), transaction.atomic():
        change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)
        raise RuntimeError("the surrounding work failed")

    assert not IntegrationDelivery.objects.exists()


# --- Standard Webhooks ----------------------------------------------------------------------------


@responses.activate
def test_a_stock_standard_webhooks_verifier_accepts_the_delivery(
    webhook, default_team, django_capture_on_commit_callbacks
):
    responses.post(HOOK_URL, status=204)
    conversation = ConversationFactory(team=default_team)

    with django_capture_on_commit_callbacks(execute=True):
        change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)

    request = responses.calls[0].request
    # The receiver's side: the endpoint's key as its verifier takes it.
    receiver = Webhook("whsec_" + base64.b64encode(b"k3y").decode())
    payload = receiver.verify(request.body, dict(request.headers))
    assert payload["event"] == "conversation.resolved"
    assert request.headers["webhook-id"] == str(IntegrationDelivery.objects.get().pk)
    tampered = request.body.replace(b"resolved", b"reopened")
    with pytest.raises(WebhookVerificationError):
        receiver.verify(tampered, dict(request.headers))


@responses.activate
def test_a_whsec_key_from_a_standard_webhooks_library_is_used_as_is(
    default_team, django_capture_on_commit_callbacks
):
    secret = "whsec_" + base64.b64encode(b"a-receiver-generated-secret-32by").decode()
    IntegrationWebhook.objects.create(name="CRM", url=HOOK_URL, secret={"key": secret})
    responses.post(HOOK_URL, status=204)
    conversation = ConversationFactory(team=default_team)

    with django_capture_on_commit_callbacks(execute=True):
        change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)

    request = responses.calls[0].request
    assert Webhook(secret).verify(request.body, dict(request.headers))["event"] == (
        "conversation.resolved"
    )


@responses.activate
def test_the_legacy_headers_go_when_switched_off_and_the_id_survives_retries(
    webhook, default_team, agent, settings, django_capture_on_commit_callbacks
):
    settings.INTEGRATION_WEBHOOKS_LEGACY_HEADERS = False
    responses.post(HOOK_URL, status=503)
    conversation = ConversationFactory(team=default_team)
    with django_capture_on_commit_callbacks(execute=True):
        assign_conversation(conversation_id=conversation.pk, agent=agent, expected_assignee_id=None)
    delivery = IntegrationDelivery.objects.get()
    responses.replace(responses.POST, HOOK_URL, status=200)

    core.integrations.retry_due(now=delivery.next_attempt_at)

    first, retry = (call.request.headers for call in responses.calls)
    assert not any(name.lower().startswith("x-parley-") for name in retry)
    assert first["webhook-id"] == retry["webhook-id"] == str(delivery.pk)
    assert retry["webhook-signature"].startswith("v1,")
