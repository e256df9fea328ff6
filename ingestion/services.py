"""Writing what platforms deliver into Parley, once, threaded into conversations; and sending
the agents' replies back."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Customer,
    DeliveryStatus,
    Direction,
    Platform,
    Post,
)
from helpdesk.realtime import broadcast_conversation

from .connectors import (
    Connector,
    ConnectorError,
    DeliveryUncertain,
    InboundAuthor,
    InboundItem,
    ItemEvent,
    PermanentError,
    RateLimited,
    TransientError,
    connector_for,
)
from .connectors.facebook import parse_meta_delivery
from .connectors.twitter import parse_account_activity
from .models import CustomerLink, LinkStatus, PlatformAccount, ReplyAttempt, WebhookDelivery

logger = logging.getLogger(__name__)

# The longest a failing account waits between polls.
MAX_BACKOFF_SECONDS = 3600
# A claim on a reply older than settings.INGESTION_REPLY_CLAIM_SECONDS (120 s) belongs to a
# worker that died mid-call: every HTTP call has a 30-second timeout.
# Work whose task has not run this long after commit is queued again, at most a batch a tick.
STRANDED_AFTER_SECONDS = 60
STRANDED_BATCH = 500


@dataclass(frozen=True)
class IngestResult:
    post: Post
    created: bool


def ingest_item(*, account: PlatformAccount, item: InboundItem) -> IngestResult:
    """Store one inbound post exactly once and queue it for triage.

    A second delivery of the same external id, even a concurrent one, returns the stored post.
    """
    existing = _stored_post(account.platform, item.external_id)
    if existing is not None:
        return IngestResult(post=existing, created=False)
    try:
        with transaction.atomic():
            customer = _upsert_customer(platform=account.platform, author=item.author)
            conversation = _conversation_for(account=account, customer=customer, item=item)
            post = Post.objects.create(
                conversation=conversation,
                direction=Direction.INBOUND,
                platform=account.platform,
                external_id=item.external_id,
                customer=customer,
                text=item.text,
                in_reply_to=item.in_reply_to,
                created_at=item.created_at,
                # Private messages are marked so the answer goes back privately too.
                raw=item.raw if item.kind == "post" else {**item.raw, "parley_kind": item.kind},
                delivery_status=DeliveryStatus.RECEIVED,
            )
            Conversation.objects.filter(pk=conversation.pk).update(
                last_inbound_at=item.created_at, updated_at=timezone.now()
            )
            transaction.on_commit(lambda: _enqueue_processing(post.pk))
    except IntegrityError:
        # A concurrent delivery of the same post committed first; that row is the one.
        stored = _stored_post(account.platform, item.external_id)
        if stored is None:
            raise
        return IngestResult(post=stored, created=False)
    return IngestResult(post=post, created=True)


def apply_item(*, account: PlatformAccount, item: InboundItem) -> IngestResult | None:
    """Store a new post, or apply an edit or deletion the platform reports for a stored one.

    An edit of a post Parley never saw is stored as new; a deletion of one is ignored.
    """
    if item.event == ItemEvent.CREATED:
        return ingest_item(account=account, item=item)
    with transaction.atomic():
        stored = (
            Post.objects.select_for_update()
            .filter(platform=account.platform, external_id=item.external_id)
            .first()
        )
        if stored is None:
            if item.event == ItemEvent.EDITED:
                return ingest_item(account=account, item=item)
            return None
        if item.event == ItemEvent.EDITED and item.text != stored.text:
            # Keep what the customer first wrote: the agent may already have answered it.
            history = [*stored.raw.get("parley_edits", []), {"text": stored.text}]
            stored.raw = {**item.raw, "parley_edits": history}
            stored.text = item.text
            stored.save(update_fields=["text", "raw"])
        elif item.event == ItemEvent.DELETED and "parley_deleted_at" not in stored.raw:
            # The post stays in the conversation, marked, so the agent sees what was asked.
            stored.raw = {**stored.raw, "parley_deleted_at": timezone.now().isoformat()}
            stored.save(update_fields=["raw"])
    return IngestResult(post=stored, created=False)


def accounts_due_for_polling(*, now: datetime | None = None) -> list[int]:
    """Claim the accounts whose poll is due and return their ids.

    Claiming moves `next_poll_at` one interval ahead with a conditional update, so a beat
    tick that comes while a poll is still running does not queue a second one.
    """
    now = now or timezone.now()
    due = PlatformAccount.objects.filter(is_active=True, is_healthy=True).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
    )
    claimed = []
    for account_id, interval, next_poll_at in due.values_list(
        "pk", "poll_interval_seconds", "next_poll_at"
    ):
        won = PlatformAccount.objects.filter(pk=account_id, next_poll_at=next_poll_at).update(
            next_poll_at=now + timedelta(seconds=interval)
        )
        if won:
            claimed.append(account_id)
    return claimed


def poll_account(*, account_id: int) -> int:
    """Fetch what the account's platform has since the stored cursor; returns posts stored.

    The cursor moves only after every fetched post is committed, so a crash re-fetches and
    dedupe makes the repeat harmless. A failed poll never moves it. Rate limits push the
    next poll past the platform's reset time; transient failures back off exponentially
    with jitter; a refusal of the account itself marks it unhealthy.
    """
    account = PlatformAccount.objects.get(pk=account_id)
    now = timezone.now()
    if not account.is_active or not account.is_healthy:
        return 0
    if account.is_rate_limited:
        logger.info("Not polling %s: rate limited until %s", account, account.rate_limited_until)
        return 0
    connector = None
    try:
        connector = connector_for(account)
        result = connector.fetch_since(account.poll_cursor)
    except RateLimited as error:
        logger.warning("Polling %s: %s; next poll after %s", account, error, error.reset_at)
        _record_poll_failure(
            account,
            error,
            now=now,
            next_poll_at=error.reset_at,
            rate_limited_until=error.reset_at,
            rate_limit=getattr(connector, "recorder", None),
        )
        return 0
    except PermanentError as error:
        logger.error("Polling %s refused, marking it unhealthy: %s", account, error)
        _record_poll_failure(account, error, now=now, is_healthy=False)
        return 0
    except ConnectorError as error:
        failures = account.consecutive_failures + 1
        delay = backoff_seconds(failures, base=account.poll_interval_seconds)
        logger.warning("Polling %s failed (%d in a row): %s", account, failures, error)
        _record_poll_failure(
            account,
            error,
            now=now,
            next_poll_at=now + timedelta(seconds=delay),
            consecutive_failures=failures,
        )
        return 0
    stored = 0
    for item in result.items:
        outcome = apply_item(account=account, item=item)
        stored += bool(outcome and outcome.created)
    PlatformAccount.objects.filter(pk=account.pk).update(
        poll_cursor=result.cursor,
        last_polled_at=now,
        last_poll_error="",
        consecutive_failures=0,
        rate_limited_until=None,
        rate_limit_state=result.rate_limit or account.rate_limit_state,
    )
    return stored


def backoff_seconds(failures: int, *, base: float) -> float:
    """Exponential backoff with full jitter, capped: spreads retries of many accounts."""
    ceiling = min(MAX_BACKOFF_SECONDS, base * 2 ** min(failures, 16))
    return random.uniform(base, max(base, ceiling))


def _record_poll_failure(
    account: PlatformAccount, error: ConnectorError, *, now: datetime, rate_limit=None, **fields
) -> None:
    if rate_limit is not None and rate_limit.state:
        fields["rate_limit_state"] = rate_limit.state
    PlatformAccount.objects.filter(pk=account.pk).update(
        last_polled_at=now, last_poll_error=str(error), **fields
    )


def process_webhook_delivery(*, delivery_id: int) -> int:
    """Store what a verified webhook delivery carries; returns posts stored. Safe to repeat."""
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.processed_at is not None:
        return 0
    try:
        if delivery.platform == Platform.TWITTER:
            webhook_items = parse_account_activity(delivery.body)
        else:
            webhook_items = parse_meta_delivery(delivery.body)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # A signed body of the wrong shape: recorded on the delivery, never retried.
        logger.warning("Webhook delivery %s cannot be read: %r", delivery.pk, error)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            processed_at=timezone.now(), error=f"Unreadable delivery: {error!r}"
        )
        return 0
    accounts: dict[str, PlatformAccount | None] = {}
    unknown: set[str] = set()
    problems: list[str] = []
    retry_later = False
    stored = 0
    for webhook_item in webhook_items:
        key = webhook_item.account_external_id
        if key not in accounts:
            accounts[key] = PlatformAccount.objects.filter(
                platform=delivery.platform, external_id=key, is_active=True
            ).first()
        account = accounts[key]
        if account is None:
            unknown.add(key)
            continue
        item = webhook_item.item
        if item is None:
            try:
                item = connector_for(account).fetch_mention(**webhook_item.lookup)
            except (TransientError, RateLimited) as error:
                # Left unprocessed: the beat tick queues the delivery again, and what was
                # already stored from it dedupes.
                problems.append(str(error))
                retry_later = True
                continue
            except ConnectorError as error:
                problems.append(str(error))
                continue
            if item is None:
                continue
        outcome = apply_item(account=account, item=item)
        stored += bool(outcome and outcome.created)
    if unknown:
        ids = ", ".join(sorted(unknown))
        problems.append(f"No active {delivery.get_platform_display()} account with id {ids}")
    error = "; ".join(problems)
    if error:
        logger.warning("Webhook delivery %s: %s", delivery.pk, error)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        processed_at=None if retry_later else timezone.now(), error=error
    )
    return stored


def deliver_reply(*, post_id: int) -> Post:
    """Publish a stored outbound reply on its platform, never twice.

    No platform offers an idempotency key for replies, so Parley keeps its own record
    (`ReplyAttempt`) and commits it before every call:

    1. A reply already sent is left alone; one whose call is in flight in another worker
       (claimed less than `REPLY_CLAIM_SECONDS` ago) is left to that worker.
    2. If the previous call ended without an answer (timeout, dropped connection, a worker
       that died mid-call), the platform is asked whether the reply is there before anything
       is published again; if it is, its id is adopted.
    3. A refusal from the platform fails the reply with the platform's message; a failure to
       reach it leaves the reply pending for the task to retry.
    """
    now = timezone.now()
    with transaction.atomic():
        post = (
            # Lock only the post: Postgres refuses FOR UPDATE on the nullable side of a join.
            Post.objects.select_for_update(of=("self",))
            .select_related("conversation__account", "conversation__customer")
            .get(pk=post_id, direction=Direction.OUTBOUND)
        )
        if post.delivery_status == DeliveryStatus.SENT:
            return post
        attempt, _ = ReplyAttempt.objects.select_for_update().get_or_create(post=post)
        claim_seconds = settings.INGESTION_REPLY_CLAIM_SECONDS
        if attempt.claimed_at and (now - attempt.claimed_at).total_seconds() < claim_seconds:
            return post
        verify_first = attempt.outcome_unknown
        attempt.claimed_at = now
        attempt.last_attempt_at = now
        attempt.attempts += 1
        attempt.outcome_unknown = True  # until the platform answers
        attempt.save()
        if post.delivery_status != DeliveryStatus.PENDING:
            post.delivery_status = DeliveryStatus.PENDING
            post.save(update_fields=["delivery_status"])
    account = post.conversation.account
    # A reply whose last call went unanswered stays "unknown" until the platform has
    # answered the check: if the check itself fails (429, 500, timeout), the next attempt
    # must check again, never publish blind.
    outcome_unknown = verify_first
    external_id = None
    status, error_text = DeliveryStatus.PENDING, ""
    try:
        connector = connector_for(account)
        if verify_first:
            external_id = connector.find_published_reply(
                text=post.text, in_reply_to=post.in_reply_to, since=attempt.started_at
            )
            outcome_unknown = False
        if external_id is None:
            external_id = _publish(connector, post)
        status = DeliveryStatus.SENT
    except DeliveryUncertain as error:
        logger.warning("Reply %s to %s: %s; will check before retrying", post.pk, account, error)
        outcome_unknown, error_text = True, f"{error} Checking the platform before retrying."
    except (TransientError, RateLimited) as error:
        logger.warning("Reply %s to %s not sent yet: %s", post.pk, account, error)
        error_text = str(error)
    except ConnectorError as error:
        logger.warning("Reply %s to %s failed: %s", post.pk, account, error)
        status, error_text = DeliveryStatus.FAILED, str(error)
    with transaction.atomic():
        ReplyAttempt.objects.filter(pk=attempt.pk).update(
            claimed_at=None, outcome_unknown=outcome_unknown
        )
        post.delivery_status = status
        post.delivery_error = error_text
        if external_id:
            post.external_id = external_id
        post.save(update_fields=["external_id", "delivery_status", "delivery_error"])
        # The agent watching the conversation sees "Sent" or the platform's error live.
        transaction.on_commit(
            lambda: broadcast_conversation(post.conversation_id, event="reply.delivery")
        )
    return post


def stranded_work(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Webhook deliveries never processed and replies never attempted, a minute on.

    Their task was lost (the broker was down at commit, a worker died before acking); the
    beat tick queues them again. Replies already attempted are left to their task's retries,
    so a platform that is down is not called more often than the backoff allows.
    """
    cutoff = (now or timezone.now()) - timedelta(
        seconds=min(STRANDED_AFTER_SECONDS, settings.RELIABILITY_STRANDED_AFTER_SECONDS)
    )
    deliveries = list(
        WebhookDelivery.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:STRANDED_BATCH]
    )
    replies = list(
        Post.objects.filter(
            direction=Direction.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            created_at__lt=cutoff,
            reply_attempt__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:STRANDED_BATCH]
    )
    return deliveries, replies


def give_up_reply(*, post_id: int) -> None:
    """After the last retry, show the reply as failed with the last error the agent can act on."""
    Post.objects.filter(pk=post_id, delivery_status=DeliveryStatus.PENDING).update(
        delivery_status=DeliveryStatus.FAILED
    )


def _publish(connector: Connector, post: Post) -> str:
    """A private message when the agent took the conversation private or the customer wrote
    privately, else a public reply."""
    answered = _stored_post(post.platform, post.in_reply_to) if post.in_reply_to else None
    if post.is_private or (answered is not None and answered.raw.get("parley_kind") == "message"):
        return connector.send_private_message(
            recipient_id=post.conversation.customer.external_id,
            text=post.text,
            idempotency_key=str(post.idempotency_key),
        )
    return connector.send_reply(
        text=post.text, in_reply_to=post.in_reply_to, idempotency_key=str(post.idempotency_key)
    )


def _stored_post(platform: str, external_id: str) -> Post | None:
    return Post.objects.filter(platform=platform, external_id=external_id).first()


# One statement instead of update_or_create's savepoints, locked read, insert or update: in a
# storm this runs for every post (bench: ingest). It locks the customer's row until commit as
# update_or_create did, and works on PostgreSQL and SQLite alike.
_UPSERT_CUSTOMER = """
    INSERT INTO {table} (platform, external_id, handle, display_name, follower_count,
                         is_verified, first_seen_at, updated_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (platform, external_id) DO UPDATE SET
        handle = excluded.handle,
        display_name = excluded.display_name,
        follower_count = excluded.follower_count,
        is_verified = excluded.is_verified,
        updated_at = excluded.updated_at
    RETURNING *
"""


def _upsert_customer(*, platform: str, author: InboundAuthor) -> Customer:
    now = timezone.now()
    sql = _UPSERT_CUSTOMER.format(table=Customer._meta.db_table)
    params = [
        platform,
        author.external_id,
        author.handle,
        author.display_name,
        author.follower_count,
        author.is_verified,
        now,
        now,
    ]
    (customer,) = list(Customer.objects.raw(sql, params))
    # An existing row keeps its first_seen_at: only a new one carries this call's instant.
    created = customer.first_seen_at == now
    if created and author.handle:
        _suggest_links(customer)
    return customer


def _suggest_links(customer: Customer) -> None:
    """Suggest linking a new identity to those with the same handle on other platforms."""
    same_handle = Customer.objects.filter(handle__iexact=customer.handle).exclude(
        platform=customer.platform
    )
    CustomerLink.objects.bulk_create(
        [
            CustomerLink(customer=customer, other=other, reason=f"same handle @{customer.handle}")
            for other in same_handle
        ],
        ignore_conflicts=True,
    )


def link_customers(*, customer_id: int, other_id: int) -> CustomerLink:
    """Confirm that two identities are one person (an admin's manual merge)."""
    if customer_id == other_id:
        raise ValueError("An identity cannot be linked to itself.")
    first, second = sorted([customer_id, other_id])
    with transaction.atomic():
        existing = CustomerLink.objects.filter(
            Q(customer_id=first, other_id=second) | Q(customer_id=second, other_id=first)
        ).first()
        if existing is not None:
            existing.status = LinkStatus.CONFIRMED
            existing.save(update_fields=["status"])
            return existing
        return CustomerLink.objects.create(
            customer_id=first, other_id=second, status=LinkStatus.CONFIRMED, reason="linked by hand"
        )


def _conversation_for(
    *, account: PlatformAccount, customer: Customer, item: InboundItem
) -> Conversation:
    """The conversation a post belongs to: the one holding the post it answers, else the
    customer's open conversation with this account, else the one an agent resolved within
    `INGESTION_REOPEN_WINDOW_MINUTES` (reopened: "thanks, but it broke again"), else a new one.

    The caller holds the customer's row lock, so two posts of one customer never open two
    conversations.
    """
    if item.in_reply_to:
        parent = (
            Post.objects.filter(platform=account.platform, external_id=item.in_reply_to)
            .select_related("conversation")
            .first()
        )
        if parent is not None and parent.conversation.status in ACTIVE_STATUSES:
            return parent.conversation
    open_conversation = (
        Conversation.objects.filter(customer=customer, account=account, status__in=ACTIVE_STATUSES)
        .order_by("-created_at")
        .first()
    )
    if open_conversation is not None:
        return open_conversation
    window = settings.INGESTION_REOPEN_WINDOW_MINUTES
    if window:
        recently_resolved = (
            Conversation.objects.filter(
                customer=customer,
                account=account,
                status=ConversationStatus.RESOLVED,
                # Conversations a rule closed as needing no reply (spam) stay closed.
                needs_reply=True,
                resolved_at__gte=timezone.now() - timedelta(minutes=window),
            )
            .order_by("-resolved_at")
            .first()
        )
        if recently_resolved is not None:
            recently_resolved.status = ConversationStatus.OPEN
            recently_resolved.resolved_at = None
            recently_resolved.save(update_fields=["status", "resolved_at", "updated_at"])
            return recently_resolved
    return Conversation.objects.create(customer=customer, account=account)


def _enqueue_processing(post_id: int) -> None:
    from helpdesk.tasks import process_inbound_post
    from reliability.services import publish

    # A broker that is down must not fail the caller: the post is committed, and the
    # reliability sweep queues its triage again.
    publish(process_inbound_post, post_id)
