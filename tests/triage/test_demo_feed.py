"""The demo feed shows what triage is for: a realistic mix of brand mentions, and High or
Urgent kept for what a supervisor would escalate, each with a reason."""

from collections import Counter
from datetime import timedelta

from django.utils import timezone

from core.models import Priority
from ingestion.connectors.demo import DemoConnector
from triage.priority import PostSignals
from triage.services import classify_texts


def demo_posts(minutes=30, per_minute=8):
    """The posts the demo feed makes in `minutes`, with their authors."""
    connector = DemoConnector(brand_handle="acme", posts_per_minute=per_minute)
    start = (timezone.now() - timedelta(minutes=minutes)).isoformat()
    return connector.fetch_since({"seq": 0, "last_at": start, "recent": []}).items


def test_demo_feed_is_mostly_questions_praise_and_chatter_with_a_third_complaints(db):
    """Measured on 240 posts: the first posts' intents, every conversation's priority."""
    items = demo_posts()
    results = classify_texts(
        [item.text for item in items],
        [
            PostSignals(
                follower_count=item.author.follower_count, is_verified=item.author.is_verified
            )
            for item in items
        ],
    )

    # First posts: follow-ups mostly chase an earlier post ("still waiting...").
    first = [r for item, r in zip(items, results, strict=True) if not item.in_reply_to]
    intents = Counter(result.intent for result in first)
    share = {intent: count / len(first) for intent, count in intents.items()}
    assert 0.2 <= share.get("complaint", 0) <= 0.45, share
    assert share.get("question", 0) + share.get("request", 0) >= 0.2, share
    assert share.get("compliment", 0) >= 0.08, share
    assert share.get("spam", 0) <= 0.1, share

    # Conversations: a follow-up joins the conversation of the post it answers; the
    # conversation's priority is the highest of its posts'.
    root = {}
    for item in items:
        root[item.external_id] = root.get(item.in_reply_to, item.external_id)
    conversations = {}
    for item, result in zip(items, results, strict=True):
        key = root[item.external_id]
        conversations[key] = max(conversations.get(key, Priority.LOW), result.priority)
    escalated = [p for p in conversations.values() if p >= Priority.HIGH]
    assert 0 < len(escalated) <= 0.25 * len(conversations)
    for result in results:
        if result.priority >= Priority.HIGH:
            assert result.reasons, result
