"""With Redis down (broker, cache and channel layer all pointing at a port nobody answers),
webhooks are stored and answered 2xx, agents load the inbox and send replies, and /healthz
says what is down. Runs on the production shape, where Redis is really in the path."""

import json

import pytest
from channels.layers import channel_layers
from django.test import override_settings
from django.urls import reverse

from core.models import DeliveryStatus, Direction, Post
from ingestion.models import WebhookDelivery
from parley.celery import app as celery_app
from reliability.services import wait_for_background_publishes
from tests.factories import ConversationFactory, PostFactory
from tests.ingestion.conftest import X_CONSUMER_SECRET, payload
from tests.ingestion.test_webhooks import post_x, x_signature

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

NOBODY = "redis://127.0.0.1:1/0"  # port 1: connection refused at once


@pytest.fixture
def redis_down():
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = NOBODY
    celery_app.conf.task_always_eager = False
    _drop_connections()
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                          "CONFIG": {"hosts": [NOBODY]}}}  # fmt: skip
    cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                         "LOCATION": NOBODY}}  # fmt: skip
    with override_settings(
        CHANNEL_LAYERS=layers, CACHES=cache, REDIS_URL=NOBODY, X_CONSUMER_SECRET=X_CONSUMER_SECRET
    ):
        # Django resets the cache handler on the CACHES change; channels needs telling.
        channel_layers.backends.clear()
        yield
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    _drop_connections()
    channel_layers.backends.clear()


def _drop_connections() -> None:
    """Celery keeps a connection and producer pool; new ones read the broker URL again.

    The old pools are only dropped, not closed: kombu shares them per URL, process-wide.
    """
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_webhooks_are_stored_and_acknowledged(
    client, x_account, redis_down, django_capture_on_commit_callbacks, caplog
):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_x(client, body, x_signature(body))
    wait_for_background_publishes(timeout=30)

    assert response.status_code == 200
    assert WebhookDelivery.objects.filter(processed_at__isnull=True).count() == 1
    assert "Could not queue ingestion.tasks.process_webhook_delivery" in caplog.text


def test_the_inbox_loads_and_a_reply_is_stored_pending(
    client, agent, default_team, demo_account, redis_down, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(account=demo_account, team=default_team)
    PostFactory(conversation=conversation, text="@brand where is my parcel?")
    client.force_login(agent)

    inbox = client.get(reverse("inbox"))
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(reverse("conversation", args=[conversation.pk]), {"text": "On it!"})

    assert inbox.status_code == 200
    assert b"where is my parcel?" in inbox.content
    assert sent.status_code in (200, 302)
    reply = Post.objects.get(direction=Direction.OUTBOUND)
    assert reply.delivery_status == DeliveryStatus.PENDING


def test_an_agent_logs_in_and_out_while_redis_is_down(client, agent, redis_down):
    from django.contrib.sessions.models import Session

    agent.set_password("a-password-long-enough")
    agent.save()

    logged_in = client.post(
        reverse("login"), {"username": agent.username, "password": "a-password-long-enough"}
    )
    inbox = client.get(reverse("inbox"))
    logged_out = client.post(reverse("logout"))

    assert logged_in.status_code == 302
    assert inbox.status_code == 200
    assert logged_out.status_code == 302
    assert not Session.objects.exists()
    assert client.get(reverse("inbox")).status_code == 302  # back to the login page


def test_healthz_says_the_broker_and_channel_layer_are_down(client, redis_down):
    response = client.get("/healthz")

    report = response.json()
    assert response.status_code == 503
    assert report["database"] == "ok"
    assert report["broker"].startswith("failed")
    assert report["channel_layer"].startswith("failed")
