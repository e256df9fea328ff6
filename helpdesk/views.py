"""The agents' pages. Thin: parse the request, call a selector or a service, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateSyntaxError
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import selectors as visibility
from core.models import (
    PRIVATE_MESSAGE_CHAR_LIMIT,
    REPLY_CHAR_LIMITS,
    Conversation,
    ConversationStatus,
)
from core.reply_templates import render_reply_template
from routing.services import assign_conversation

from . import selectors, services
from .filters import INBOX_VIEWS, ConversationFilter
from .forms import AssignForm, NoteForm, ReplyForm, SnoozeForm, StatusForm

FILTER_FIELDS = ("platform", "intent", "priority", "status", "sla", "q")


def _default_view(user) -> str:
    return "all" if visibility.can_see_all_conversations(user) else "team"


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    params = request.GET.copy()
    if params.get("view") not in dict(INBOX_VIEWS):
        params["view"] = _default_view(user)
    can_see_all = visibility.can_see_all_conversations(user)
    if params["view"] == "all" and not can_see_all:
        params["view"] = "team"
    filterset = ConversationFilter(
        params, queryset=visibility.visible_conversations(user), request=request
    )
    valid = filterset.is_valid()
    conversations = selectors.inbox_page(filterset.qs)
    counts = selectors.inbox_view_counts(user)
    kept = {name: params[name] for name in FILTER_FIELDS if params.get(name)}
    tabs = [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "url": "?" + urlencode({"view": key, **kept}),
            "active": key == params["view"],
        }
        for key, label in INBOX_VIEWS
        if key != "all" or can_see_all
    ]
    return render(
        request,
        "helpdesk/inbox.html",
        {
            "conversations": conversations,
            "filter_form": filterset.form,
            "view": params["view"],
            "tabs": tabs,
            "filters_active": bool(kept),
            "mine_unanswered": counts["mine_unanswered"],
            "own_team_ids": ",".join(str(pk) for pk in visibility.own_team_ids(user)),
        },
        status=200 if valid else 400,
    )


@login_required
@require_GET
@never_cache
def inbox_counts(request: HttpRequest) -> JsonResponse:
    """The view badges, for the live inbox to refresh after a change."""
    return JsonResponse(selectors.inbox_view_counts(request.user))


def _visible_or_404(request: HttpRequest, conversation_id: int) -> Conversation:
    try:
        return selectors.conversation_detail(request.user, conversation_id)
    except Conversation.DoesNotExist as missing:
        raise Http404("No such conversation in your teams.") from missing


@login_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        current = selectors.conversation_page(request.user, conversation_id)
    except Conversation.DoesNotExist as missing:
        raise Http404("No such conversation in your teams.") from missing

    form = ReplyForm(request.POST or None)
    stale = False
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.send_reply(
                    conversation_id=current.pk,
                    agent=request.user,
                    text=form.cleaned_data["text"],
                    seen_post_id=form.cleaned_data["seen_post_id"],
                    private=form.cleaned_data["channel"] == "private",
                )
            except services.StaleConversation as error:
                form.add_error(None, error)
                stale, status = True, 409
                # Show what arrived meanwhile; the form now carries the newest id.
                current = selectors.conversation_page(request.user, conversation_id)
            except ValidationError as error:
                form.add_error("text", error)
            else:
                messages.success(request, "Reply sent.")
                return redirect("conversation", conversation_id=current.pk)
    return render(
        request,
        "helpdesk/conversation.html",
        _conversation_context(request, current, form=form, stale=stale),
        status=status,
    )


def _conversation_context(
    request: HttpRequest, current: Conversation, *, form: ReplyForm, stale: bool
) -> dict:
    thread = list(current.posts.all())
    newest_post_id = max((post.pk for post in thread), default=None)
    form.initial["seen_post_id"] = newest_post_id
    if form.is_bound:
        # A re-shown form must carry the newest id, so "send anyway" confirms what is seen.
        data = form.data.copy()
        data["seen_post_id"] = newest_post_id or ""
        form.data = data
    templates = []
    for template in selectors.reply_templates_for(current):
        try:
            text = render_reply_template(template, conversation=current, agent=request.user)
        except TemplateSyntaxError:
            continue  # the admin form refuses broken syntax; an old one is just not offered
        templates.append({"id": template.pk, "name": template.name, "text": text})
    return {
        "conversation": current,
        "thread": thread,
        "notes": list(current.notes.all()),
        "form": form,
        "stale": stale,
        "char_limit": REPLY_CHAR_LIMITS[current.account.platform],
        "private_char_limit": PRIVATE_MESSAGE_CHAR_LIMIT,
        "reply_templates": templates,
        "past_conversations": selectors.past_conversations(request.user, current),
        "teammates": selectors.team_agents(current),
        "note_form": NoteForm(),
        "statuses": ConversationStatus.choices,
        "snooze_form": SnoozeForm(),
        "next_conversation_id": selectors.next_conversation_id(request.user, after=current.pk),
        "triage_reasons": sorted({r for post in thread for r in post.triage_reasons}),
    }


@login_required
@require_GET
def conversation_thread(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The thread alone, server-rendered (so escaped), for the page to swap in live."""
    current = _visible_or_404(request, conversation_id)
    return render(request, "helpdesk/_thread.html", {"thread": selectors.thread_of(current)})


@login_required
@require_POST
def conversation_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    current = _visible_or_404(request, conversation_id)
    if "snooze" in request.POST:
        snooze = SnoozeForm(request.POST)
        if not snooze.is_valid():
            return _refused(request, current, snooze)
        wake_at = snooze.wake_at()
        services.change_status(
            conversation_id=current.pk, status=current.status, snooze_until=wake_at
        )
        messages.success(request, f"Snoozed until {wake_at:%a %d %b, %H:%M}.")
        return redirect("inbox")
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _refused(request, current, form)
    changed = services.change_status(conversation_id=current.pk, status=form.cleaned_data["status"])
    label = changed.get_status_display()
    messages.success(request, f"@{current.customer.handle}: {label}.")
    if changed.status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
        return redirect("inbox")
    return redirect("conversation", conversation_id=current.pk)


@login_required
@require_POST
def conversation_assign(request: HttpRequest, conversation_id: int) -> HttpResponse:
    current = _visible_or_404(request, conversation_id)
    form = AssignForm(
        request.POST, teammates=selectors.team_agents(current), acting_user=request.user
    )
    if not form.is_valid():
        return _refused(request, current, form)
    agent = form.cleaned_data["agent"]
    try:
        assign_conversation(
            conversation_id=current.pk,
            agent=agent,
            expected_assignee_id=form.cleaned_data["expected_assignee"],
        )
    except ValidationError as error:
        return _refused(request, current, errors=error.messages, status=409)
    messages.success(request, f"Assigned to {agent.get_username()}." if agent else "Unassigned.")
    return redirect("conversation", conversation_id=current.pk)


@login_required
@require_POST
def conversation_note(request: HttpRequest, conversation_id: int) -> HttpResponse:
    current = _visible_or_404(request, conversation_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _refused(request, current, form)
    services.add_note(
        conversation_id=current.pk, author=request.user, text=form.cleaned_data["text"]
    )
    messages.success(request, "Note added.")
    return redirect(f"/conversations/{current.pk}/#notes")


def _refused(
    request: HttpRequest, current: Conversation, form=None, *, errors=(), status: int = 400
) -> HttpResponse:
    """Say why an action was refused, on the conversation page as it is now."""
    problems = list(errors)
    if form is not None:
        problems += [error for field_errors in form.errors.values() for error in field_errors]
    for problem in problems:
        messages.error(request, problem)
    fresh = selectors.conversation_page(request.user, current.pk)
    context = _conversation_context(request, fresh, form=ReplyForm(), stale=False)
    return render(request, "helpdesk/conversation.html", context, status=status)
