"""Thin JSON views: one-click corrections, tag explanations and the accuracy dashboard data."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from core.models import Direction, Post
from core.selectors import can_see_all_conversations, visible_conversations

from . import selectors, services
from .models import TriageFeedback


@login_required
@require_POST
def post_feedback(request: HttpRequest, post_id: int) -> JsonResponse:
    """POST field=intent|sentiment|priority, label=…: the agent's verdict on one tag."""
    _visible_post(request, post_id)
    try:
        feedback = services.record_feedback(
            post_id=post_id,
            field=request.POST.get("field", ""),
            label=request.POST.get("label", ""),
            agent=request.user,
        )
    except Post.DoesNotExist as error:
        raise Http404("No such inbound post.") from error
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    return JsonResponse(
        {
            "post": post_id,
            "field": feedback.field,
            "label": feedback.label,
            "predicted": feedback.predicted,
            "model_was_right": feedback.agrees,
        }
    )


@login_required
@require_GET
def post_explanation(request: HttpRequest, post_id: int) -> JsonResponse:
    post = _visible_post(request, post_id)
    return JsonResponse(selectors.explain_post(post))


@login_required
@require_GET
def accuracy(request: HttpRequest) -> JsonResponse:
    """Model accuracy against agents' verdicts per day, for the dashboard: over every team for
    those who see all conversations (supervisors), over their own teams' for agents."""
    try:
        days = min(max(int(request.GET.get("days", 30)), 1), 365)
    except ValueError:
        return JsonResponse({"error": "days must be a whole number."}, status=400)
    scope = None if can_see_all_conversations(request.user) else visible_conversations(request.user)
    return JsonResponse(
        {
            field: {
                "by_day": selectors.accuracy_over_time(field=field, days=days, conversations=scope),
                "by_model": selectors.accuracy_by_model(field=field, conversations=scope),
            }
            for field in TriageFeedback.Field.values
        }
    )


def _visible_post(request: HttpRequest, post_id: int) -> Post:
    """An inbound post in one of the agent's teams' conversations, or 404."""
    return get_object_or_404(
        Post,
        pk=post_id,
        direction=Direction.INBOUND,
        conversation__in=visible_conversations(request.user),
    )
