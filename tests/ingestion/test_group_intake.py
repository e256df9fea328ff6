"""Deliveries stored together (ingestion.intake): one transaction for the deliveries waiting at
once, each distinct body stored once, one task queued per new delivery, and, through the
web server's group-commit writer, each platform answered 200 only once its delivery is
committed."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from celery import current_app
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from core.models import Platform, Post
from ingestion import intake
from ingestion.intake import ReceivedDelivery, store_webhook_deliveries
from ingestion.models import WebhookDelivery
from ingestion.services import process_webhook_delivery as drain_process
from ingestion.tasks import process_webhook_delivery
from reliability.group_commit import LoopGroupCommit
from reliability.services import wait_for_background_publishes
from tests.ingestion.conftest import payload
from tests.ingestion.test_webhooks import X_URL, x_signature


def _received(marker: int, platform: str = Platform.TWITTER) -> ReceivedDelivery:
    body = {"for_user_id": "1", "marker": marker}
    raw = json.dumps(body).encode()
    return ReceivedDelivery.of(platform, raw)


def _x_body(number: int) -> bytes:
    body = payload("x_account_activity_tweet.json")
    tweet = body["tweet_create_events"][0]
    tweet["id"] = 1_950_000_000_000_000_000 + number
    tweet["id_str"] = str(tweet["id"])
    return json.dumps(body).encode()


def _post_all_at_once(bodies: list[bytes]) -> list:
    """Each body POSTed, signed, to the X webhook, all at once on one event loop."""

    async def deliver_all():
        client = AsyncClient()
        return await asyncio.gather(
            *(
                client.post(
                    X_URL,
                    body,
                    content_type="application/json",
                    headers={"X-Twitter-Webhooks-Signature": x_signature(body)},
                )
                for body in bodies
            )
        )

    return async_to_sync(deliver_all)()


@pytest.mark.django_db
def test_deliveries_stored_together_are_kept_once_per_body_in_one_transaction(
    django_capture_on_commit_callbacks,
):
    before = store_webhook_deliveries(received=[_received(0)])
    batch = [_received(1), _received(0), _received(2), _received(1)]

    with (
        django_capture_on_commit_callbacks() as callbacks,
        CaptureQueriesContext(connection) as queries,
    ):
        ids = store_webhook_deliveries(received=batch)

    assert WebhookDelivery.objects.count() == 3
    first, repeated, second, again = ids
    assert repeated == before[0]
    assert again == first
    assert len({first, second, before[0]}) == 3
    # One INSERT and one SELECT for the batch (and one transaction around them): on
    # PostgreSQL the INSERT skips the stored body and the SELECT then finds it; elsewhere the
    # SELECT finds it first.
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert sorted(s for s in statements if s in ("SELECT", "INSERT")) == ["INSERT", "SELECT"]
    # One processing task per new delivery, queued after commit.
    assert len(callbacks) == 2


@pytest.mark.django_db
def test_a_batch_of_bodies_not_stored_yet_is_one_insert_and_no_select():
    with CaptureQueriesContext(connection) as queries:
        ids = store_webhook_deliveries(received=[_received(1), _received(2), _received(1)])

    assert len(set(ids)) == 2
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    expected = ["INSERT"] if connection.vendor == "postgresql" else ["SELECT", "INSERT"]
    assert [s for s in statements if s in ("SELECT", "INSERT")] == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_body_stored_before_is_skipped_by_the_insert_and_answered_with_its_id():
    """On PostgreSQL the unique constraint, not a look-up first, keeps one copy (whichever
    web process stored it): the INSERT skips the body and the SELECT after it finds it."""
    (stored,) = store_webhook_deliveries(received=[_received(5)])

    again = store_webhook_deliveries(received=[_received(5), _received(6)])

    assert again[0] == stored
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db
def test_a_body_is_stored_as_the_platform_wrote_it():
    # Byte for byte what was signed (its spacing, its key order), and a coordinate with more
    # digits than a float keeps: parsed and written again, it was cut.
    raw = b'{"for_user_id": "1",  "coordinates": [-9.1393567450000000012, 38.72225]}'
    [delivery_id] = store_webhook_deliveries(received=[ReceivedDelivery.of(Platform.TWITTER, raw)])

    stored = WebhookDelivery.objects.get(pk=delivery_id)
    assert stored.body_text.encode() == raw
    assert stored.payload["for_user_id"] == "1"


@pytest.mark.django_db
def test_the_same_body_on_two_platforms_is_two_deliveries():
    ids = store_webhook_deliveries(
        received=[_received(1, Platform.TWITTER), _received(1, Platform.FACEBOOK)]
    )

    assert len(set(ids)) == 2
    assert set(WebhookDelivery.objects.values_list("platform", flat=True)) == {
        Platform.TWITTER,
        Platform.FACEBOOK,
    }


@pytest.fixture
def group_commit():
    intake.start_group_commit()
    yield intake._writer
    intake.stop_group_commit()


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_through_the_writer_are_each_answered_and_stored_once(
    x_account, default_team, group_commit, monkeypatch
):
    batches = []
    store = intake._store_batch

    def recorded(received):
        batches.append(len(received))
        return store(received)

    monkeypatch.setattr(group_commit, "_store", recorded)
    bodies = [_x_body(number) for number in range(12)] + [_x_body(0)]

    responses = _post_all_at_once(bodies)

    assert [response.status_code for response in responses] == [200] * 13
    assert WebhookDelivery.objects.count() == 12
    assert sum(batches) == 13


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_answered_only_once_its_batch_is_committed(
    x_account, default_team, group_commit, monkeypatch
):
    writing, release = threading.Event(), threading.Event()
    store = intake._store_batch

    def held(received):
        writing.set()
        assert release.wait(10)
        return store(received)

    monkeypatch.setattr(group_commit, "_store", held)
    body = _x_body(1)

    async def deliver():
        client = AsyncClient()
        request = asyncio.ensure_future(
            client.post(
                X_URL,
                body,
                content_type="application/json",
                headers={"X-Twitter-Webhooks-Signature": x_signature(body)},
            )
        )
        for _ in range(1000):
            if writing.is_set() or request.done():
                break
            await asyncio.sleep(0.01)
        answered_while_writing = request.done()
        release.set()
        return answered_while_writing, await request

    answered_while_writing, response = async_to_sync(deliver)()

    assert answered_while_writing is False
    assert response.status_code == 200
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_new_deliveries_is_one_message_whose_runs_process_them_all(
    x_account, facebook_page, default_team, monkeypatch
):
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    sent = []

    def record(name, args, **options):
        sent.append((name, tuple(args)))

    monkeypatch.setattr(current_app, "send_task", record)
    monkeypatch.setattr(
        process_webhook_delivery, "delay", lambda *args: record(process_webhook_delivery.name, args)
    )
    meta = payload("meta_feed_webhook.json")
    batch = [
        *(ReceivedDelivery.of(Platform.TWITTER, body) for body in (_x_body(1), _x_body(2))),
        ReceivedDelivery.of(Platform.FACEBOOK, json.dumps(meta).encode()),
    ]

    ids = store_webhook_deliveries(received=batch)
    wait_for_background_publishes()

    # One message for the batch, named after its first delivery.
    assert sent == [(process_webhook_delivery.name, (ids[0],))]
    # What workers do with it: the run takes the X deliveries and queues the task again for
    # the Facebook one it left; that run takes it.
    while sent:
        _, (delivery_id,) = sent.pop(0)
        drain_process(delivery_id=delivery_id)
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    assert Post.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_writer_on_the_event_loop_stores_each_body_once_and_queues_it(
    x_account, default_team, monkeypatch
):
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    sent = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, args, **options: sent.append((name, args))
    )
    stored_before = store_webhook_deliveries(
        received=[ReceivedDelivery.of(Platform.TWITTER, _x_body(0))]
    )[0]
    sent.clear()
    intake.start_group_commit()
    try:
        assert isinstance(intake._writer, LoopGroupCommit)
        # Twelve new bodies, one of them twice, and one stored before.
        bodies = [_x_body(number) for number in range(1, 13)] + [_x_body(5), _x_body(0)]

        responses = _post_all_at_once(bodies)
        wait_for_background_publishes()
    finally:
        intake.stop_group_commit()

    assert [response.status_code for response in responses] == [200] * 14
    assert WebhookDelivery.objects.count() == 13
    assert WebhookDelivery.objects.filter(pk=stored_before).exists()
    # Committed, then handed to the broker: one message stands for what waits.
    assert [name for name, _ in sent] == [process_webhook_delivery.name]


@pytest.fixture
def loop_writer(monkeypatch):
    """The web server's writer on the event loop (PostgreSQL, a broker), its messages dropped;
    stopped afterwards."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(current_app, "send_task", lambda name, args, **options: None)
    intake.start_group_commit()
    yield
    wait_for_background_publishes()
    intake.stop_group_commit()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_writer_prepares_its_insert_once_per_batch_size(loop_writer):
    # Django's connections have preparing off, which ignores `prepare=True`: the writer's own
    # connection must not.
    async def store_two_batches_of_two() -> list[str]:
        for first in (1, 3):
            await intake._store_batch_on_loop([_received(first), _received(first + 1)])
        writer = await intake._writer_connection()
        cursor = await writer.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in await cursor.fetchall()]

    prepared = async_to_sync(store_two_batches_of_two)()

    assert len([statement for statement in prepared if statement.startswith("INSERT")]) == 1
    assert WebhookDelivery.objects.count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_writer_batch_with_a_body_stored_before_stores_the_others_once(
    loop_writer,
):
    stored_before = store_webhook_deliveries(received=[_received(2)])[0]

    # New, stored before, new, and the first one again: the batch's plain INSERT fails on the
    # body stored before, and the batch goes in again.
    ids = async_to_sync(intake._store_batch_on_loop)(
        [_received(1), _received(2), _received(3), _received(1)]
    )

    stored = dict(WebhookDelivery.objects.values_list("pk", "body_text"))
    assert len(stored) == 3
    assert ids[1] == stored_before
    assert ids[0] == ids[3]
    assert len(set(ids)) == 3
    assert [json.loads(stored[pk])["marker"] for pk in ids] == [1, 2, 3, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_stopping_the_group_commit_closes_the_writers_connection(loop_writer):
    async def store_one() -> int:
        await intake._store_batch_on_loop([_received(1)])
        return (await intake._writer_connection()).info.backend_pid

    writer_session = async_to_sync(store_one)()
    wait_for_background_publishes()

    intake.stop_group_commit()

    # The server ends the session once it reads the goodbye: wait for it, a few seconds at most.
    deadline = time.monotonic() + 5
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [writer_session])
            (sessions,) = cursor.fetchone()
            if sessions == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert sessions == 0
