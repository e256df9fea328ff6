"""Tagging each inbound post with intent, sentiment and priority, and the reasons why;
automatic replies; and the agents' corrections that train the next model.

The intent and sentiment heads are the active scikit-learn models (triage.store); priority
combines their tags with signals about the post (triage.priority).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.models import (
    REPLY_CHAR_LIMITS,
    Conversation,
    DeliveryStatus,
    Direction,
    Intent,
    Post,
    Priority,
    Sentiment,
)
from helpdesk.realtime import broadcast_conversation

from .models import AutoReply, AutoResponse, TriageFeedback, WatchedAccount
from .priority import PostSignals, is_sensitive, prioritise
from .store import current_model

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"@(\w+)")


@dataclass(frozen=True)
class Classification:
    intent: str
    sentiment: str
    priority: int
    confidence: float
    reasons: list[str] = field(default_factory=list)
    sentiment_confidence: float = 0.0
    model_versions: dict[str, str] = field(default_factory=dict)


def _predict(task: str, text: str) -> tuple[str, float, str]:
    model = current_model(task)
    probabilities = model.pipeline.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return str(model.pipeline.classes_[best]), float(probabilities[best]), model.version


def classify_text(
    text: str,
    *,
    follower_count: int = 0,
    is_verified: bool = False,
    engagements_per_hour: float = 0.0,
    mentioned_watched: tuple[str, ...] = (),
) -> Classification:
    intent, confidence, intent_version = _predict("intent", text)
    sentiment, sentiment_confidence, sentiment_version = _predict("sentiment", text)
    priority, reasons = prioritise(
        text,
        intent=intent,
        sentiment=sentiment,
        signals=PostSignals(
            follower_count=follower_count,
            is_verified=is_verified,
            engagements_per_hour=engagements_per_hour,
            mentioned_watched=mentioned_watched,
        ),
    )
    return Classification(
        intent=intent,
        sentiment=sentiment,
        priority=priority,
        confidence=round(confidence, 4),
        reasons=reasons,
        sentiment_confidence=round(sentiment_confidence, 4),
        model_versions={"intent": intent_version, "sentiment": sentiment_version},
    )


def watched_accounts_tagged(*, text: str, platform: str) -> tuple[str, ...]:
    """The admin-maintained regulator/authority/press accounts @-mentioned in `text`."""
    mentioned = {handle.lower() for handle in _MENTION.findall(text)}
    if not mentioned:
        return ()
    accounts = WatchedAccount.objects.filter(handle__in=mentioned).filter(
        Q(platform="") | Q(platform=platform)
    )
    return tuple(sorted({str(account) for account in accounts}))


def engagements_per_hour(post: Post) -> float:
    """Retweets, likes, replies and quotes per hour since posting, from the platform payload."""
    raw = post.raw if isinstance(post.raw, dict) else {}
    metrics = raw.get("public_metrics") or raw
    total = 0
    for key in (
        "retweet_count",
        "like_count",
        "favorite_count",
        "reply_count",
        "quote_count",
        "share_count",
        "comment_count",
    ):
        value = metrics.get(key) if isinstance(metrics, dict) else None
        if isinstance(value, int | float):
            total += value
    hours = max((timezone.now() - post.created_at).total_seconds() / 3600, 0.25)
    return total / hours


def triage_post(post: Post) -> Classification:
    """Classify `post` and store the tags on it (the caller saves).

    When an enabled auto-response could answer it, the reply is queued once the caller's
    transaction commits.
    """
    customer = post.customer
    result = classify_text(
        post.text,
        follower_count=customer.follower_count if customer else 0,
        is_verified=customer.is_verified if customer else False,
        engagements_per_hour=engagements_per_hour(post),
        mentioned_watched=watched_accounts_tagged(text=post.text, platform=post.platform),
    )
    post.intent = result.intent
    post.sentiment = result.sentiment
    post.priority = result.priority
    post.triage_confidence = result.confidence
    post.triage_reasons = result.reasons
    if post.pk and auto_response_for(post) is not None:
        post_id = post.pk
        transaction.on_commit(lambda: _enqueue_auto_reply(post_id))
    return result


# Auto-responses ---------------------------------------------------------------------------


def auto_response_for(post: Post) -> AutoResponse | None:
    """The enabled auto-response that may answer this triaged post, if any.

    Never for sensitive or high-priority posts, and never below the rule's threshold.
    """
    if post.direction != Direction.INBOUND or not post.intent:
        return None
    if post.priority >= Priority.HIGH or is_sensitive(post.triage_reasons):
        return None
    rule = AutoResponse.objects.filter(intent=post.intent, is_enabled=True).first()
    if rule is None or (post.triage_confidence or 0.0) < rule.confidence_threshold:
        return None
    return rule


def _enqueue_auto_reply(post_id: int) -> None:
    from .tasks import send_auto_reply

    send_auto_reply.delay(post_id)


def send_auto_reply(*, post_id: int) -> AutoReply | None:
    """Answer a triaged inbound post with its auto-response, at most once per conversation.

    Returns None (and logs why) when the post no longer qualifies or a limit applies.
    """
    with transaction.atomic():
        post = Post.objects.select_related("customer").get(pk=post_id)
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("account")
            .get(pk=post.conversation_id)
        )
        rule = auto_response_for(post)
        if rule is None:
            return None
        if conversation.posts.filter(direction=Direction.OUTBOUND).exists():
            logger.info("No auto-reply to post %s: the conversation has a reply", post_id)
            return None
        account = conversation.account
        hour_ago = timezone.now() - timedelta(hours=1)
        sent_last_hour = AutoReply.objects.filter(
            reply__conversation__account=account, created_at__gte=hour_ago
        ).count()
        if sent_last_hour >= settings.TRIAGE_AUTO_REPLIES_PER_HOUR:
            logger.warning("No auto-reply to post %s: %s hit its hourly limit", post_id, account)
            return None
        handle = post.customer.handle if post.customer else ""
        text = rule.template.replace("{handle}", f"@{handle}" if handle else "").strip()
        limit = REPLY_CHAR_LIMITS.get(account.platform, 280)
        if len(text) > limit:
            logger.warning(
                "No auto-reply to post %s: %s chars exceed the %s limit of %s",
                post_id,
                len(text),
                account.platform,
                limit,
            )
            return None
        reply = Post.objects.create(
            conversation=conversation,
            direction=Direction.OUTBOUND,
            platform=account.platform,
            text=text,
            in_reply_to=post.external_id or "",
            created_at=timezone.now(),
            delivery_status=DeliveryStatus.PENDING,
            raw={"auto_reply": True, "intent": post.intent},
        )
        auto_reply = AutoReply.objects.create(
            post=post, reply=reply, auto_response=rule, confidence=post.triage_confidence or 0
        )
        transaction.on_commit(lambda: _enqueue_delivery(reply.pk))
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="reply.auto_sent")
        )
    return auto_reply


def _enqueue_delivery(post_id: int) -> None:
    from ingestion.tasks import deliver_reply

    deliver_reply.delay(post_id)


# Feedback ----------------------------------------------------------------------------------

_VALID_LABELS = {
    TriageFeedback.Field.INTENT: {value for value in Intent.values if value},
    TriageFeedback.Field.SENTIMENT: {value for value in Sentiment.values if value},
    TriageFeedback.Field.PRIORITY: {str(value) for value in Priority.values},
}


def record_feedback(
    *, post_id: int, field: str, label: str, agent: AbstractBaseUser | None
) -> TriageFeedback:
    """An agent's one-click verdict on a tag: store it as a labelled example and apply it.

    The first verdict keeps what the model predicted, so later re-corrections still measure
    the model, not the previous agent.
    """
    label = str(label).strip()
    if field not in _VALID_LABELS:
        raise ValidationError(f"Unknown tag {field!r}: choose intent, sentiment or priority.")
    if label not in _VALID_LABELS[field]:
        choices = ", ".join(sorted(_VALID_LABELS[field]))
        raise ValidationError(f"Unknown {field} {label!r}: choose one of {choices}.")
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id, direction=Direction.INBOUND)
        predicted = str(getattr(post, field))
        version = current_model(field).version if field != "priority" else ""
        feedback, created = TriageFeedback.objects.get_or_create(
            post=post,
            field=field,
            defaults={
                "predicted": predicted,
                "label": label,
                "agent": agent,
                "model_version": version,
            },
        )
        if not created:
            feedback.label = label
            feedback.agent = agent
            feedback.save(update_fields=["label", "agent"])
        value: Any = int(label) if field == "priority" else label
        setattr(post, field, value)
        post.save(update_fields=[field])
        conversation = Conversation.objects.select_for_update().get(pk=post.conversation_id)
        latest = conversation.posts.filter(direction=Direction.INBOUND).order_by(
            "-created_at", "-id"
        )
        if field == "priority" or latest.values_list("pk", flat=True).first() == post.pk:
            setattr(conversation, field, value)
            conversation.save(update_fields=[field, "updated_at"])
    return feedback

