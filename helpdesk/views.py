"""The agents' pages. Thin: parse the request, call a selector or a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import selectors, services
from .forms import ReplyForm
from .health import health_report
from .models import Conversation


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    conversations = selectors.inbox_for(request.user)
    return render(request, "helpdesk/inbox.html", {"conversations": conversations})


@login_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        current = selectors.conversation_detail(request.user, conversation_id)
    except Conversation.DoesNotExist as missing:
        raise Http404("No such conversation in your teams.") from missing

    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.send_reply(
                conversation_id=current.pk, agent=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            form.add_error("text", error)
        else:
            messages.success(request, "Reply sent.")
            return redirect("conversation", conversation_id=current.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "helpdesk/conversation.html",
        {"conversation": current, "thread": selectors.thread_of(current), "form": form},
        status=status,
    )
