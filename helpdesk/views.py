"""The agents' pages. Thin: parse the request, call a selector or a service, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import selectors as visibility
from core.models import (
    PRIVATE_MESSAGE_CHAR_LIMIT,
    REPLY_CHAR_LIMITS,
    Conversation,
    ConversationStatus,
    Team,
)
from core.reply_templates import body_for, render_reply_template, unknown_variables
from routing.services import assign_conversation, move_to_team

from . import customers, selectors, services, social
from .filters import ASIDE_VIEWS, INBOX_VIEWS, ConversationFilter
from .forms import (
    AssignForm,
    BulkForm,
    MoveTeamForm,
    NoteForm,
    ReplyForm,
    SnoozeForm,
    StatusForm,
)
from .models import Macro

FILTER_FIELDS = ("platform", "intent", "priority", "status", "sla", "tag", "q", "sort")
# The inbox view and filters the agent last looked at, so `n` on a conversation goes to the
# next one of *that* list, in its order.
INBOX_QUERY_SESSION_KEY = "parley_inbox_query"
# A macro's filled-in template, waiting for the conversation page's composer.
MACRO_DRAFT_SESSION_KEY = "parley_macro_draft"


def _default_view(user) -> str:
    return "all" if visibility.can_see_all_conversations(user) else "team"


def _inbox_filter(
    request: HttpRequest, query: QueryDict, *, own_team_ids: list[int] | None = None
) -> ConversationFilter:
    """The inbox's filter for `query`, with the view defaulted and kept to what the user may
    see; `own_team_ids`, the user's teams when already read, lets the database page a deep
    queue from its index."""
    user = request.user
    params = query.copy()
    if params.get("view") not in dict(INBOX_VIEWS):
        params["view"] = _default_view(user)
    if params["view"] == "all" and not visibility.can_see_all_conversations(user):
        params["view"] = "team"
    filterset = ConversationFilter(
        params,
        queryset=visibility.visible_conversations(user, team_ids=own_team_ids),
        request=request,
    )
    filterset.own_team_ids = own_team_ids
    return filterset


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    own_teams = selectors.own_teams(user)
    own_team_ids = [team.pk for team in own_teams]
    filterset = _inbox_filter(request, request.GET, own_team_ids=own_team_ids)
    params = filterset.data
    can_see_all = visibility.can_see_all_conversations(user)
    valid = filterset.is_valid()
    # A later page ("Show more" without JavaScript): the rows after a position.
    after, position_error = _position(request.GET, filterset.chosen_sort)
    page = selectors.inbox_page(filterset.qs, sort=filterset.chosen_sort, after=after)
    counts = selectors.inbox_view_counts(user, team_ids=own_team_ids)
    kept = {name: params[name] for name in FILTER_FIELDS if params.get(name)}
    query = urlencode({"view": params["view"], **kept})
    if valid and request.session.get(INBOX_QUERY_SESSION_KEY) != query:
        request.session[INBOX_QUERY_SESSION_KEY] = query
    tabs = [
        {
            "key": key,
            "label": label,
            "count": selectors.count_label(counts[key]),
            "url": "?" + urlencode({"view": key, **kept}),
            "active": key == params["view"],
            "aside": key in dict(ASIDE_VIEWS),
        }
        for key, label in INBOX_VIEWS
        if key != "all" or can_see_all
    ]
    return render(
        request,
        "helpdesk/inbox.html",
        {
            "conversations": page.rows,
            "next_position": page.next_position,
            "later_page": after is not None,
            "position_error": position_error,
            "now": timezone.now(),
            "filter_form": filterset.form,
            "view": params["view"],
            "sort": filterset.chosen_sort,
            "sorts": [(key, label) for key, (label, _) in selectors.INBOX_SORTS.items()],
            "tabs": tabs,
            "filters_active": bool(kept.keys() - {"sort"}),
            "mine_unanswered": counts["mine_unanswered"],
            "bulk_actions": services.BulkAction.choices,
            "colleagues": selectors.colleagues_of(user),
            "teams": Team.objects.order_by("name"),
            "snooze_choices": SnoozeForm.base_fields["snooze"].choices,
            "statuses": ConversationStatus.choices,
            "inbox_query": query,
            # The live inbox of a later page asks only for rows after where it starts.
            "rows_query": f"{query}&{urlencode({'after': request.GET['after']})}"
            if after
            else query,
            "saved_views": selectors.saved_views_for(user),
            "own_teams": own_teams,
        },
        status=200 if valid and not position_error else 400,
    )


def _position(query: QueryDict, sort: str) -> tuple[list[int] | None, str]:
    """The `after` of the query (selectors.parse_position), or what is wrong with it."""
    text = query.get("after", "")
    if not text:
        return None, ""
    try:
        return selectors.parse_position(text, sort), ""
    except ValueError as error:
        return None, f"after: {error}"


@login_required
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the conversations selected in the inbox; back to the same list."""
    user = request.user
    query = request.POST.get("inbox_query", "")
    back = redirect(f"{reverse('inbox')}?{QueryDict(query).urlencode()}")
    wanted = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    ids = list(
        visibility.visible_conversations(user).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    form = BulkForm(request.POST, colleagues=selectors.colleagues_of(user), acting_user=user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back
    data = form.cleaned_data
    try:
        changed = services.bulk_update_conversations(
            conversation_ids=ids,
            agent=user,
            action=data["action"],
            assignee=data["assignee"],
            status=data["status"],
            snooze_until=data.get("snooze_until"),
            tag=data["tag"],
            team=data["team"],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return back
    count = ngettext("%(n)d conversation", "%(n)d conversations", len(changed)) % {
        "n": len(changed)
    }
    action = data["action"]
    if action == services.BulkAction.ASSIGN:
        who = visibility.display_name(data["assignee"]) if data["assignee"] else None
        done = (
            _("Assigned %(count)s to %(who)s.") % {"count": count, "who": who}
            if who
            else _("Unassigned %(count)s.") % {"count": count}
        )
    elif action == services.BulkAction.STATUS:
        done = _("%(count)s: %(status)s.") % {
            "count": count,
            "status": ConversationStatus(data["status"]).label,
        }
    elif action == services.BulkAction.SNOOZE:
        done = _("Snoozed %(count)s until %(when)s.") % {
            "count": count,
            "when": _local(data["snooze_until"]),
        }
    elif action == services.BulkAction.TAG:
        done = _("Tagged %(count)s “%(tag)s”.") % {"count": count, "tag": data["tag"]}
    elif action == services.BulkAction.TEAM:
        done = _("Moved %(count)s to %(team)s.") % {"count": count, "team": data["team"].name}
    else:
        done = _("%(count)s set aside as needing no reply.") % {"count": count}
    messages.success(request, done)
    return back


@login_required
@require_POST
def inbox_save_view(request: HttpRequest) -> HttpResponse:
    """Save the inbox view on screen (its tab, filters and sort) under a name."""
    filterset = _inbox_filter(request, QueryDict(request.POST.get("inbox_query", "")))
    back = redirect(f"{reverse('inbox')}?{filterset.data.urlencode()}")
    if not filterset.is_valid():
        messages.error(request, _("This view has an invalid filter; fix it before saving."))
        return back
    team = request.POST.get("shared_with", "")
    try:
        saved = services.save_view(
            owner=request.user,
            name=request.POST.get("name", ""),
            query=filterset.data.urlencode(),
            shared_with_team_id=int(team) if team.isdigit() else None,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return back
    if saved.shared_with_id:
        done = _("Saved the view “%(name)s”, shared with %(team)s.") % {
            "name": saved.name,
            "team": saved.shared_with,
        }
    else:
        done = _("Saved the view “%(name)s”.") % {"name": saved.name}
    messages.success(request, done)
    return back


@login_required
@require_POST
def inbox_delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        services.delete_view(owner=request.user, view_id=view_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("View deleted."))
    return redirect("inbox")


@login_required
@require_GET
@never_cache
def inbox_counts(request: HttpRequest) -> JsonResponse:
    """The view badges, for the live inbox to refresh after a change."""
    return JsonResponse(_badges(request.user))


def _badges(user, *, own_team_ids: list[int] | None = None) -> dict[str, int | str]:
    counts = selectors.inbox_view_counts(user, team_ids=own_team_ids)
    # A count beyond the cap arrives as the badge's text ("10,000+"), the others as numbers.
    return {key: selectors.count_label(count) for key, count in counts.items()}


# How many rows the live inbox may ask for at once (it batches the ids of a burst of changes).
INBOX_ROWS_MAX_IDS = 100


@login_required
@require_GET
@never_cache
def inbox_rows(request: HttpRequest) -> HttpResponse:
    """The inbox rows (the page's own card template) of the conversations in `ids` that
    belong to the view, filters, search and sort in the rest of the query; the others are
    left out. The live inbox asks this for what a push says changed, so which rows a list
    holds, and in what order, is decided here alone (helpdesk.filters, INBOX_SORTS).

    With `counts=1` the answer is JSON, the rows' HTML beside the view badges (as
    /inbox/counts/ gives them): the live inbox's one request per batch of changes. Asking
    for the badges apart cost every watching agent a second request per batch, whose
    session, user, permissions and teams were read again (docs/performance.md).

    With `after` (a row's sort key) as well, only the rows after it: the live inbox of a
    later page. With `after` and no `ids`, the page after that row, as JSON: its rows and
    where the page after it starts ("" at the end), what the inbox's "Show more" appends."""
    raw_ids = [part for part in request.GET.get("ids", "").split(",") if part]
    next_page = not raw_ids and "after" in request.GET
    if not next_page and (
        not raw_ids or len(raw_ids) > INBOX_ROWS_MAX_IDS or not all(p.isdigit() for p in raw_ids)
    ):
        return HttpResponse(
            f"ids: give 1 to {INBOX_ROWS_MAX_IDS} conversation ids, separated by commas "
            "(or `after`, a row's sort key, for the page after that row).",
            status=400,
            content_type="text/plain",
        )
    # The user's teams read once, as the inbox page does, for what the user may see and for
    # the team view: the statement below names them, where a join through the agent's
    # profile took the planner 4.6 ms against 0.1 ms to run it (docs/performance.md).
    own_team_ids = visibility.own_team_ids(request.user)
    filterset = _inbox_filter(request, request.GET, own_team_ids=own_team_ids)
    if not filterset.is_valid():
        errors = "; ".join(
            f"{field}: {' '.join(problems)}" for field, problems in filterset.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain")
    sort = filterset.chosen_sort
    after, position_error = _position(request.GET, sort)
    if position_error:
        return HttpResponse(position_error, status=400, content_type="text/plain")
    if next_page:
        page = selectors.inbox_page(filterset.qs, sort=sort, after=after)
        context = {"conversations": page.rows, "now": timezone.now()}
        return JsonResponse(
            {
                "rows": render_to_string("helpdesk/_rows.html", context, request=request),
                "next": page.next_position,
            }
        )
    conversations = selectors.inbox_rows(
        filterset.qs, ids=[int(pk) for pk in raw_ids], sort=sort, after=after
    )
    context = {"conversations": conversations, "now": timezone.now()}
    if request.GET.get("counts") != "1":
        return render(request, "helpdesk/_rows.html", context)
    return JsonResponse(
        {
            "rows": render_to_string("helpdesk/_rows.html", context, request=request),
            "counts": _badges(request.user, own_team_ids=own_team_ids),
        }
    )


def _visible_or_404(request: HttpRequest, conversation_id: int) -> Conversation:
    try:
        return selectors.conversation_detail(request.user, conversation_id)
    except Conversation.DoesNotExist as missing:
        raise Http404(_("No such conversation in your teams.")) from missing


@login_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        current = selectors.conversation_page(request.user, conversation_id)
    except Conversation.DoesNotExist as missing:
        raise Http404(_("No such conversation in your teams.")) from missing

    form = ReplyForm(request.POST or None)
    draft = request.session.pop(MACRO_DRAFT_SESSION_KEY, None) if request.method == "GET" else None
    if draft and draft.get("id") == current.pk:
        form.initial["text"] = draft["text"]
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
                messages.success(request, _("Reply sent."))
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
    suggest_for = selectors.latest_inbound_intent(thread)
    for template, suggested in selectors.reply_templates_for(current, suggest_for=suggest_for):
        try:
            text = render_reply_template(template, conversation=current, agent=request.user)
        except TemplateSyntaxError:
            continue  # the admin form refuses broken syntax; an old one is just not offered
        templates.append(
            {
                "id": template.pk,
                "name": template.name,
                "text": text,
                "suggested": suggested,
                # Shown in the composer's preview: these would be left empty.
                "unknown": unknown_variables(body_for(template, current.account.platform)),
            }
        )
    profiles = selectors.profiles_of(current.customer)
    merged_ids = selectors.merged_customer_ids(profiles, current.customer)
    return {
        "conversation": current,
        "thread": thread,
        "profiles": profiles,
        "customer_notes_max": customers.CUSTOMER_NOTES_MAX,
        "notes": list(current.notes.all()),
        "form": form,
        "stale": stale,
        "char_limit": REPLY_CHAR_LIMITS[current.account.platform],
        "private_char_limit": PRIVATE_MESSAGE_CHAR_LIMIT,
        "reply_templates": templates,
        "macros": selectors.macros_for(current),
        "past_conversations": selectors.past_conversations(
            request.user, current, customer_ids=merged_ids
        ),
        "teammates": selectors.team_agents(current),
        "note_form": NoteForm(),
        "statuses": ConversationStatus.choices,
        "snooze_form": SnoozeForm(),
        "triage_reasons": selectors.conversation_reasons(current, thread),
    }


@login_required
@require_GET
@never_cache
def conversation_next(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """`n` on the conversation page: on to the conversation after this one in the inbox list
    the agent last looked at (its view, filters and sort), or back to that list when it holds
    no other. Worked out when asked, not on every page view: it reads the queue in order,
    the one statement of the page whose cost grew with the open conversations, and the
    answer is then the queue as it is when the agent moves on."""
    query = request.session.get(INBOX_QUERY_SESSION_KEY, "")
    filterset = _inbox_filter(
        request, QueryDict(query), own_team_ids=visibility.own_team_ids(request.user)
    )
    if filterset.is_valid():
        following = selectors.next_conversation_id(
            request.user,
            after=conversation_id,
            conversations=filterset.qs,
            sort=filterset.chosen_sort,
        )
    else:
        following = selectors.next_conversation_id(request.user, after=conversation_id)
    if following is None:
        return redirect(f"{reverse('inbox')}?{query}")
    return redirect("conversation", conversation_id=following)


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
        messages.success(request, _("Snoozed until %(when)s.") % {"when": _local(wake_at)})
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
            by=request.user,
        )
    except ValidationError as error:
        return _refused(request, current, errors=error.messages, status=409)
    messages.success(
        request,
        _("Assigned to %(who)s.") % {"who": visibility.display_name(agent)}
        if agent
        else _("Unassigned."),
    )
    return redirect("conversation", conversation_id=current.pk)


@login_required
@require_http_methods(["GET", "POST"])
def conversation_team(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Hand the conversation to another team's queue. A page of its own: the conversation
    page would otherwise read every team for a choice made now and then."""
    current = _visible_or_404(request, conversation_id)
    form = MoveTeamForm(request.POST or None, conversation=current)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            team = form.cleaned_data["team"]
            try:
                move_to_team(conversation_id=current.pk, team=team, by=request.user)
            except ValidationError as error:
                form.add_error("team", error)
            else:
                if visibility.visible_conversations(request.user).filter(pk=current.pk).exists():
                    messages.success(request, _("Moved to %(team)s.") % {"team": team.name})
                    return redirect("conversation", conversation_id=current.pk)
                messages.success(
                    request,
                    _("Moved to %(team)s: it has left your teams' queue.") % {"team": team.name},
                )
                return redirect("inbox")
    return render(
        request,
        "helpdesk/move_team.html",
        {"conversation": current, "form": form},
        status=status,
    )


@login_required
@require_POST
def conversation_needs_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """An agent's verdict: this conversation needs a reply (pulled back from "No reply
    needed") or not (spam, chatter)."""
    current = _visible_or_404(request, conversation_id)
    needs_reply = request.POST.get("needs_reply")
    if needs_reply not in ("yes", "no"):
        return _refused(request, current, errors=[_("Say whether it needs a reply: yes or no.")])
    services.set_needs_reply(
        conversation_id=current.pk, needs_reply=needs_reply == "yes", agent=request.user
    )
    if needs_reply == "yes":
        messages.success(request, _("Back in the queue, on the clock from now."))
    else:
        messages.success(request, _("Set aside: no reply needed."))
    return redirect("conversation", conversation_id=current.pk)


@login_required
@require_POST
def conversation_macro(request: HttpRequest, conversation_id: int, macro_id: int) -> HttpResponse:
    """Run a macro; its template, if any, waits in the composer for the agent to send."""
    current = _visible_or_404(request, conversation_id)
    try:
        result = services.run_macro(
            conversation_id=current.pk, macro_id=macro_id, agent=request.user
        )
    except Macro.DoesNotExist as missing:
        raise Http404(_("No such macro.")) from missing
    except ValidationError as error:
        return _refused(request, current, errors=error.messages)
    if result.draft:
        request.session[MACRO_DRAFT_SESSION_KEY] = {"id": current.pk, "text": result.draft}
    messages.success(
        request, _("Macro: %(done)s.") % {"done": ", ".join(result.done) or _("nothing to do")}
    )
    return redirect("conversation", conversation_id=current.pk)


@login_required
@require_POST
def conversation_tags(request: HttpRequest, conversation_id: int) -> HttpResponse:
    current = _visible_or_404(request, conversation_id)
    try:
        services.tag_conversation(
            conversation_id=current.pk,
            agent=request.user,
            add=request.POST.get("add", ""),
            remove=request.POST.get("remove", ""),
        )
    except ValidationError as error:
        return _refused(request, current, errors=error.messages)
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
    messages.success(request, _("Note added."))
    return redirect(f"/conversations/{current.pk}/#notes")


@login_required
@require_POST
def conversation_post_action(
    request: HttpRequest, conversation_id: int, post_id: int, verb: str
) -> HttpResponse:
    """A social action on one post of the conversation: like, hide, delete, block."""
    current = _visible_or_404(request, conversation_id)
    if not current.posts.filter(pk=post_id).exists():
        raise Http404("No such post in this conversation.")
    try:
        done = social.perform(post_id=post_id, agent=request.user, verb=verb)
    except social.SocialActionRefused as error:
        return _refused(request, current, errors=error.messages)
    messages.success(request, done)
    return redirect(f"{reverse('conversation', args=[current.pk])}#post-{post_id}")


@login_required
@require_POST
def conversation_customer_notes(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Save the notes on the conversation's customer, from the side panel."""
    current = _visible_or_404(request, conversation_id)
    try:
        customers.update_notes(
            customer_id=current.customer_id,
            agent=request.user,
            notes=request.POST.get("notes", ""),
            conversation_id=current.pk,
        )
    except ValidationError as error:
        return _refused(request, current, errors=error.messages)
    messages.success(request, _("Customer notes saved."))
    return redirect(f"{reverse('conversation', args=[current.pk])}#customer")


@login_required
@require_POST
def conversation_customer_profile(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Merge a suggested profile into the conversation's customer, or unmerge one."""
    current = _visible_or_404(request, conversation_id)
    link_id, verb = request.POST.get("link", ""), request.POST.get("action", "")
    if not link_id.isdigit() or verb not in ("merge", "unmerge"):
        return _refused(request, current, errors=[_("Choose a profile to merge or unmerge.")])
    service = customers.merge_profile if verb == "merge" else customers.unmerge_profile
    try:
        service(
            link_id=int(link_id),
            customer_id=current.customer_id,
            agent=request.user,
            conversation_id=current.pk,
        )
    except ValidationError as error:
        return _refused(request, current, errors=error.messages)
    messages.success(request, _("Profile merged.") if verb == "merge" else _("Profile unmerged."))
    return redirect(f"{reverse('conversation', args=[current.pk])}#customer")


def _local(instant) -> str:
    """An instant as the pages show it ("Wed 2 Dec, 09:15"): in the agent's zone and language."""
    return dateformat.format(timezone.localtime(instant), "D j M, H:i")


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
