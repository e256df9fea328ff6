"""Storing verified webhook deliveries: one statement (or transaction) for all the deliveries
waiting at once.

The webhook views (ingestion.webhooks) check a delivery and then wait here until it is
committed; only then do they answer 200, so an acknowledged delivery is never lost. In the
web server (`manage.py serve`, parley.serving) the deliveries go through one group-commit
writer per process (reliability.group_commit): the deliveries that arrive while a commit is
in flight are inserted together, on PostgreSQL by one `INSERT … ON CONFLICT DO NOTHING`
committed on its own, sent from the event loop. Anywhere else (tests, another server) each
delivery is stored alone, by the same service.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import psycopg
from asgiref.sync import sync_to_async
from celery import current_app
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.bulk import server_binding_cursor
from reliability.group_commit import GroupCommit, LoopGroupCommit
from reliability.services import (
    enqueue_drain_committed_in_background,
    enqueue_drain_on_commit_in_background,
)

from .models import WebhookDelivery
from .tasks import process_webhook_delivery

logger = logging.getLogger(__name__)

# A bound on one transaction: enough for a storm's backlog at a commit's pace, small enough
# that a batch's INSERT stays a few milliseconds.
MAX_DELIVERIES_PER_COMMIT = 500


# The writer's own connection prepares its statements (psycopg's default threshold: at the
# fifth execution, or at once when asked). Django opens its connections with preparing off
# (prepare_threshold None, which also ignores `prepare=True`), so the storm's INSERT was
# parsed and planned again for every batch (docs/performance.md). One statement text per
# batch size; psycopg keeps the last 100 prepared.
WRITER_PREPARE_THRESHOLD = 5


Key = tuple[str, str]  # (platform, body digest): a body is stored once per platform


@dataclass(frozen=True)
class ReceivedDelivery:
    platform: str
    body_sha256: str
    # The body's JSON text as received, stored as it is (WebhookDelivery.body_text):
    # serialising `body` again was a tenth of a real tweet's CPU in the web process.
    text: str
    # The receiving request's context (its request id), for the task queued after commit.
    context: contextvars.Context = field(compare=False)

    @classmethod
    def of(cls, platform: str, raw: bytes) -> ReceivedDelivery:
        """The delivery of `raw`, a UTF-8 JSON text checked as storable, received in the
        current context (the request's: the checks run in it)."""
        return cls(
            platform=platform,
            body_sha256=hashlib.sha256(raw).hexdigest(),
            text=raw.decode(),
            context=contextvars.copy_context(),
        )

    @property
    def key(self) -> Key:
        return (self.platform, self.body_sha256)


def store_webhook_deliveries(*, received: Sequence[ReceivedDelivery]) -> list[int]:
    """Keep each delivery once per distinct body and queue the processing of the new ones
    once committed (one message for them all); the stored delivery's id for each, in order
    (a repeated body gets the id it was first stored under).

    On PostgreSQL, called outside a transaction, the batch is stored by one INSERT in
    autocommit: a statement is its own transaction, committed before its result comes back,
    one round trip instead of three (BEGIN, INSERT, COMMIT). The bodies it skipped as stored
    before are looked up after it. Elsewhere (SQLite, or inside a caller's transaction) one
    transaction (a savepoint) holds the look-up and the insert. The web server's writer on
    PostgreSQL stores the same way on a connection of its own (`_store_batch_on_loop`).

    Only the database must answer: a broker that is down is logged and the deliveries wait
    for the beat tick that queues unprocessed deliveries again (reliability.services), as
    do those whose INSERT committed when the look-up after it failed (the retry finds them
    stored, and queues nothing).
    """
    one_statement = connection.vendor == "postgresql" and not connection.in_atomic_block
    with nullcontext() if one_statement else transaction.atomic():
        distinct = _distinct(received)
        inserted, stored_before = _insert_once(distinct)
        return _answered(
            received, inserted, stored_before, queue=enqueue_drain_on_commit_in_background
        )


def _distinct(received: Sequence[ReceivedDelivery]) -> list[ReceivedDelivery]:
    """The first delivery of each body, in order."""
    first: dict[Key, ReceivedDelivery] = {}
    for delivery in received:
        first.setdefault(delivery.key, delivery)
    return list(first.values())


def _answered(
    received: Sequence[ReceivedDelivery],
    inserted: dict[Key, int],
    stored_before: dict[Key, int],
    *,
    queue,
) -> list[int]:
    """Each delivery's id, in order, once `inserted` (in the batch's order) and `stored_before`
    are known; the processing of the inserted ones queued by `queue`."""
    for (platform, _), pk in stored_before.items():
        logger.info("Webhook: %s delivery #%s repeated; already stored", platform, pk)
    if inserted:
        # The platform waits for the commit, not for Redis (reliability.services). The task
        # drains: one message, carrying the request id of the request that brought the
        # batch's first new delivery, has a worker take the whole batch (and what waits
        # with it).
        first = next(delivery for delivery in received if delivery.key in inserted)
        first.context.run(queue, process_webhook_delivery, list(inserted.values()))
    ids = {**stored_before, **inserted}
    return [ids[delivery.key] for delivery in received]


def _insert_once(deliveries: list[ReceivedDelivery]) -> tuple[dict[Key, int], dict[Key, int]]:
    """INSERT the deliveries whose body is not stored yet, in the caller's transaction (or
    autocommit): the ids of those inserted (in order) and of those stored before.

    On PostgreSQL one multi-row `INSERT … ON CONFLICT DO NOTHING` (`_insert_sql`),
    then a SELECT only for the bodies it found stored. Elsewhere (SQLite): a SELECT for the
    stored bodies, then bulk_create.
    """
    if not deliveries:
        return {}, {}
    if connection.vendor != "postgresql":
        stored_before = _ids_by_key(_stored_ids([delivery.key for delivery in deliveries]))
        created = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(platform=d.platform, body_text=d.text, body_sha256=d.body_sha256)
            for d in deliveries
            if d.key not in stored_before
        )
        return {(row.platform, row.body_sha256): row.pk for row in created}, stored_before
    # Bound on the server: the bodies are sent beside the statement, not quoted into it.
    with server_binding_cursor(connection) as cursor:
        cursor.execute(_insert_sql(len(deliveries), skip_stored=True), _insert_params(deliveries))
        returned = _ids_by_key(cursor.fetchall())
    missing = [d.key for d in deliveries if d.key not in returned]
    return _in_order(deliveries, returned), _ids_by_key(_stored_ids(missing)) if missing else {}


@functools.lru_cache(maxsize=128)
def _insert_sql(rows: int, *, skip_stored: bool) -> str:
    """PostgreSQL's INSERT of a batch of `rows` deliveries (`_insert_params`), the same text
    for every batch of that size: the ids come back. With `skip_stored`, the unique body per
    platform (`webhook_delivery_once_per_body`) skips what is stored already; without, a body
    stored before fails the statement (UniqueViolation).

    The values are bound by the server. Django's bulk_create sends arrays of the values
    quoted into the SQL text by the client (its cursors bind client-side), and escaping every
    body into a jsonb array was a sixth of a delivery's CPU in the web process
    (docs/performance.md). The time is bound once, not per row: psycopg parses a statement's
    text again at every execution past 50 parameters, so a batch of up to 16 stays parsed."""
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * rows)
    # The constraint's own predicate, so PostgreSQL infers its partial index.
    on_conflict = (
        "ON CONFLICT (platform, body_sha256) WHERE NOT (body_sha256 = '') DO NOTHING "
        if skip_stored
        else ""
    )
    return (
        f"INSERT INTO {table} (platform, body_text, body_sha256, received_at, error, claimed_by) "
        "SELECT v.platform, v.body, v.digest, %s, '', '' "
        f"FROM (VALUES {values}) AS v (platform, body, digest) "
        f"{on_conflict}RETURNING id, platform, body_sha256"
    )


def _insert_params(deliveries: list[ReceivedDelivery]) -> list:
    """The values `_insert_sql` binds: the time received, then each delivery's."""
    params: list = [timezone.now()]
    for delivery in deliveries:
        params += [delivery.platform, delivery.text, delivery.body_sha256]
    return params


def _ids_by_key(rows) -> dict[Key, int]:
    return {(platform, digest): pk for pk, platform, digest in rows}


def _in_order(deliveries: list[ReceivedDelivery], ids: dict[Key, int]) -> dict[Key, int]:
    return {d.key: ids[d.key] for d in deliveries if d.key in ids}


def _stored_ids(keys: list[Key]) -> QuerySet:
    """The (id, platform, digest) of the deliveries already stored with these bodies: read
    per platform, through the unique constraint's index."""
    by_platform: dict[str, set[str]] = {}
    for platform, digest in keys:
        by_platform.setdefault(platform, set()).add(digest)
    wanted = Q()
    for platform, digests in by_platform.items():
        wanted |= Q(platform=platform, body_sha256__in=digests)
    return (
        WebhookDelivery.objects.filter(wanted)
        .exclude(body_sha256="")
        .values_list("pk", "platform", "body_sha256")
    )


def _store_batch(received: Sequence[ReceivedDelivery]) -> list[int]:
    return store_webhook_deliveries(received=received)


# The event-loop writer's connection, the loop it belongs to, and how to open it (Django's
# parameters, without its cursor class and adapters: it returns only ids and text).
_loop_connection: tuple[asyncio.AbstractEventLoop, psycopg.AsyncConnection] | None = None
_loop_connection_params: dict = {}


async def _writer_connection() -> psycopg.AsyncConnection:
    """The writer's connection on the running loop: opened at the first batch, and again
    after it broke (or, in tests, on another loop)."""
    global _loop_connection
    loop = asyncio.get_running_loop()
    if _loop_connection is not None:
        opened_on, kept = _loop_connection
        if opened_on is loop and not (kept.broken or kept.closed):
            return kept
        if opened_on is loop:
            await kept.close()
    opened = await psycopg.AsyncConnection.connect(**_loop_connection_params, autocommit=True)
    _loop_connection = (loop, opened)
    return opened


async def _store_batch_on_loop(received: Sequence[ReceivedDelivery]) -> list[int]:
    """store_webhook_deliveries for the web server's writer on PostgreSQL, on the event loop:
    the same statements, on a connection of the writer's own (one per web process, besides
    the pool), each committed on its own (autocommit); the processing is queued at once,
    since it is committed."""
    distinct = _distinct(received)
    async with (await _writer_connection()).cursor() as cursor:
        # A plain INSERT first: ON CONFLICT searches the unique index before each row and
        # makes its insertion speculative (a lock and a WAL record more), while a plain
        # INSERT checks uniqueness as it inserts into the index: a sixth less of
        # PostgreSQL's CPU per row for the INSERT alone, a twentieth per delivery in a
        # served storm (docs/performance.md). A body stored before (a platform's retry, or
        # the same body in the other web process) fails the whole statement, and the batch
        # goes in again skipping what is stored.
        params = _insert_params(distinct)
        try:
            await cursor.execute(
                _insert_sql(len(distinct), skip_stored=False), params, prepare=True
            )
        except psycopg.errors.UniqueViolation:
            await cursor.execute(_insert_sql(len(distinct), skip_stored=True), params, prepare=True)
        returned = _ids_by_key(await cursor.fetchall())
        stored_before = {}
        if missing := [d.key for d in distinct if d.key not in returned]:
            await cursor.execute(*_stored_ids(missing).query.sql_with_params())
            stored_before = _ids_by_key(await cursor.fetchall())
    return _answered(
        received,
        _in_order(distinct, returned),
        stored_before,
        queue=enqueue_drain_committed_in_background,
    )


_writer: GroupCommit | LoopGroupCommit | None = None


def start_group_commit() -> None:
    """From now on this process stores deliveries through one group-commit writer. The web
    server calls it at start-up, before serving.

    On PostgreSQL, with a broker to hand the processing to, the writer runs on the event
    loop (reliability.group_commit.LoopGroupCommit). Otherwise (SQLite, or tasks run
    in-process, which is database work of their own) it is a thread, started with the first
    delivery."""
    global _writer, _loop_connection_params
    if _writer is not None:
        return
    name = "parley-webhook-writer"
    if connection.vendor == "postgresql" and not current_app.conf.task_always_eager:
        params = connection.get_connection_params()
        _loop_connection_params = {
            **{
                key: value
                for key, value in params.items()
                if key not in ("cursor_factory", "context")
            },
            "prepare_threshold": WRITER_PREPARE_THRESHOLD,
        }
        _writer = LoopGroupCommit(
            _store_batch_on_loop, max_batch=MAX_DELIVERIES_PER_COMMIT, name=name
        )
    else:
        _writer = GroupCommit(_store_batch, max_batch=MAX_DELIVERIES_PER_COMMIT, name=name)


def stop_group_commit() -> None:
    """Store what is queued, then go back to a transaction per delivery; the writer's own
    connection is closed."""
    global _writer
    writer, _writer = _writer, None
    if writer is not None:
        writer.stop()
    _close_writer_connection()


def _close_writer_connection() -> None:
    """Close the event-loop writer's connection: on its loop while that runs, else at once
    (its loop has stopped, so nothing is in flight on it). Left open, it held a server
    session until the process ended."""
    global _loop_connection
    kept, _loop_connection = _loop_connection, None
    if kept is None:
        return
    loop, opened = kept
    if loop.is_running():
        asyncio.run_coroutine_threadsafe(opened.close(), loop)
    elif not opened.closed:
        opened.pgconn.finish()


async def store_delivery(delivery: ReceivedDelivery) -> int:
    """Return once `delivery` is committed (or found stored already): its id."""
    if _writer is None:
        return (await sync_to_async(store_webhook_deliveries)(received=[delivery]))[0]
    return await _writer.submit_async(delivery)
