"""Writing what platforms deliver into Parley, once, threaded into conversations; and sending
the agents' replies back."""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from core.models import (
    DeliveryStatus,
    Direction,
    Platform,
    Post,
)
from core.realtime import broadcast_conversation
from reliability.redaction import redact
from reliability.services import drain_started, publish, queue_drain, task_named

from .connectors import (
    ConnectionCheck,
    Connector,
    ConnectorError,
    DeliveryUncertain,
    InboundItem,
    ItemEvent,
    ParsedDelivery,
    PermanentError,
    RateLimited,
    ReplyRejected,
    TransientError,
    connector_for,
)
from .connectors.facebook import parse_meta_delivery
from .connectors.twitter import parse_account_activity
from .models import CustomerLink, LinkStatus, PlatformAccount, ReplyAttempt, WebhookDelivery
from .selectors import customers_needing_profiles, messaging_window
from .store import IngestResult, ingest_item, ingest_items

__all__ = ["IngestResult", "apply_item", "apply_items", "ingest_item", "ingest_items"]

logger = logging.getLogger(__name__)

# The longest a failing account waits between polls.
MAX_BACKOFF_SECONDS = 3600
# A claim on a reply older than settings.INGESTION_REPLY_CLAIM_SECONDS (120 s) belongs to a
# worker that died mid-call: every HTTP call has a 30-second timeout.
# Work whose task has not run this long after commit is queued again, at most a batch a tick.
STRANDED_AFTER_SECONDS = 60
STRANDED_BATCH = 500


def apply_items(*, account: PlatformAccount, items: Sequence[InboundItem]) -> int:
    """Store what a delivery or a poll page brings; returns how many posts are new.

    New posts are stored together (ingestion.store); edits and deletions of stored posts are
    applied after them, in the order the platform reported them.
    """
    created = [item for item in items if item.event == ItemEvent.CREATED]
    stored = sum(result.created for result in ingest_items(account=account, items=created))
    _queue_profile_lookups(account, created)
    record_engagements(
        account=account, items=[item for item in items if item.event == ItemEvent.ENGAGEMENT]
    )
    for item in items:
        if item.event not in {ItemEvent.CREATED, ItemEvent.ENGAGEMENT}:
            outcome = apply_item(account=account, item=item)
            stored += bool(outcome and outcome.created)
    return stored


def _queue_profile_lookups(account: PlatformAccount, items: Sequence[InboundItem]) -> None:
    """Queue a name and picture lookup for message senders known only by a page-scoped id,
    and an author lookup for posts that came without one."""
    senders = [
        item.author.external_id
        for item in items
        if item.kind == "message" or item.author.is_unknown
    ]
    if not senders:
        return
    customer_ids = customers_needing_profiles(platform=account.platform, external_ids=senders)
    if customer_ids:
        # After commit when called inside a transaction: the customers must be visible.
        task = task_named("ingestion.tasks.look_up_profiles")
        transaction.on_commit(lambda: publish(task, account.pk, customer_ids))


# Where each kind of engagement is counted in a post's payload: the keys the viral
# detection (triage.services.engagements_per_hour) adds up.
ENGAGEMENT_COUNTS = {"retweet": "retweet_count", "like": "like_count", "share": "share_count"}


def record_engagements(*, account: PlatformAccount, items: Sequence[InboundItem]) -> int:
    """Count retweets, likes and reactions on the stored posts they are about; returns how
    many posts were updated.

    Engagement is never a post: no conversation opens and no clock starts. A batch is
    counted once per post and kind (a retweet storm is one update per post, not one per
    retweet), each in a short transaction that locks the post's row while its payload is
    rewritten, so two batches counting at once lose nothing. When the platform reports the
    post's total (a retweet carries the original's `retweet_count`) the larger of it and the
    stored count is kept, so a repeated delivery counts once; else one is added per item.
    Engagement with a post Parley does not hold is only logged.
    """
    groups: dict[tuple[str, str], list[InboundItem]] = {}
    for item in items:
        kind = item.raw.get("parley_engagement", "like")
        groups.setdefault((item.in_reply_to, kind), []).append(item)
    updated = 0
    for (target, kind), group in groups.items():
        reported = [item.raw["count"] for item in group if isinstance(item.raw.get("count"), int)]
        added = sum(1 for item in group if not isinstance(item.raw.get("count"), int))
        updated += _count_engagement(
            account=account,
            target=target,
            key=ENGAGEMENT_COUNTS.get(kind, "like_count"),
            reported=max(reported) if reported else None,
            added=added,
        )
    return updated


def _count_engagement(
    *, account: PlatformAccount, target: str, key: str, reported: int | None, added: int
) -> int:
    with transaction.atomic():
        post = (
            Post.objects.select_for_update()
            .filter(platform=account.platform, external_id=target)
            .first()
        )
        if post is None:
            logger.info(
                "%s: %s engagement with %s, a post Parley does not hold", account, key, target
            )
            return 0
        raw = dict(post.raw) if isinstance(post.raw, dict) else {}
        # engagements_per_hour reads `public_metrics` when the payload has it (X API v2).
        counts = dict(raw["public_metrics"]) if isinstance(raw.get("public_metrics"), dict) else raw
        current = counts.get(key) if isinstance(counts.get(key), int) else 0
        counts[key] = max(current + added, reported or 0)
        if counts is not raw:
            raw["public_metrics"] = counts
        post.raw = raw
        post.save(update_fields=["raw"])
    return 1


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
    stored = apply_items(account=account, items=result.items)
    if result.problems:
        logger.warning("Polling %s skipped unreadable items: %s", account, result.problems)
    PlatformAccount.objects.filter(pk=account.pk).update(
        poll_cursor=result.cursor,
        last_polled_at=now,
        # Unreadable items were skipped (the cursor moves past them): the admin sees which.
        last_poll_error=_skipped(result.problems),
        consecutive_failures=0,
        rate_limited_until=None,
        rate_limit_state=result.rate_limit or account.rate_limit_state,
    )
    return stored


def check_connection(*, account_id: int) -> list[ConnectionCheck]:
    """What works on the account and what does not, from cheap authenticated calls."""
    account = PlatformAccount.objects.get(pk=account_id)
    try:
        connector = connector_for(account)
    except ConnectorError as error:
        return [ConnectionCheck("credentials", False, str(error))]
    if not hasattr(connector, "check_connection"):
        return [ConnectionCheck("read", True, "The demo platform needs no credentials.")]
    return connector.check_connection()


def _skipped(problems: Sequence[str]) -> str:
    if not problems:
        return ""
    shown = "; ".join(problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"Skipped {len(problems)} unreadable item(s): {shown}{more}"


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
        last_polled_at=now, last_poll_error=redact(str(error)), **fields
    )


def process_webhook_delivery(*, delivery_id: int, claim: str = "") -> int:
    """Store what a verified webhook delivery carries and what the deliveries waiting with it
    carry, as batches of up to INGESTION_BATCH_POSTS posts; returns the posts stored. Safe
    to repeat.

    In a storm a platform pushes hundreds of deliveries a second, most of them one post
    (X sends an event per delivery). Stored one by one, every post would pay a task's, a
    transaction's, the configuration reads' and a broadcast's fixed cost; instead a task
    claims the pending deliveries, oldest first, and stores them together (ingestion.store:
    one transaction per batch).

    The task drains (reliability.services.drain_started): while one of its messages waits,
    deliveries committed behind it queue none of their own, so a storm of one-post
    deliveries costs a task per batch, not per post. Hence: the task's mark is cleared
    before anything is read; when the delivery its message names is taken already, it
    claims whatever else waits; and when it leaves deliveries waiting (its batch is full),
    it queues the task again before storing, so another worker takes the next batch
    meanwhile. Within a conversation the order is kept as before: batches are claimed in
    id order and each locks its conversations (ingestion.pipeline).

    A claim is a lease: `claim` names the claimant, and a task redelivered after its worker
    died (Celery keeps its id) takes its claims back at once; anyone else may once they are
    INGESTION_DELIVERY_CLAIM_SECONDS old. Deliveries nobody claims (a message lost with the
    broker) are queued again by the stranded-work sweep (ingestion.sweeps).
    """
    claim = claim or uuid.uuid4().hex
    task = task_named("ingestion.tasks.process_webhook_delivery")
    drain_started(task)
    now = timezone.now()
    _claimable(claim, now).filter(pk=delivery_id).update(claimed_by=claim, claimed_at=now)
    # With the deliveries this claim took before its worker died, if it did.
    claimed = list(
        WebhookDelivery.objects.filter(claimed_by=claim, processed_at__isnull=True).order_by("pk")
    )
    if not claimed:
        # Its delivery is processed or held already; others may wait with no message.
        claimed = _claim_pending(platform=None, claim=claim, now=now, limit=1)
        if not claimed:
            return 0
    platform = next(
        (delivery.platform for delivery in claimed if delivery.pk == delivery_id),
        claimed[0].platform,
    )
    parsed = _parse_deliveries([d for d in claimed if d.platform == platform])
    budget = settings.INGESTION_BATCH_POSTS
    while parsed and (posts := sum(len(found.items) for found in parsed.values())) < budget:
        wanted = math.ceil((budget - posts) / max(1, posts // len(parsed)))
        more = _claim_pending(platform=platform, claim=claim, now=now, limit=wanted)
        if not more:
            break
        parsed.update(_parse_deliveries(more))
    waiting = (
        _claimable(claim, now)
        .exclude(claimed_by=claim)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        queue_drain(task, waiting)
    return _store_deliveries(platform, parsed)


def _claimable(claim: str, now: datetime):
    """Unprocessed deliveries nobody else holds a live claim on."""
    expired = now - timedelta(seconds=settings.INGESTION_DELIVERY_CLAIM_SECONDS)
    return WebhookDelivery.objects.filter(processed_at__isnull=True).filter(
        Q(claimed_by="") | Q(claimed_by=claim) | Q(claimed_at__lt=expired)
    )


def _claim_pending(
    *, platform: str | None, claim: str, now: datetime, limit: int
) -> list[WebhookDelivery]:
    """Claim up to `limit` more pending deliveries (of `platform`, if given), oldest first."""
    pending = _claimable(claim, now).exclude(claimed_by=claim)
    if platform is not None:
        pending = pending.filter(platform=platform)
    with transaction.atomic():
        # Workers claiming at once take different rows instead of queueing on the same ones.
        ids = list(
            pending.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        # The filter again: without row locks (SQLite) a row may have been claimed since.
        _claimable(claim, now).filter(pk__any=ids).update(claimed_by=claim, claimed_at=now)
    return list(WebhookDelivery.objects.filter(pk__any=ids, claimed_by=claim).order_by("pk"))


def _parse_deliveries(
    deliveries: Sequence[WebhookDelivery],
) -> dict[WebhookDelivery, ParsedDelivery]:
    """Each readable delivery's items, by delivery; an unreadable one is recorded as such.

    Events are read one by one: an unreadable event is named in the delivery's error and
    skipped, the other events of the delivery are stored.
    """
    parsed = {}
    for delivery in deliveries:
        try:
            if delivery.platform == Platform.TWITTER:
                parsed[delivery] = parse_account_activity(delivery.payload)
            else:
                parsed[delivery] = parse_meta_delivery(delivery.payload)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # A signed body of the wrong shape: recorded on the delivery, never retried.
            logger.warning("Webhook delivery %s cannot be read: %r", delivery.pk, error)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                processed_at=timezone.now(), error=f"Unreadable delivery: {error!r}"
            )
            continue
        for user_id, reason in parsed[delivery].revoked:
            mark_account_revoked(platform=delivery.platform, external_id=user_id, reason=reason)
    return parsed


def mark_account_revoked(*, platform: str, external_id: str, reason: str) -> int:
    """The platform says the account took Parley's access away: mark it unhealthy with the
    reason, so polling stops and the admin sees why. Returns the accounts marked."""
    marked = PlatformAccount.objects.filter(platform=platform, external_id=external_id).update(
        is_healthy=False, last_poll_error=reason
    )
    logger.error("%s (%d account(s) marked unhealthy)", reason, marked)
    return marked


def _store_deliveries(platform: str, parsed: dict[WebhookDelivery, ParsedDelivery]) -> int:
    """Store the items of claimed deliveries, a batch per account of up to
    INGESTION_BATCH_POSTS posts, and record each delivery's outcome; returns posts stored."""
    accounts: dict[str, PlatformAccount | None] = {}
    items: dict[str, list[InboundItem]] = {}
    problems: dict[WebhookDelivery, list[str]] = {
        delivery: list(found.problems) for delivery, found in parsed.items()
    }
    retry_later: set[WebhookDelivery] = set()
    for delivery, found in parsed.items():
        webhook_items = found.items
        unknown: set[str] = set()
        for webhook_item in webhook_items:
            key = webhook_item.account_external_id
            if key not in accounts:
                accounts[key] = PlatformAccount.objects.filter(
                    platform=platform, external_id=key, is_active=True
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
                    # Left unprocessed: the beat tick queues the delivery again, and what
                    # was already stored from it dedupes.
                    problems[delivery].append(str(error))
                    retry_later.add(delivery)
                    continue
                except ConnectorError as error:
                    problems[delivery].append(str(error))
                    continue
                if item is None:
                    continue
            items.setdefault(key, []).append(item)
        if unknown:
            ids = ", ".join(sorted(unknown))
            problems[delivery].append(
                f"No active {delivery.get_platform_display()} account with id {ids}"
            )
    size = max(1, settings.INGESTION_BATCH_POSTS)
    stored = sum(
        apply_items(account=accounts[key], items=account_items[start : start + size])
        for key, account_items in items.items()
        for start in range(0, len(account_items), size)
    )
    outcomes: dict[tuple[bool, str], list[int]] = {}
    for delivery, delivery_problems in problems.items():
        error = "; ".join(delivery_problems)
        if error:
            logger.warning("Webhook delivery %s: %s", delivery.pk, error)
        outcomes.setdefault((delivery in retry_later, error), []).append(delivery.pk)
    now = timezone.now()
    for (retry, error), delivery_ids in outcomes.items():
        # A delivery to retry is released, for the beat tick's task to claim.
        WebhookDelivery.objects.filter(pk__any=delivery_ids).update(
            processed_at=None if retry else now, error=error, claimed_by="", claimed_at=None
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
        outcome_unknown = True
        error_text = f"{redact(str(error))} Checking the platform before retrying."
    except (TransientError, RateLimited) as error:
        logger.warning("Reply %s to %s not sent yet: %s", post.pk, account, error)
        error_text = redact(str(error))
    except ConnectorError as error:
        logger.warning("Reply %s to %s failed: %s", post.pk, account, error)
        status, error_text = DeliveryStatus.FAILED, redact(str(error))
    except DatabaseError as error:
        # Parley's own database failed mid-attempt (a restart, a dropped connection), not
        # the platform: the reply stays pending for the task to retry, and as the failure
        # could have come after the platform took it, the retry asks the platform first.
        # Taken for a connector bug, it failed the reply for good (found by `make chaos`).
        logger.warning(
            "Reply %s to %s not sent yet: the database failed: %s", post.pk, account, error
        )
        outcome_unknown = True
        error_text = "Not sent yet: Parley's database was unavailable. Retrying."
    except Exception as error:
        # A connector bug or a client library's own error (oauthlib's TypeError for a
        # missing key): the agent sees a failed reply with the reason, never a crashed
        # request. The outcome stays unknown: a retry asks the platform first.
        logger.exception("Reply %s to %s: the connector failed unexpectedly", post.pk, account)
        status, outcome_unknown = DeliveryStatus.FAILED, True
        error_text = (
            f"Not sent: the {account.get_platform_display()} connector failed "
            f"({type(error).__name__}: {redact(str(error))}). Check the account's "
            "credentials (admin → Test connection), then send again."
        )
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
    privately, else a public reply (to an Instagram mention: through the mentions edge).

    Meta's messaging window is checked before a private message goes out: refused with the
    reason once it has closed, sent with the HUMAN_AGENT tag between 24 hours and 7 days when
    that is enabled.
    """

    answered = _stored_post(post.platform, post.in_reply_to) if post.in_reply_to else None
    if post.is_private or (answered is not None and answered.raw.get("parley_kind") == "message"):
        window = messaging_window(conversation_id=post.conversation_id, platform=post.platform)
        extra = {}
        if window is not None:
            refusal = window.refusal()
            if refusal:
                raise ReplyRejected(refusal)
            if window.state() == "human_agent":
                extra["human_agent"] = True
        return connector.send_private_message(
            recipient_id=post.conversation.customer.external_id,
            text=post.text,
            idempotency_key=str(post.idempotency_key),
            **extra,
        )
    mention = answered.raw.get("parley_mention") if answered is not None else None
    if mention and hasattr(connector, "send_mention_reply"):
        return connector.send_mention_reply(
            text=post.text,
            media_id=mention["media_id"],
            comment_id=mention.get("comment_id", ""),
        )
    return connector.send_reply(
        text=post.text, in_reply_to=post.in_reply_to, idempotency_key=str(post.idempotency_key)
    )


def _stored_post(platform: str, external_id: str) -> Post | None:
    return Post.objects.filter(platform=platform, external_id=external_id).first()


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
