"""`/livez` and `/readyz`: liveness survives a Redis outage (webhooks are built to), readiness
names what is missing — in detail only to staff or the HEALTH_TOKEN bearer."""

from __future__ import annotations

import time

import pytest
from celery import signals

from ingestion.tasks import poll_account
from parley import observability
from parley.celery import app as celery_app
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Nothing listens on port 1, so a connection there is refused at once.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = DEAD_REDIS_URL
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [DEAD_REDIS_URL]},
        }
    }


@pytest.fixture
def tasks_on_workers():
    """As in production: tasks go to workers, so readiness asks whether any was seen."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def fresh_heartbeats():
    from django.core.cache import cache

    cache.delete_many([observability.WORKER_SEEN_KEY, observability.BEAT_SEEN_KEY])
    observability._last_seen.clear()
    yield
    cache.delete_many([observability.WORKER_SEEN_KEY, observability.BEAT_SEEN_KEY])
    observability._last_seen.clear()


def test_livez_answers_without_touching_the_database_or_redis(
    client, redis_down, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/livez")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ok_on_the_embedded_defaults(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "channel_layer": "ok",
        "workers": "ok",
        "beat": "ok",
    }


def test_readyz_tells_anonymous_callers_only_what_failed(client, redis_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "failed"
    assert report["broker"] == "failed"
    assert report["channel_layer"] == "failed"
    assert report["database"] == "ok"
    assert "127.0.0.1" not in response.content.decode()


def test_readyz_tells_staff_why(client, redis_down):
    client.force_login(UserFactory(is_staff=True))

    report = client.get("/readyz").json()

    assert report["broker"].startswith("failed: ")
    assert "127.0.0.1:1" in report["broker"]


def test_readyz_tells_the_token_bearer_why(client, redis_down, settings):
    settings.HEALTH_TOKEN = "probe-token"

    wrong = client.get("/readyz", HTTP_AUTHORIZATION="Bearer nope").json()
    right = client.get("/readyz", HTTP_AUTHORIZATION="Bearer probe-token").json()

    assert wrong["broker"] == "failed"
    assert "127.0.0.1:1" in right["broker"]


def test_readyz_fails_until_a_worker_and_beat_have_been_seen(
    client, tasks_on_workers, fresh_heartbeats, settings, monkeypatch
):
    settings.HEALTH_TOKEN = "probe-token"
    auth = {"HTTP_AUTHORIZATION": "Bearer probe-token"}

    never = client.get("/readyz", **auth)
    # A worker finishes a task; beat publishes its schedule.
    signals.task_postrun.send(sender=None, task=poll_account)
    monkeypatch.setattr(observability, "_this_process_is_beat", True)
    signals.before_task_publish.send(sender="ingestion.tasks.poll_all_accounts", headers={})
    seen = client.get("/readyz", **auth)
    # Both fall silent for longer than allowed.
    later = time.time() + settings.HEALTH_WORKER_SEEN_SECONDS + 5
    monkeypatch.setattr(time, "time", lambda: later)
    silent = client.get("/readyz", **auth)

    assert never.status_code == 503
    assert "no worker seen" in never.json()["workers"]
    assert "no beat seen" in never.json()["beat"]
    assert seen.status_code == 200, seen.json()
    assert (seen.json()["workers"], seen.json()["beat"]) == ("ok", "ok")
    assert silent.status_code == 503
    assert silent.json()["workers"].startswith("failed: no worker seen for ")


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/healthz", "/metrics"])
def test_probes_are_not_redirected_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code in (200, 503)
    assert client.get("/inbox/").status_code == 301
