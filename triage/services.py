"""Tagging each inbound post with intent, sentiment and priority, and the reasons why;
automatic replies; and the agents' corrections that train the next model.

The intent and sentiment heads are the active scikit-learn models (triage.store); priority
combines their tags with signals about the post (triage.priority).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from core.models import (
    REPLY_CHAR_LIMITS,
    Conversation,
    DeliveryStatus,
    Direction,
    Intent,
    Post,
    Priority,
    Sentiment,
    reply_length,
)
from core.outbox import deliver_after_commit
from core.realtime import broadcast_conversation
from core.signals import conversation_retriaged
from reliability.services import publish, task_named

from .decisions import decide_intent, decide_sentiment
from .inference import shared_analysis
from .models import AutoReply, AutoResponse, TriageFeedback, WatchedAccount
from .priority import PostSignals, is_sensitive, prioritise
from .store import LoadedModel, current_model, current_models

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


def _predict(model: LoadedModel, texts: Sequence[str]) -> list[dict[str, float]]:
    """Each text's probability of every label, from one predict_proba for the whole batch."""
    # Whatever fixed cost per call remains is paid once per batch, not once per post.
    probabilities = model.predict_proba(texts)
    classes = model.classes
    return [dict(zip(classes, row.tolist(), strict=True)) for row in probabilities]


def classify_texts(
    texts: Sequence[str], signals: Sequence[PostSignals] | None = None
) -> list[Classification]:
    """The batch form of `classify_text`: one predict_proba per model for all `texts`.

    `signals[i]` describes `texts[i]`; without signals, each text is classified as
    `classify_text(text)` would with its defaults. The intent is the model's, checked by
    triage.decisions (spam must be earned; questions are not complaints).
    """
    if signals is None:
        signals = [PostSignals()] * len(texts)
    if len(signals) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(signals)} signals")
    if not texts:
        return []
    # The active models are read once per batch: every post in it is tagged by the same ones.
    models = current_models(("intent", "sentiment"))
    with shared_analysis():
        intents = _predict(models["intent"], texts)
        sentiments = _predict(models["sentiment"], texts)
    versions = {task: model.version for task, model in models.items()}
    results = []
    for text, post_signals, intent_probabilities, sentiment_probabilities in zip(
        texts, signals, intents, sentiments, strict=True
    ):
        sentiment, sentiment_confidence = decide_sentiment(
            sentiment_probabilities, models["sentiment"].label_shares
        )
        decision = decide_intent(text, intent_probabilities, sentiment=sentiment)
        priority, reasons = prioritise(
            text, intent=decision.intent, sentiment=sentiment, signals=post_signals
        )
        results.append(
            Classification(
                intent=decision.intent,
                sentiment=sentiment,
                priority=priority,
                confidence=round(decision.confidence, 4),
                reasons=reasons,
                sentiment_confidence=round(sentiment_confidence, 4),
                model_versions=dict(versions),
            )
        )
    return results


def classify_text(
    text: str,
    *,
    follower_count: int = 0,
    is_verified: bool = False,
    engagements_per_hour: float = 0.0,
    mentioned_watched: tuple[str, ...] = (),
) -> Classification:
    signals = PostSignals(
        follower_count=follower_count,
        is_verified=is_verified,
        engagements_per_hour=engagements_per_hour,
        mentioned_watched=mentioned_watched,
    )
    return classify_texts([text], [signals])[0]


def _watched_accounts_tagged(
    texts_and_platforms: Sequence[tuple[str, str]],
) -> list[tuple[str, ...]]:
    mentioned = [
        {handle.lower() for handle in _MENTION.findall(text)} for text, _ in texts_and_platforms
    ]
    every_handle = set().union(*mentioned)
    if not every_handle:
        return [() for _ in texts_and_platforms]
    platforms = {"", *(platform for _, platform in texts_and_platforms)}
    accounts = list(WatchedAccount.objects.filter(handle__in=every_handle, platform__in=platforms))
    return [
        tuple(
            sorted(
                {
                    str(account)
                    for account in accounts
                    if account.handle in handles and account.platform in ("", platform)
                }
            )
        )
        for (_, platform), handles in zip(texts_and_platforms, mentioned, strict=True)
    ]


def watched_accounts_tagged(*, text: str, platform: str) -> tuple[str, ...]:
    """The admin-maintained regulator/authority/press accounts @-mentioned in `text`."""
    return _watched_accounts_tagged([(text, platform)])[0]


def engagements_per_hour(post: Post) -> float:
    """Retweets, likes, replies and quotes per hour since posting, from the platform payload."""
    return _engagements_per_hour(post.raw, post.created_at)


def _engagements_per_hour(raw: Any, created_at: datetime) -> float:
    raw = raw if isinstance(raw, dict) else {}
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
    hours = max((timezone.now() - created_at).total_seconds() / 3600, 0.25)
    return total / hours


# What triage sets on a post (the caller saves them), each from its Classification attribute.
_TRIAGE_FIELD_SOURCES = {
    "intent": "intent",
    "sentiment": "sentiment",
    "priority": "priority",
    "triage_confidence": "confidence",
    "triage_reasons": "reasons",
}
TRIAGE_FIELDS = tuple(_TRIAGE_FIELD_SOURCES)


def triage_fields(result: Classification) -> dict[str, Any]:
    """A classification as the post's TRIAGE_FIELDS."""
    return {field: getattr(result, source) for field, source in _TRIAGE_FIELD_SOURCES.items()}


@dataclass(frozen=True)
class ArrivingPost:
    """What triage reads of a post not stored yet (ingestion classifies a batch before it
    writes it): its text, platform and payload, and its author's audience."""

    text: str
    platform: str
    raw: Any
    created_at: datetime
    follower_count: int = 0
    is_verified: bool = False


def triage_arriving(posts: Sequence[ArrivingPost]) -> list[Classification]:
    """Classify posts not stored yet, with one predict_proba per model for the batch and one
    query for the watched accounts they tag; the caller stores the tags (triage_fields).
    Building unsaved Post and Customer rows only to classify them cost 32 µs a post."""
    watched = _watched_accounts_tagged([(post.text, post.platform) for post in posts])
    signals = [
        PostSignals(
            follower_count=post.follower_count,
            is_verified=post.is_verified,
            engagements_per_hour=_engagements_per_hour(post.raw, post.created_at),
            mentioned_watched=mentioned_watched,
        )
        for post, mentioned_watched in zip(posts, watched, strict=True)
    ]
    return classify_texts([post.text for post in posts], signals)


def triage_posts(posts: Sequence[Post]) -> list[Classification]:
    """Classify posts with one predict_proba per model for the whole batch and store the tags
    on each post (the caller saves).

    Queries do not grow with the batch: authors not already loaded are read in one query,
    watched accounts in one, enabled auto-responses in one. Each post an enabled
    auto-response could answer gets its reply queued once the caller's transaction commits.
    """
    posts = list(posts)
    if not posts:
        return []
    # Posts fetched without select_related("customer") would each cost a query below.
    prefetch_related_objects(
        [post for post in posts if post.customer_id and not Post.customer.is_cached(post)],
        "customer",
    )
    results = triage_arriving(
        [
            ArrivingPost(
                text=post.text,
                platform=post.platform,
                raw=post.raw,
                created_at=post.created_at,
                follower_count=post.customer.follower_count if post.customer else 0,
                is_verified=post.customer.is_verified if post.customer else False,
            )
            for post in posts
        ]
    )
    for post, result in zip(posts, results, strict=True):
        for name, value in triage_fields(result).items():
            setattr(post, name, value)
    queue_auto_replies([post for post in posts if post.pk])
    return results


def queue_auto_replies(posts: Sequence[Post]) -> None:
    """Queue, for after commit, the auto-reply of each stored, triaged post an enabled
    auto-response may answer (one read of the rules for all)."""
    for post, rule in zip(posts, auto_responses_for(posts), strict=True):
        if rule is not None:
            transaction.on_commit(functools.partial(_enqueue_auto_reply, post.pk))


def triage_post(post: Post) -> Classification:
    """Classify `post` and store the tags on it (the caller saves).

    When an enabled auto-response could answer it, the reply is queued once the caller's
    transaction commits.
    """
    return triage_posts([post])[0]


# Auto-responses ---------------------------------------------------------------------------


def _may_auto_answer(post: Post) -> bool:
    """Whether an auto-response may answer this triaged post at all, whatever the rules.

    Never sensitive or high-priority posts, nor an influencer's: a verified or large
    account's post is Normal unless it complains, but it deserves a person's answer.
    """
    if post.direction != Direction.INBOUND or not post.intent:
        return False
    reasons = post.triage_reasons or []
    return (
        post.priority < Priority.HIGH
        and not is_sensitive(reasons)
        and not any(reason.startswith("influencer") for reason in reasons)
    )


def auto_responses_for(posts: Sequence[Post]) -> list[AutoResponse | None]:
    """For each triaged post, the enabled auto-response that may answer it, if any.

    The enabled rules are read in one query for the whole batch (none when no post could
    be answered). Never for sensitive or high-priority posts, never below the rule's
    threshold.
    """
    candidates = [_may_auto_answer(post) for post in posts]
    if not any(candidates):
        return [None] * len(posts)
    intents = {post.intent for post, candidate in zip(posts, candidates, strict=True) if candidate}
    rules = {
        rule.intent: rule
        for rule in AutoResponse.objects.filter(is_enabled=True, intent__in=intents)
    }
    answers: list[AutoResponse | None] = []
    for post, candidate in zip(posts, candidates, strict=True):
        rule = rules.get(post.intent) if candidate else None
        if rule is not None and (post.triage_confidence or 0.0) < rule.confidence_threshold:
            rule = None
        answers.append(rule)
    return answers


def auto_response_for(post: Post) -> AutoResponse | None:
    """The enabled auto-response that may answer this triaged post, if any.

    Never for sensitive or high-priority posts, and never below the rule's threshold.
    """
    return auto_responses_for([post])[0]


def _enqueue_auto_reply(post_id: int) -> None:
    # A broker that is down must not fail the ingest that stored the post: the auto-reply
    # is skipped (and logged), the post waits for an agent as any other.
    publish(task_named("triage.tasks.send_auto_reply"), post_id)


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
        length = reply_length(account.platform, text)
        if length > limit:
            logger.warning(
                "No auto-reply to post %s: %s chars exceed the %s limit of %s",
                post_id,
                length,
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
        deliver_after_commit(reply.pk)
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="reply.auto_sent")
        )
    return auto_reply


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
        # The agent's word is the conversation's for a post of its current customer turn
        # (none of the brand's replies after it): later, milder posts of the turn do not
        # overwrite it (helpdesk.services.apply_post_tags).
        answered_since = conversation.posts.filter(
            direction=Direction.OUTBOUND, agent__isnull=False, created_at__gt=post.created_at
        ).exists()
        if field == "priority" or not answered_since:
            setattr(conversation, field, value)
            conversation.save(update_fields=[field, "updated_at"])
            if field in ("priority", "intent"):
                # SLA policies are chosen by priority and intent: the running clocks follow.
                conversation_retriaged.send(
                    sender=TriageFeedback, conversation_id=conversation.pk, at=timezone.now()
                )
    return feedback
