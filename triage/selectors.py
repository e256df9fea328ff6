"""Reading triage results: why a post got its tags, and how often agents agreed with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.models import Intent, Post

from .decisions import decide_intent
from .features import top_features
from .models import TriageFeedback
from .priority import describe_reason
from .store import current_models


def explain_post(post: Post, *, limit: int = 5) -> dict[str, Any]:
    """For each tag: the words and phrases that drove it, the model's confidence, and (intent)
    why the tag differs from the model's own best guess; for priority, the rule behind each
    reason."""
    models = current_models(("intent", "sentiment"))
    probabilities = {
        task: dict(zip(model.classes, model.predict_proba([post.text])[0].tolist(), strict=True))
        for task, model in models.items()
    }
    explanation: dict[str, Any] = {}
    displays = {"intent": post.get_intent_display(), "sentiment": post.get_sentiment_display()}
    for task, label in (("intent", post.intent), ("sentiment", post.sentiment)):
        model = models[task]
        explanation[task] = {
            "label": label,
            "display": str(displays[task]),
            "model": model.version,
            "confidence": round(probabilities[task].get(label, 0.0), 2) if label else None,
            "top_features": top_features(model.pipeline, post.text, label, limit=limit)
            if label
            else [],
        }
    if post.intent:
        decision = decide_intent(post.text, probabilities["intent"], sentiment=post.sentiment)
        explanation["intent"]["model_label"] = decision.model_intent
        explanation["intent"]["model_display"] = str(Intent(decision.model_intent).label)
        explanation["intent"]["note"] = decision.note
    explanation["priority"] = {
        "label": post.priority,
        "display": str(post.get_priority_display()),
        "reasons": list(post.triage_reasons),
        "rules": [describe_reason(reason) for reason in post.triage_reasons],
    }
    return explanation


def _feedback(conversations: QuerySet | None) -> QuerySet[TriageFeedback]:
    """All verdicts, or those on posts of `conversations` (what an agent may see)."""
    if conversations is None:
        return TriageFeedback.objects.all()
    return TriageFeedback.objects.filter(post__conversation__in=conversations)


def accuracy_over_time(
    *, field: str, days: int = 30, conversations: QuerySet | None = None
) -> list[dict[str, Any]]:
    """Per day: how many tags agents reviewed and how often the model had it right, over all
    conversations or over `conversations` only."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        _feedback(conversations)
        .filter(field=field, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            reviewed=Count("id"),
            agreed=Count("id", filter=Q(predicted=F("label"))),
        )
        .order_by("day")
    )
    return [
        {
            "day": row["day"].isoformat(),
            "reviewed": row["reviewed"],
            "agreed": row["agreed"],
            "accuracy": round(row["agreed"] / row["reviewed"], 4),
        }
        for row in rows
    ]


def accuracy_by_model(*, field: str, conversations: QuerySet | None = None) -> list[dict[str, Any]]:
    """Per model version: how many of its tags agents reviewed and how often it was right,
    over all conversations or over `conversations` only."""
    rows = (
        _feedback(conversations)
        .filter(field=field)
        .values("model_version")
        .annotate(reviewed=Count("id"), agreed=Count("id", filter=Q(predicted=F("label"))))
        .order_by("model_version")
    )
    return [
        {
            "model": row["model_version"] or "-",
            "reviewed": row["reviewed"],
            "agreed": row["agreed"],
            "accuracy": round(row["agreed"] / row["reviewed"], 4),
        }
        for row in rows
    ]
