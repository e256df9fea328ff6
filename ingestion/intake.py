"""Storing verified webhook deliveries: one statement (or transaction) for all the deliveries
waiting at once.

The webhook views (ingestion.webhooks) check a delivery and then wait here until it is
committed; only then do they answer 200, so an acknowledged delivery is never lost. In the
web server (`manage.py serve`, parley.serving) the deliveries go through one group-commit
writer per process (reliability.group_commit): the deliveries that arrive while a commit is
in flight are inserted together, on PostgreSQL by one `INSERT … ON CONFLICT DO NOTHING`
committed on its own. Anywhere else (tests, another server) each delivery is stored alone,
by the same service.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import psycopg
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from reliability.group_commit import GroupCommit
from reliability.services import enqueue_drain_on_commit_in_background

from .models import WebhookDelivery
from .tasks import process_webhook_delivery

logger = logging.getLogger(__name__)

# A bound on one transaction: enough for a storm's backlog at a commit's pace, small enough
# that a batch's INSERT stays a few milliseconds.
MAX_DELIVERIES_PER_COMMIT = 500


class PreparingCursor(psycopg.Cursor):
    """Prepares what it executes. Django opens its connections with psycopg's automatic
    preparing off, and the storm's INSERT was parsed and planned again for every batch, a
    fifth of PostgreSQL's CPU per delivery (docs/performance.md). One statement text per
    batch size, each prepared once per connection (psycopg keeps the last 100)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


@dataclass(frozen=True)
class ReceivedDelivery:
    platform: str
    body: dict
    body_sha256: str
    # The receiving request's context (its request id), for the task queued after commit.
    context: contextvars.Context | None = field(default=None, compare=False)


def store_webhook_deliveries(*, received: Sequence[ReceivedDelivery]) -> list[int]:
    """Keep each delivery once per distinct body and queue the processing of the new ones
    once committed (one message for them all); the stored delivery's id for each, in order
    (a repeated body gets the id it was first stored under).

    On PostgreSQL, called outside a transaction (the web server's writer), the batch is
    stored by one INSERT in autocommit: a statement is its own transaction, committed before
    its result comes back, so the writer waits for one round trip instead of three (BEGIN,
    INSERT, COMMIT), each of which, on a busy web process, also waited for the GIL and the
    CPU to come back to the writer thread. The bodies it skipped as stored before are looked
    up after it. Elsewhere (SQLite, or inside a caller's transaction) one transaction (a
    savepoint) holds the look-up and the insert.

    Only the database must answer: a broker that is down is logged and the deliveries wait
    for the beat tick that queues unprocessed deliveries again (reliability.services), as
    do those whose INSERT committed when the look-up after it failed (the retry finds them
    stored, and queues nothing).
    """
    one_statement = connection.vendor == "postgresql" and not connection.in_atomic_block
    with nullcontext() if one_statement else transaction.atomic():
        distinct: dict[tuple[str, str], WebhookDelivery] = {}
        for delivery in received:
            key = (delivery.platform, delivery.body_sha256)
            if key not in distinct:
                distinct[key] = WebhookDelivery(
                    platform=delivery.platform, body=delivery.body, body_sha256=delivery.body_sha256
                )
        created, stored_before = _insert_once(list(distinct.values()))
        for (platform, _), pk in stored_before.items():
            logger.info("Webhook: %s delivery #%s repeated; already stored", platform, pk)
        seen = {**stored_before, **{(d.platform, d.body_sha256): d.pk for d in created}}
        if created:
            # The platform waits for the commit, not for Redis (reliability.services). The
            # task drains: one message, carrying the request id of the request that brought
            # the batch's first delivery, has a worker take the whole batch (and what waits
            # with it).
            first = created[0]
            context = next(
                delivery.context
                for delivery in received
                if (delivery.platform, delivery.body_sha256) == (first.platform, first.body_sha256)
            )
            (context or contextvars.copy_context()).run(
                enqueue_drain_on_commit_in_background,
                process_webhook_delivery,
                [stored.pk for stored in created],
            )
    return [seen[(delivery.platform, delivery.body_sha256)] for delivery in received]


def _insert_once(
    deliveries: list[WebhookDelivery],
) -> tuple[list[WebhookDelivery], dict[tuple[str, str], int]]:
    """INSERT the deliveries whose body is not stored yet, in the caller's transaction (or
    autocommit): those inserted (their ids set), and the ids of those stored before, by
    (platform, digest).

    On PostgreSQL one multi-row `INSERT … ON CONFLICT DO NOTHING` (the unique body per
    platform, `webhook_delivery_once_per_body`), with the values bound by the server, then a
    SELECT only for the bodies it found stored. Django's bulk_create sends arrays of the
    values quoted into the SQL text by the client (its cursors bind client-side), and
    escaping every body into a jsonb array was a sixth of a delivery's CPU in the web process
    (docs/performance.md); the SELECT that came first for every batch is gone too. Elsewhere
    (SQLite): a SELECT for the stored bodies, then bulk_create.
    """
    if not deliveries:
        return [], {}
    if connection.vendor != "postgresql":
        stored_before = _stored_ids(deliveries)
        fresh = [d for d in deliveries if (d.platform, d.body_sha256) not in stored_before]
        return WebhookDelivery.objects.bulk_create(fresh), stored_before
    now = timezone.now()
    params: list = []
    for delivery in deliveries:
        delivery.received_at = now
        params += [delivery.platform, json.dumps(delivery.body), delivery.body_sha256, now]
    rows = ", ".join(["(%s, %s::jsonb, %s, %s, '', '')"] * len(deliveries))
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    connection.ensure_connection()
    # A server-binding cursor on Django's connection (the same transaction), wrapped as
    # Django wraps its own (query logging, execute wrappers), whose statement is prepared.
    with connection._prepare_cursor(PreparingCursor(connection.connection)) as cursor:
        cursor.execute(
            f"INSERT INTO {table} (platform, body, body_sha256, received_at, error, claimed_by) "
            f"VALUES {rows} "
            # The constraint's own predicate, so PostgreSQL infers its partial index.
            "ON CONFLICT (platform, body_sha256) WHERE NOT (body_sha256 = '') DO NOTHING "
            "RETURNING id, platform, body_sha256",
            params,
        )
        inserted = {(platform, digest): pk for pk, platform, digest in cursor.fetchall()}
    created = []
    for delivery in deliveries:
        pk = inserted.get((delivery.platform, delivery.body_sha256))
        if pk is not None:
            delivery.pk = pk
            created.append(delivery)
    if len(created) == len(deliveries):
        return created, {}
    return created, _stored_ids([d for d in deliveries if d.pk is None])


def _stored_ids(deliveries: list[WebhookDelivery]) -> dict[tuple[str, str], int]:
    """The ids of the deliveries already stored with these bodies, by (platform, digest):
    read per platform, through the unique constraint's index."""
    by_platform: dict[str, set[str]] = {}
    for delivery in deliveries:
        by_platform.setdefault(delivery.platform, set()).add(delivery.body_sha256)
    wanted = Q()
    for platform, digests in by_platform.items():
        wanted |= Q(platform=platform, body_sha256__in=digests)
    return {
        (platform, digest): pk
        for pk, platform, digest in WebhookDelivery.objects.filter(wanted)
        .exclude(body_sha256="")
        .values_list("pk", "platform", "body_sha256")
    }


def _store_batch(received: Sequence[ReceivedDelivery]) -> list[int]:
    return store_webhook_deliveries(received=received)


_writer: GroupCommit | None = None


def start_group_commit() -> None:
    """From now on this process stores deliveries through one group-commit writer. The web
    server calls it at start-up; its thread starts with the first delivery."""
    global _writer
    if _writer is None:
        _writer = GroupCommit(
            _store_batch, max_batch=MAX_DELIVERIES_PER_COMMIT, name="parley-webhook-writer"
        )


def stop_group_commit() -> None:
    """Store what is queued, then go back to a transaction per delivery."""
    global _writer
    writer, _writer = _writer, None
    if writer is not None:
        writer.stop()


async def store_delivery(delivery: ReceivedDelivery) -> int:
    """Return once `delivery` is committed (or found stored already): its id."""
    if _writer is None:
        return (await sync_to_async(store_webhook_deliveries)(received=[delivery]))[0]
    delivery = replace(delivery, context=contextvars.copy_context())
    return await _writer.submit_async(delivery)
