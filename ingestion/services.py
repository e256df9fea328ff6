"""Writing what platforms deliver into Parley, once, threaded into conversations; and sending
the agents' replies back."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.models import (
    ACTIVE_STATUSES,
    Conversation,
    Customer,
    DeliveryStatus,
    Direction,
    Post,
)
from helpdesk.realtime import broadcast_conversation

from .connectors import ConnectorError, InboundAuthor, InboundItem, connector_for
from .models import PlatformAccount

logger = logging.getLogger(__name__)


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
                raw=item.raw,
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


def poll_account(*, account_id: int) -> int:
    """Fetch what the account's platform has since the stored cursor; returns posts stored.

    The cursor moves only after every fetched post is committed, so a crash re-fetches and
    dedupe makes the repeat harmless.
    """
    account = PlatformAccount.objects.get(pk=account_id)
    try:
        result = connector_for(account).fetch_since(account.poll_cursor)
    except ConnectorError as error:
        logger.warning("Polling %s failed: %s", account, error)
        PlatformAccount.objects.filter(pk=account.pk).update(
            last_polled_at=timezone.now(), last_poll_error=str(error)
        )
        return 0
    stored = sum(ingest_item(account=account, item=item).created for item in result.items)
    PlatformAccount.objects.filter(pk=account.pk).update(
        poll_cursor=result.cursor, last_polled_at=timezone.now(), last_poll_error=""
    )
    return stored


def deliver_reply(*, post_id: int) -> Post:
    """Publish a stored outbound reply on its platform, once."""
    with transaction.atomic():
        post = (
            Post.objects.select_for_update(of=("self",))
            .select_related("conversation__account")
            .get(pk=post_id, direction=Direction.OUTBOUND)
        )
        if post.delivery_status == DeliveryStatus.SENT:
            return post
        account = post.conversation.account
        try:
            post.external_id = connector_for(account).send_reply(
                text=post.text,
                in_reply_to=post.in_reply_to,
                idempotency_key=str(post.idempotency_key),
            )
        except ConnectorError as error:
            logger.warning("Reply %s to %s failed: %s", post.pk, account, error)
            post.delivery_status = DeliveryStatus.FAILED
            post.delivery_error = str(error)
        else:
            post.delivery_status = DeliveryStatus.SENT
            post.delivery_error = ""
        post.save(update_fields=["external_id", "delivery_status", "delivery_error"])
        # The agent watching the conversation sees "Sent" or the platform's error live.
        transaction.on_commit(
            lambda: broadcast_conversation(post.conversation_id, event="reply.delivery")
        )
    return post


def _stored_post(platform: str, external_id: str) -> Post | None:
    return Post.objects.filter(platform=platform, external_id=external_id).first()


def _upsert_customer(*, platform: str, author: InboundAuthor) -> Customer:
    profile = {
        "handle": author.handle,
        "display_name": author.display_name,
        "follower_count": author.follower_count,
        "is_verified": author.is_verified,
    }
    customer, _ = Customer.objects.update_or_create(
        platform=platform, external_id=author.external_id, defaults=profile
    )
    return customer


def _conversation_for(
    *, account: PlatformAccount, customer: Customer, item: InboundItem
) -> Conversation:
    """The conversation a post belongs to: the one holding the post it answers, else the
    customer's open conversation with this account, else a new one."""
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
    return Conversation.objects.create(customer=customer, account=account)


def _enqueue_processing(post_id: int) -> None:
    from helpdesk.tasks import process_inbound_post

    process_inbound_post.delay(post_id)
