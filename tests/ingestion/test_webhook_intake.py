"""Webhook intake costs: the accounts' secrets are read once per WEBHOOK_SECRETS_CACHE_SECONDS,
not on every delivery, and a rotated secret is honoured (at once when the account is saved in
this process, within the cache time when it changed elsewhere); the Celery message is handed
to the publisher thread, with the request id, rather than published by the request."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync
from celery import current_app
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_guid import get_guid

from ingestion import webhooks
from ingestion.models import PlatformAccount, WebhookDelivery
from ingestion.tasks import process_webhook_delivery
from reliability import services as reliability
from tests.ingestion.conftest import META_APP_SECRET, payload
from tests.ingestion.test_webhooks import meta_signature, post_meta

pytestmark = pytest.mark.django_db


def _body(marker: str) -> bytes:
    delivery = payload("meta_feed_webhook.json")
    delivery["entry"][0]["time"] = marker  # a distinct body per delivery
    return json.dumps(delivery).encode()


def _account_reads(queries) -> int:
    return sum('FROM "ingestion_platformaccount"' in query["sql"] for query in queries)


def test_a_run_of_deliveries_reads_the_accounts_secrets_once(client, facebook_page):
    with CaptureQueriesContext(connection) as queries:
        refused = [post_meta(client, _body(str(n)), "sha256=bad") for n in range(3)]

    assert [response.status_code for response in refused] == [403, 403, 403]
    assert _account_reads(queries.captured_queries) == 1


def test_deliveries_arriving_while_the_secrets_are_read_wait_for_that_one_read(
    facebook_page, monkeypatch
):
    reads = []
    read = webhooks._read_account_secrets

    def counted(*key):
        reads.append(key)
        return read(*key)

    monkeypatch.setattr(webhooks, "_read_account_secrets", counted)

    async def storm():
        return await asyncio.gather(
            *(
                webhooks._secrets("", "app_secret", webhooks.META_OBJECTS.values())
                for _ in range(10)
            )
        )

    answers = async_to_sync(storm)()

    assert answers == [[META_APP_SECRET]] * 10
    assert len(reads) == 1


def test_a_secret_rotated_on_the_account_is_honoured_at_once(
    client, facebook_page, default_team, django_capture_on_commit_callbacks
):
    first = _body("1")
    assert post_meta(client, first, meta_signature(first)).status_code == 200

    facebook_page.credentials = {**facebook_page.credentials, "app_secret": "rotated"}
    facebook_page.save()
    with django_capture_on_commit_callbacks(execute=True):
        new = post_meta(client, _body("2"), meta_signature(_body("2"), "rotated"))
        old = post_meta(client, _body("3"), meta_signature(_body("3"), META_APP_SECRET))

    assert new.status_code == 200
    assert old.status_code == 403
    assert WebhookDelivery.objects.count() == 2


def test_a_secret_changed_by_another_process_is_honoured_once_the_cache_expires(
    client, settings, facebook_page, default_team
):
    settings.WEBHOOK_SECRETS_CACHE_SECONDS = 5
    first = _body("1")
    assert post_meta(client, first, meta_signature(first)).status_code == 200
    # As another process would: no signal reaches this one.
    PlatformAccount.objects.filter(pk=facebook_page.pk).update(
        credentials={**facebook_page.credentials, "app_secret": "rotated"}
    )
    body = _body("2")

    within = post_meta(client, body, meta_signature(body, "rotated"))
    settings.WEBHOOK_SECRETS_CACHE_SECONDS = 0  # the cache time has passed
    after = post_meta(client, body, meta_signature(body, "rotated"))

    assert within.status_code == 403
    assert after.status_code == 200


# Committed for real, so that the message is handed over inside the request, as served.
@pytest.mark.django_db(transaction=True)
def test_the_delivery_is_queued_by_the_publisher_thread_with_the_request_id(
    client, facebook_page, monkeypatch
):
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    queued = []
    monkeypatch.setattr(
        current_app,
        "send_task",
        lambda name, args, **options: queued.append(
            (name, args, get_guid(), threading.current_thread().name)
        ),
    )
    body = _body("1")

    response = client.post(
        "/webhooks/meta/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=meta_signature(body),
        HTTP_X_REQUEST_ID="req-intake-1",
    )
    reliability._publisher.submit(lambda: None).result(timeout=10)  # the thread is done

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    ((name, args, request_id, thread),) = queued
    assert (name, args) == (process_webhook_delivery.name, (delivery.pk,))
    assert request_id == "req-intake-1"
    assert thread.startswith("parley-publish")
