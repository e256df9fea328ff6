"""Storing inbound posts exactly once, threaded into conversations and processed, a whole
batch at a time.

A webhook delivery or a poll page brings up to a hundred posts. They are classified first
(one predict per model for the batch), then written and processed together in one
transaction: one upsert for their authors, one insert for the tagged posts, a handful of
reads to thread them, then routing, SLA clocks and assignment for their conversations
(ingestion.pipeline.process_stored_posts), and one broadcast at commit. In a storm this is
what keeps ingestion near bulk-insert speed instead of paying every round trip once per
post (docs/performance.md). If processing fails, the posts are stored on their own and
their processing is queued apart, so a post is never lost to a failing rule.

Exactly once: the posts already stored are skipped before anything is written, and checked
again once the batch holds their authors (ingestion.locks, then the authors' row locks of the
upsert). Any delivery of the same post has the same author, so a concurrent batch carrying
it either committed before that second check (and its row is seen) or does not hold the
author: it stores the post in a second transaction, after waiting for this one to commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from core import counters
from core.bulk import insert_rows
from core.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Customer,
    DeliveryStatus,
    Direction,
    Platform,
    Post,
)
from reliability.services import publish, task_named
from triage.services import (
    ArrivingPost,
    Classification,
    queue_auto_replies,
    triage_arriving,
    triage_fields,
)

from .connectors import InboundAuthor, InboundItem, unknown_author
from .locks import lock_authors
from .models import CustomerLink, PlatformAccount
from .pipeline import process_stored_posts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    post: Post
    created: bool


def ingest_item(*, account: PlatformAccount, item: InboundItem) -> IngestResult:
    """Store and process one inbound post exactly once (see ingest_items)."""
    return ingest_items(account=account, items=[item])[0]


def ingest_items(*, account: PlatformAccount, items: Sequence[InboundItem]) -> list[IngestResult]:
    """Store new inbound posts exactly once, triaged, routed and on the SLA clock, in one
    transaction (their processing is queued apart only if it failed).

    Returns one result per item, in order. A post already stored, or repeated earlier in
    `items`, comes back with created=False and the stored row.
    """
    if not items:
        return []
    items = _with_known_authors(account, items)
    first_of = {}
    for item in items:
        first_of.setdefault(item.external_id, item)
    stored = stored_posts(account.platform, first_of)
    fresh = [item for key, item in first_of.items() if key not in stored]
    created: dict[str, Post] = {}
    if fresh:
        # Classified before the authors' rows are locked: the classifier is the slow part.
        try:
            tagged = _classify(account=account, items=fresh)
        except Exception:
            logger.exception("Classifying %d new posts of %s failed", len(fresh), account)
            tagged = None  # stored untagged; their processing is queued and retried
        try:
            _store(account=account, items=fresh, stored=stored, tagged=tagged, created=created)
        except IntegrityError:
            # Only a row committed between our two checks by a writer that took no author
            # lock can get here (none does today); the second try sees it and skips it.
            logger.warning("Concurrent write while storing %d posts; storing again", len(fresh))
            stored.update(stored_posts(account.platform, first_of))
            _store(
                account=account,
                items=[item for item in fresh if item.external_id not in stored],
                stored=stored,
                tagged=tagged,
                created=created,
            )
        except OperationalError:
            raise  # the database is unreachable or deadlocked: the task's retry stores them
        except Exception:
            # Processing failed (a routing rule, a service window…): nothing of the failing
            # transaction was written. Store its posts alone; their processing is retried on
            # its own, post by post if need be, so no post waits on another's failure.
            logger.exception(
                "Processing %d new posts of %s failed; storing them to process apart",
                len(fresh),
                account,
            )
            _store(
                account=account,
                items=[item for item in fresh if item.external_id not in created],
                stored=stored,
                tagged=None,
                created=created,
            )
    results = []
    seen: set[str] = set()
    for item in items:
        key = item.external_id
        is_new = key in created and key not in seen
        seen.add(key)
        results.append(IngestResult(post=created.get(key) or stored[key], created=is_new))
    return results


def _with_known_authors(
    account: PlatformAccount, items: Sequence[InboundItem]
) -> list[InboundItem]:
    """The items with every author a customer of their own.

    A post whose platform named no author (Meta may leave out `from`) gets an "unknown
    author" customer of its own: keyed on "" every stranger's post would land in one
    conversation. An Instagram author known only by username (a mention's caption) takes
    the IG user id of the customer already stored with that username, so one person is
    one customer whether they comment, DM or mention.
    """
    items = [
        item if item.author.external_id else replace(item, author=unknown_author(item.external_id))
        for item in items
    ]
    if account.platform != Platform.INSTAGRAM:
        return items
    usernames = {
        item.author.handle.lower()
        for item in items
        if item.author.handle and item.author.external_id == item.author.handle
    }
    if not usernames:
        return items
    known = {}
    for external_id, handle in (
        Customer.objects.annotate(handle_lower=Lower("handle"))
        .filter(platform=Platform.INSTAGRAM, handle_lower__in=list(usernames))
        .values_list("external_id", "handle")
    ):
        if external_id.isdigit():
            known[handle.lower()] = external_id
    return [
        replace(item, author=replace(item.author, external_id=known[item.author.handle.lower()]))
        if item.author.external_id == item.author.handle and item.author.handle.lower() in known
        else item
        for item in items
    ]


def classifier_text(item: InboundItem) -> str:
    """The text the classifier reads: the post's, or what it carries when it has none."""
    if item.text.strip() or not item.attachments:
        return item.text
    return " ".join(f"[{attachment.type}]" for attachment in item.attachments)


def stored_raw(item: InboundItem) -> dict:
    """The payload stored on the post, with what Parley read from it (`parley_*` keys)."""
    raw = dict(item.raw)
    if item.kind != "post":
        # Private messages are marked so the answer goes back privately too.
        raw["parley_kind"] = item.kind
    if item.attachments:
        raw["parley_attachments"] = [attachment.as_dict() for attachment in item.attachments]
    return raw


def stored_posts(platform: str, external_ids: Iterable[str]) -> dict[str, Post]:
    """The stored posts of `platform` with these ids, by id."""
    return {
        post.external_id: post
        for post in Post.objects.filter(platform=platform, external_id__any=list(external_ids))
    }


def _classify(*, account: PlatformAccount, items: list[InboundItem]) -> dict[str, Classification]:
    """Each item's triage tags, by external id."""
    results = triage_arriving(
        [
            ArrivingPost(
                text=classifier_text(item),
                platform=account.platform,
                raw=item.raw,
                created_at=item.created_at,
                follower_count=item.author.follower_count,
                is_verified=item.author.is_verified,
            )
            for item in items
        ]
    )
    return {item.external_id: result for item, result in zip(items, results, strict=True)}


def _store(
    *,
    account: PlatformAccount,
    items: list[InboundItem],
    stored: dict[str, Post],
    tagged: dict[str, Classification] | None,
    created: dict[str, Post],
) -> None:
    """Write the posts not stored yet; `created` gains them as each transaction commits, and
    `stored` gains those a concurrent batch committed.

    With `tagged` (each item's triage tags), the posts are stored tagged and processed
    (routing, SLA clocks, assignment) in the same transaction; without, they are stored
    untagged and their processing is queued.

    In a storm every batch shares a few authors with the batches other workers are storing,
    and each batch holds its authors until it commits: waiting for all of them made the
    workers store one batch at a time. So on PostgreSQL a first transaction stores the posts
    of the authors no other batch holds (try-locks, which never wait), and a second one the
    rest, once it has waited for their authors (ingestion.locks).
    """
    pending = items
    wait = False
    while pending:
        with transaction.atomic():
            held = lock_authors(
                platform=account.platform,
                external_ids={item.author.external_id for item in pending},
                wait=wait,
            )
            ready, pending = _split_by_author(pending, held)
            written = _write(account=account, items=ready, stored=stored, tagged=tagged)
        created.update(written)
        wait = True


def _split_by_author(
    items: list[InboundItem], held: set[str]
) -> tuple[list[InboundItem], list[InboundItem]]:
    """The items to store now and those left for later: all of an author's items go
    together, and an item answering one left for later is left too (with its author's), so
    a reply is never stored before the post it answers."""
    later_authors = {item.author.external_id for item in items} - held
    while True:
        later_posts = set()
        for item in items:
            if item.author.external_id in later_authors or item.in_reply_to in later_posts:
                later_posts.add(item.external_id)
        chained = {item.author.external_id for item in items if item.external_id in later_posts}
        if chained <= later_authors:
            break
        later_authors |= chained
    ready = [item for item in items if item.external_id not in later_posts]
    return ready, [item for item in items if item.external_id in later_posts]


def _write(
    *,
    account: PlatformAccount,
    items: list[InboundItem],
    stored: dict[str, Post],
    tagged: dict[str, Classification] | None,
) -> dict[str, Post]:
    """Store and process `items` in the caller's transaction, which holds their authors'
    locks; returns the posts written, by external id."""
    if not items:
        return {}
    customers = upsert_customers(platform=account.platform, authors=[i.author for i in items])
    # Under the authors' locks now: see what a concurrent batch stored meanwhile.
    stored.update(stored_posts(account.platform, [item.external_id for item in items]))
    items = [item for item in items if item.external_id not in stored]
    if not items:
        return {}
    conversations, opened = _thread(account=account, customers=customers, items=items)
    posts = insert_rows(
        Post(
            conversation=conversations[item.external_id],
            account=account,
            direction=Direction.INBOUND,
            platform=account.platform,
            external_id=item.external_id,
            customer=customers[item.author.external_id],
            text=item.text,
            in_reply_to=item.in_reply_to,
            created_at=item.created_at,
            raw=stored_raw(item),
            delivery_status=DeliveryStatus.RECEIVED,
            **(triage_fields(tagged[item.external_id]) if tagged else {}),
        )
        for item in items
    )
    transaction.on_commit(
        partial(counters.increment, counters.posts_ingested_counter(account.platform), len(posts))
    )
    if tagged:
        by_pk = {customer.pk: customer for customer in customers.values()}
        for conversation in opened:
            conversation.customer = by_pk[conversation.customer_id]
        process_stored_posts(posts, opened=opened)
        queue_auto_replies(posts)
    else:
        post_ids = [post.pk for post in posts]
        transaction.on_commit(lambda: _enqueue_processing(post_ids))
    return {post.external_id: post for post in posts}


# One statement for the whole batch instead of update_or_create's savepoints, locked read,
# insert or update per author. It locks the authors' rows until commit, in external id order
# so two batches never wait on each other crosswise, and works on PostgreSQL and SQLite. On
# PostgreSQL the rows travel as one array per column: a short statement, parsed once, where
# a VALUES list of a literal per field cost both sides more than the upsert (bench: ingest).
_UPSERT_CUSTOMERS = """
    INSERT INTO {table} (platform, external_id, handle, display_name, follower_count,
                         is_verified, first_seen_at, updated_at)
    {rows}
    ON CONFLICT (platform, external_id) DO UPDATE SET
        handle = excluded.handle,
        display_name = excluded.display_name,
        follower_count = excluded.follower_count,
        is_verified = excluded.is_verified,
        updated_at = excluded.updated_at
    RETURNING *
"""
_CUSTOMER_ARRAYS = (
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[], "
    "%s::integer[], %s::boolean[], %s::timestamptz[], %s::timestamptz[])"
)


def upsert_customers(*, platform: str, authors: Iterable[InboundAuthor]) -> dict[str, Customer]:
    """Create or refresh the authors' profiles; returns them by external id.

    The latest profile in `authors` wins (an upsert may touch each row once per statement).
    """
    latest = {author.external_id: author for author in authors}
    now = timezone.now()
    rows = [
        (
            platform,
            external_id,
            latest[external_id].handle,
            latest[external_id].display_name,
            latest[external_id].follower_count,
            latest[external_id].is_verified,
            now,
            now,
        )
        for external_id in sorted(latest)
    ]
    if connection.vendor == "postgresql":
        values, params = _CUSTOMER_ARRAYS, [list(column) for column in zip(*rows, strict=True)]
    else:
        values = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        params = [value for row in rows for value in row]
    sql = _UPSERT_CUSTOMERS.format(table=Customer._meta.db_table, rows=values)
    customers = {customer.external_id: customer for customer in Customer.objects.raw(sql, params)}
    # An existing row keeps its first_seen_at: only a new one carries this call's instant.
    _suggest_links([c for c in customers.values() if c.first_seen_at == now and c.handle])
    return customers


def _suggest_links(new_customers: list[Customer]) -> None:
    """Suggest linking new identities to those with the same handle on other platforms."""
    if not new_customers:
        return
    by_handle: dict[str, list[Customer]] = {}
    for customer in new_customers:
        by_handle.setdefault(customer.handle.lower(), []).append(customer)
    namesakes = Customer.objects.annotate(handle_lower=Lower("handle")).filter(
        handle_lower__in=list(by_handle)
    )
    CustomerLink.objects.bulk_create(
        [
            CustomerLink(customer=customer, other=other, reason=f"same handle @{customer.handle}")
            for other in namesakes
            for customer in by_handle[other.handle_lower]
            if other.platform != customer.platform
        ],
        ignore_conflicts=True,
    )


def _thread(
    *, account: PlatformAccount, customers: dict[str, Customer], items: list[InboundItem]
) -> tuple[dict[str, Conversation], list[Conversation]]:
    """The conversation each item belongs to, by the item's external id; and the
    conversations opened for this batch.

    An item joins the active conversation holding the post it answers (stored before, or
    earlier in this batch); else its author's open conversation with this account; else the
    one an agent resolved within `INGESTION_REOPEN_WINDOW_MINUTES` (reopened: "thanks, but
    it broke again"); else a new one. The caller holds the authors' row locks, so two
    batches never open two conversations for one customer.
    """
    parents = {
        post.external_id: post.conversation
        for post in Post.objects.filter(
            platform=account.platform,
            external_id__any={item.in_reply_to for item in items if item.in_reply_to},
        ).select_related("conversation")
        if post.conversation.status in ACTIVE_STATUSES
    }
    in_batch: set[str] = set()
    answers_batch: set[str] = set()  # items answering an earlier item of this batch
    orphans: list[InboundItem] = []
    for item in items:
        if item.in_reply_to not in parents:
            if item.in_reply_to in in_batch:
                answers_batch.add(item.external_id)
            else:
                orphans.append(item)
        in_batch.add(item.external_id)
    by_customer: dict[int, Conversation] = {}
    opened: list[Conversation] = []
    if orphans:
        by_customer, opened = _customer_conversations(
            account=account,
            customer_ids={customers[item.author.external_id].pk for item in orphans},
        )
    threaded: dict[str, Conversation] = {}
    for item in items:
        if item.in_reply_to in parents:
            threaded[item.external_id] = parents[item.in_reply_to]
        elif item.external_id in answers_batch:
            threaded[item.external_id] = threaded[item.in_reply_to]
        else:
            threaded[item.external_id] = by_customer[customers[item.author.external_id].pk]
    return threaded, opened


def _customer_conversations(
    *, account: PlatformAccount, customer_ids: set[int]
) -> tuple[dict[int, Conversation], list[Conversation]]:
    """Each customer's open conversation with `account`, reopened or new where there is none;
    and the new ones."""
    found: dict[int, Conversation] = {}
    open_ones = Conversation.objects.filter(
        customer_id__any=customer_ids, account=account, status__in=ACTIVE_STATUSES
    ).order_by("customer_id", "-created_at")
    for conversation in open_ones:
        found.setdefault(conversation.customer_id, conversation)
    window = settings.INGESTION_REOPEN_WINDOW_MINUTES
    missing = customer_ids - found.keys()
    if missing and window:
        recently_resolved = Conversation.objects.filter(
            customer_id__any=missing,
            account=account,
            status=ConversationStatus.RESOLVED,
            # Conversations a rule closed as needing no reply (spam) stay closed.
            needs_reply=True,
            resolved_at__gte=timezone.now() - timedelta(minutes=window),
        ).order_by("customer_id", "-resolved_at")
        for conversation in recently_resolved:
            if conversation.customer_id in found:
                continue
            conversation.status = ConversationStatus.OPEN
            conversation.resolved_at = None
            conversation.save(update_fields=["status", "resolved_at", "updated_at"])
            found[conversation.customer_id] = conversation
    missing = customer_ids - found.keys()
    opened = insert_rows(
        Conversation(customer_id=customer_id, account=account) for customer_id in sorted(missing)
    )
    found.update((conversation.customer_id, conversation) for conversation in opened)
    return found, opened


def _enqueue_processing(post_ids: list[int]) -> None:
    # A broker that is down must not fail the caller: the posts are committed, and the
    # reliability sweep queues their processing again.
    publish(task_named("ingestion.tasks.process_inbound_posts"), post_ids)
