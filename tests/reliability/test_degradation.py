"""With the broker down, what is committed stays committed: webhooks are stored and
answered 2xx, replies are stored; the sweep queues their tasks when the broker is back."""

import json

import pytest
from django.test import override_settings
from kombu.exceptions import OperationalError

from core.models import DeliveryStatus, Post
from helpdesk.services import send_reply
from ingestion.models import WebhookDelivery
from ingestion.tasks import deliver_reply, process_webhook_delivery
from parley.celery import app as celery_app
from reliability.services import wait_for_background_publishes
from tests.factories import ConversationFactory, PostFactory
from tests.ingestion.conftest import X_CONSUMER_SECRET, payload
from tests.ingestion.test_webhooks import post_x, x_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails as it does when Redis refuses connections."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for task in (process_webhook_delivery, deliver_reply):
        monkeypatch.setattr(task, "delay", refuse)
    # Webhook intake publishes by name from its publisher thread (reliability.services).
    monkeypatch.setattr(celery_app, "send_task", refuse)
    yield
    celery_app.conf.task_always_eager = saved


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET)
def test_with_the_broker_down_a_webhook_is_stored_and_acknowledged(
    client, x_account, broker_down, django_capture_on_commit_callbacks, caplog
):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_x(client, body, x_signature(body))
    wait_for_background_publishes()

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is None  # waiting for the sweep
    assert "the reliability sweep will queue it again" in caplog.text


def test_with_the_broker_down_a_reply_is_stored_pending(
    demo_account, agent, broker_down, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(account=demo_account)
    PostFactory(conversation=conversation)

    with django_capture_on_commit_callbacks(execute=True):
        reply = send_reply(conversation_id=conversation.pk, agent=agent, text="On it!")

    assert Post.objects.get(pk=reply.pk).delivery_status == DeliveryStatus.PENDING
