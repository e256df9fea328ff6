"""The timer state of one conversation, as JSON for the live countdowns."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from . import selectors
from .models import SlaTimer


@login_required
@require_GET
def conversation_timers(request: HttpRequest, conversation_id: int) -> JsonResponse:
    try:
        timers = selectors.timers_of(request.user, conversation_id)
    except SlaTimer.DoesNotExist:
        return JsonResponse({"error": "No such conversation in your teams."}, status=404)
    return JsonResponse({"conversation_id": conversation_id, "timers": timers})
