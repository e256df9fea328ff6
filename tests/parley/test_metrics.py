"""`/metrics`: what Prometheus scrapes — django-prometheus's request metrics and Parley's own
gauges, which move as a webhook delivery is queued and processed — and who may scrape it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.models import Platform
from ingestion.models import WebhookDelivery
from ingestion.sweeps import STRANDED_COUNTS_KEY, requeue_stranded_work
from ingestion.tasks import poll_account
from parley.celery import app as celery_app
from reliability.models import DeadLetter
from tests.factories import PlatformAccountFactory
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, META_APP_SECRET, payload
from tests.ingestion.test_webhooks import meta_signature, post_meta

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape by name and labels."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_gauges_move_as_a_webhook_delivery_is_queued_and_processed(
    client, default_team, django_capture_on_commit_callbacks
):
    PlatformAccountFactory(
        platform=Platform.FACEBOOK,
        external_id=FACEBOOK_PAGE_ID,
        credentials={"page_access_token": "page-token", "app_secret": META_APP_SECRET},
    )
    pending = ("parley_webhook_deliveries_pending", (("platform", "facebook"),))
    ingested = ("parley_posts_ingested_total", (("platform", "facebook"),))
    latency = ("parley_triage_latency_seconds", (("quantile", "0.5"),))
    body = json.dumps(payload("meta_feed_webhook.json")).encode()

    requests = (
        "django_http_requests_total_by_view_transport_method_total",
        (("method", "POST"), ("transport", "http"), ("view", "ingestion:meta-webhook")),
    )

    before = scrape(client)
    with django_capture_on_commit_callbacks() as queued_tasks:
        assert post_meta(client, body, meta_signature(body)).status_code == 200
    queued = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        for task in queued_tasks:  # the worker's turn
            task()
    processed = scrape(client)

    # Counters count for the whole process (and deployment): compare, not absolute.
    assert pending not in before and latency not in before
    assert queued[pending] == 1
    assert queued.get(ingested, 0) == before.get(ingested, 0)
    assert pending not in processed
    assert processed[ingested] == before.get(ingested, 0) + 1
    assert processed[latency] >= 0
    # django-prometheus counts the requests themselves too.
    assert processed[requests] == before.get(requests, 0) + 1


def test_stranded_work_is_what_the_last_sweep_found(client, default_team, settings):
    settings.RELIABILITY_STRANDED_AFTER_SECONDS = 0
    cache.delete(STRANDED_COUNTS_KEY)
    no_sweep_yet = scrape(client)
    # A delivery whose task was lost (the broker was down when it was stored).
    WebhookDelivery.objects.create(platform=Platform.DEMO, body={"posts": []})

    requeue_stranded_work(now=timezone.now() + timedelta(seconds=1))
    swept = scrape(client)

    assert not any(name == "parley_stranded_work" for name, _ in no_sweep_yet)
    assert swept[("parley_stranded_work", (("kind", "deliveries"),))] == 1
    assert swept[("parley_stranded_work", (("kind", "posts"),))] == 0


def test_dead_letters_and_sla_states_are_counted(client):
    DeadLetter.objects.create(task_name="ingestion.tasks.poll_account", args=[1], error="boom")
    DeadLetter.objects.create(task_name="ingestion.tasks.poll_account", args=[2], error="boom")
    DeadLetter.objects.create(
        task_name="ingestion.tasks.poll_account",
        args=[3],
        error="boom",
        replay_count=1,
        replayed_at="2026-01-01T00:00:00Z",
    )

    samples = scrape(client)

    assert samples[("parley_dead_letters", ())] == 2
    assert samples[("parley_sla_timers", (("state", "at_risk"),))] == 0
    assert samples[("parley_sla_timers", (("state", "breached"),))] == 0


def test_callers_outside_the_allowed_networks_are_refused(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content


def test_with_a_token_set_only_its_bearer_may_scrape(client, settings):
    settings.METRICS_TOKEN = "scrape-me"

    anonymous = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    right = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-me")

    assert (anonymous.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    assert b"parley_dead_letters" in right.content


def test_allowed_networks_come_from_the_setting(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    loopback = client.get("/metrics")

    assert (inside.status_code, loopback.status_code) == (200, 403)


@pytest.mark.redis
def test_queue_backlog_counts_messages_waiting_for_a_worker(client, settings):
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = "parley-metrics-test"
    try:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge("parley-metrics-test")
        empty = scrape(client)
        poll_account.apply_async((1,), queue="parley-metrics-test")
        poll_account.apply_async((2,), queue="parley-metrics-test")
        waiting = scrape(client)
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge("parley-metrics-test")
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous

    assert empty[("parley_queue_backlog", ())] == 0
    assert waiting[("parley_queue_backlog", ())] == 2
