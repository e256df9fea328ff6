"""Reading triage results: why a post got its tags, and how often agents agreed with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.models import Post

from .features import top_features
from .models import TriageFeedback
from .store import current_model


def explain_post(post: Post, *, limit: int = 5) -> dict[str, Any]:
    """For each tag, the words and character n-grams that drove it, and the priority reasons."""
    explanation: dict[str, Any] = {}
    for task, label in (("intent", post.intent), ("sentiment", post.sentiment)):
        model = current_model(task)
        explanation[task] = {
            "label": label,
            "model": model.version,
            "top_features": top_features(model.pipeline, post.text, label, limit=limit)
            if label
            else [],
        }
    explanation["priority"] = {"label": post.priority, "reasons": list(post.triage_reasons)}
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
