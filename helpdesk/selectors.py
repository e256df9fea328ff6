"""Reading conversations for the inbox, the conversation page and live updates."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    DateTimeField,
    Expression,
    F,
    FilteredRelation,
    OrderBy,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Intent,
    Note,
    Platform,
    Post,
    Priority,
    ReplyTemplate,
    Team,
)
from core.selectors import display_name, display_name_of, visible_conversations
from ingestion.models import CustomerLink, LinkStatus

from .models import Macro, SavedView

EXCERPT_CHARS = 140

# The SLA timers that hold the brand to answering (the first response, then each next one).
RESPONSE_TIMER_KINDS = ("first_response", "next_response")
RESPONSE_TIMER_LABELS = {
    "first_response": _("First response"),
    "next_response": _("Next response"),
}


def with_queue_facts(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Annotate what the queue sorts on besides the stored `waiting_since` (the column
    Conversation.waiting_since, core.selectors.waiting_since's definition): `response_due_at`,
    when the response owed is due: the conversation's own first_response_due_at before the
    first reply, the running next-response timer's due instant after it (NULL when nothing
    is owed or no clock runs). A join to a small partial index (the running next-response
    timers), never a subquery per row. `response_timer` (which of the two) is read by
    response_timer_of.
    """
    return conversations.alias(
        next_response=FilteredRelation(
            "sla_timers",
            condition=Q(sla_timers__kind="next_response", sla_timers__stopped_at=None),
        )
    ).annotate(
        response_due_at=Case(
            When(needs_reply=False, then=Value(None)),
            When(first_response_at__isnull=True, then=F("first_response_due_at")),
            default=F("next_response__due_at"),
            output_field=DateTimeField(),
        ),
    )


def response_timer_of(*, first_response_at, response_due_at, needs_reply: bool = True) -> str:
    """ "first_response" or "next_response": the SLA target the response owed is held to
    ("" when no clock runs for it)."""
    if response_due_at is None or not needs_reply:
        return ""
    return "first_response" if first_response_at is None else "next_response"


# How the inbox can be sorted: key -> (label, order). Every order ends on the id so a page
# is stable; NULLs are placed explicitly (Postgres sorts them last, SQLite first).
INBOX_SORTS = {
    "waiting": (
        _("Waiting longest"),
        (
            F("waiting_since").asc(nulls_last=True),
            "-priority",
            F("response_due_at").asc(nulls_last=True),
            "-id",
        ),
    ),
    "due": (
        _("SLA due soonest"),
        (
            F("response_due_at").asc(nulls_last=True),
            F("waiting_since").asc(nulls_last=True),
            "-priority",
            "-id",
        ),
    ),
    "priority": (
        _("Priority"),
        ("-priority", F("waiting_since").asc(nulls_last=True), "-id"),
    ),
    "newest": (_("Newest"), (F("last_inbound_at").desc(nulls_last=True), "-id")),
}
DEFAULT_SORT = "waiting"
INBOX_ORDER = INBOX_SORTS[DEFAULT_SORT][1]


def _order_of(sort: str) -> tuple[str | OrderBy, ...]:
    # The order of an INBOX_SORTS key; an unknown one reads as the default.
    return INBOX_SORTS.get(sort, INBOX_SORTS[DEFAULT_SORT])[1]


def inbox_for(user: AbstractBaseUser, *, limit: int = 100) -> list[Conversation]:
    """Active, awake conversations the user may work that need a reply, in queue order."""
    active = visible_conversations(user).filter(status__in=ACTIVE_STATUSES, needs_reply=True)
    return inbox_page(not_snoozed(active), limit=limit).rows


def conversation_detail(user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """The conversation with its thread; raises Conversation.DoesNotExist if not visible."""
    return (
        visible_conversations(user)
        .select_related("customer", "account", "team", "assignee", "routed_by")
        .get(pk=conversation_id)
    )


def thread_of(conversation: Conversation) -> QuerySet[Post]:
    return conversation.posts.select_related(
        "customer", "customer__platform_profile", "agent"
    ).order_by("created_at", "id")


def not_snoozed(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Drop conversations snoozed into the future; they come back when the snooze ends."""
    return conversations.filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=timezone.now())
    )


def snoozed(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Active conversations needing a reply, snoozed into the future (the Snoozed view)."""
    return conversations.filter(
        status__in=ACTIVE_STATUSES, needs_reply=True, snoozed_until__gt=timezone.now()
    )


# "No reply needed" shows what spam rules and triage set aside lately, not all history.
NO_REPLY_VIEW_DAYS = 7


def no_reply_needed(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Conversations set aside as needing no reply (triage said spam, a rule or an agent
    decided), still active or from the last NO_REPLY_VIEW_DAYS days: an agent can pull one
    back (services.mark_needs_reply)."""
    since = timezone.now() - timedelta(days=NO_REPLY_VIEW_DAYS)
    return conversations.filter(needs_reply=False).filter(
        Q(status__in=ACTIVE_STATUSES) | Q(created_at__gte=since)
    )


# A search word found in at most this many posts is "rare": the conversations holding them
# are read first (the trigram index, Postgres), and the queue filtered on their ids.
SEARCH_RARE_POSTS = 2_000


def search_conversations(conversations: QuerySet[Conversation], text: str) -> QuerySet:
    """The conversations whose customer's handle or name, or one of whose posts, contains
    `text` (case-insensitive; a leading @ is ignored).

    Its cost is bounded whatever the word: on Postgres the posts containing it are looked
    up first in the trigram index (core migration 0005), at most SEARCH_RARE_POSTS + 1 of
    them; a rare word then filters the queue on those few conversation ids, while a common
    one (more posts than that) is checked conversation by conversation in queue order,
    where a page fills after a few hundred. Elsewhere (SQLite) always the latter.
    """
    text = text.strip().lstrip("@")
    if not text:
        return conversations
    customers = Customer.objects.filter(
        Q(handle__icontains=text) | Q(display_name__icontains=text)
    ).values("pk")
    if connection.vendor == "postgresql":
        holding = list(
            Post.objects.filter(text__icontains=text)
            .order_by()
            .values_list("conversation_id", flat=True)[: SEARCH_RARE_POSTS + 1]
        )
        if len(holding) <= SEARCH_RARE_POSTS:
            return conversations.filter(Q(pk__in=set(holding)) | Q(customer__in=customers))
    # A scalar subquery (the first matching post), not EXISTS: Postgres would turn EXISTS
    # into one hash of every matching post, which for a common word is most of the history.
    first_match = Post.objects.filter(conversation=OuterRef("pk"), text__icontains=text)
    return conversations.alias(
        first_matching_post=Subquery(first_match.order_by().values("pk")[:1])
    ).filter(Q(customer__in=customers) | Q(first_matching_post__isnull=False))


# An inbox page shows this many rows, and a "Show more" button the next as many (the live
# inbox appends them): Chatwoot loads 25 at a time, a Zendesk view 30. Each row is a card
# to render, the largest part of the page's time (docs/performance.md).
INBOX_PAGE_SIZE = 50


@dataclass
class InboxPage:
    """Rows of the inbox in its sort order, and whether more follow the last of them."""

    rows: list[Conversation]
    more: bool

    @property
    def next_position(self) -> str:
        """Where the next page starts (its `after`): the last row's sort key, "" if none."""
        return self.rows[-1].sort_key if self.more and self.rows else ""


def inbox_page(
    conversations: QuerySet[Conversation],
    *,
    limit: int = INBOX_PAGE_SIZE,
    sort: str = DEFAULT_SORT,
    after: Sequence[int] | None = None,
) -> InboxPage:
    """One page of the (already filtered) inbox in `sort` order (INBOX_SORTS; by default
    who has waited longest for what the brand owes them), with what a row shows: the first
    `limit` rows, or those after the position `after` (parse_position) when given."""
    order = _order_of(sort)
    # One row more than shown says whether a next page exists, without counting.
    rows = _read_rows(conversations, order=order, limit=limit + 1, after=after)
    return InboxPage(rows=_labelled(rows[:limit], order), more=len(rows) > limit)


def _read_rows(
    conversations: QuerySet[Conversation],
    *,
    order: Sequence[str | OrderBy],
    limit: int,
    after: Sequence[int] | None = None,
) -> list[Conversation]:
    latest_inbound = Post.objects.filter(
        conversation=OuterRef("pk"), direction=Direction.INBOUND
    ).order_by("-created_at", "-id")
    # The account's platform as a column, not the account: a row would decrypt its
    # platform tokens (core.fields.EncryptedJSONField) only to show the platform's name.
    queryset = with_queue_facts(conversations.select_related("customer", "team", "assignee"))
    if after is not None:
        queryset = queryset.filter(_after_position(queryset, order, after))
    return list(
        queryset.annotate(
            account_platform=F("account__platform"),
            latest_text=Subquery(latest_inbound.values("text")[:1]),
        ).order_by(*order)[:limit]
    )


def _labelled(rows: list[Conversation], order: Sequence[str | OrderBy]) -> list[Conversation]:
    # What each row shows (row.shown), its response timer and its place in `order`.
    shown = _RowLabels()
    for row in rows:
        row.response_timer = response_timer_of(
            first_response_at=row.first_response_at,
            response_due_at=row.response_due_at,
            needs_reply=row.needs_reply,
        )
        row.sort_key = json.dumps(inbox_sort_key(row, order))
        row.shown = shown.of(row)
    return rows


class _RowLabels:
    """What an inbox row shows (`row.shown`, read by helpdesk/_rows.html), as plain strings.

    Computed here rather than in the template because a page is 50 rows: each row's
    get_FOO_display translates every choice of its field, and each template filter, tag and
    attribute lookup on a model instance costs far more than a dict lookup. The labels of
    each choice are translated once per page, in the request's language.
    """

    def __init__(self) -> None:
        self.platform = {value: str(label) for value, label in Platform.choices}
        self.status = {value: str(label) for value, label in ConversationStatus.choices}
        self.intent = {value: str(label) for value, label in Intent.choices}
        self.priority = {value: str(label) for value, label in Priority.choices}
        self.timer = {kind: str(label) for kind, label in RESPONSE_TIMER_LABELS.items()}
        # The same message as the template's {% blocktranslate %} had, so one translation.
        self.select = gettext("Select @%(handle)s")
        # Reversed once: a hundred reverse() calls cost more than the rest of the rows.
        self.url = reverse("conversation", args=[0]).replace("/0/", "/%d/")

    def of(self, row: Conversation) -> dict[str, Any]:
        customer = row.customer
        platform = row.account_platform
        return {
            # Numbers as text: the template would localize each (number_format), 500 a page.
            "id": str(row.pk),
            "url": self.url % row.pk,
            "select_label": self.select % {"handle": customer.handle},
            # A customer the platform gave no handle (an unknown author) reads by name.
            "customer": f"@{customer.handle}"
            if customer.handle
            else customer.display_name or "Unknown author",
            "platform": self.platform.get(platform, platform),
            "excerpt": Truncator(row.latest_text or "").chars(EXCERPT_CHARS),
            "intent": self.intent.get(row.intent, row.intent),
            "priority": str(row.priority),
            "priority_label": self.priority.get(row.priority, row.priority),
            "team": row.team.name if row.team_id else "",
            "assignee": display_name(row.assignee) if row.assignee_id else "",
            "status": row.status,
            "status_label": self.status.get(row.status, row.status),
            "snoozed_until": row.snoozed_until,
            "waiting_since": _iso(row.waiting_since) or "",
            "response_due_at": _iso(row.response_due_at) or "",
            "last_inbound_at": _iso(row.last_inbound_at) or "",
            "timer_label": self.timer.get(row.response_timer, ""),
            "sort_key": row.sort_key,
        }


def inbox_rows(
    conversations: QuerySet[Conversation],
    *,
    ids: Sequence[int],
    sort: str = DEFAULT_SORT,
    after: Sequence[int] | None = None,
) -> list[Conversation]:
    """Those of `ids` that are in `conversations` (the agent's view, filters and search),
    read as inbox_page reads them: what the live inbox asks for when they change. With
    `after`, only those that come after that position (the live inbox of a later page)."""
    order = _order_of(sort)
    rows = _read_rows(conversations.filter(pk__in=ids), order=order, limit=len(ids), after=after)
    return _labelled(rows, order)


def inbox_sort_key(row: Conversation, order: Sequence[str | OrderBy]) -> list[int]:
    """Where `row` stands in `order` (an INBOX_SORTS order), as numbers that sort ascending.

    The live inbox places a row it is sent among those on screen by comparing these keys,
    so the browser keeps no copy of the sort: each term gives a NULL rank (NULLs where the
    order puts them) and the value (times in microseconds, negated when descending).
    """
    key: list[int] = []
    for field, descending, nulls_last in _order_terms(order):
        value = getattr(row, field)
        if value is None:
            key += [1 if nulls_last else -1, 0]
            continue
        number = _microseconds(value) if isinstance(value, datetime) else int(value)
        key += [0, -number if descending else number]
    return key


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A position's numbers are kept within a signed 64-bit integer, what the databases compare.
_POSITION_BOUND = 2**63


def _microseconds(moment: datetime) -> int:
    # Exact integer arithmetic: timestamp() * 1e6 in floating point can land a microsecond
    # off, and a next page compares these numbers for equality.
    return (moment - _EPOCH) // _MICROSECOND


def parse_position(text: str, sort: str = DEFAULT_SORT) -> list[int]:
    """The position `text` names in the inbox's `sort` order: a row's sort key as the page
    gives it (data-sort-key, a JSON list of numbers). Raises ValueError saying what is
    wrong with it."""
    order = _order_of(sort)
    expected = 2 * len(order)
    try:
        position = json.loads(text)
    except ValueError:
        raise ValueError("not a position in the list (a row's sort key).") from None
    if (
        not isinstance(position, list)
        or len(position) != expected
        or not all(type(number) is int for number in position)
    ):
        raise ValueError(f"a position in this sort is a list of {expected} whole numbers.")
    if not all(-_POSITION_BOUND < number < _POSITION_BOUND for number in position):
        raise ValueError("a number of this position is out of range.")
    for (field, _descending, nulls_last), rank in zip(
        _order_terms(order), position[::2], strict=True
    ):
        if rank not in (0, 1 if nulls_last else -1):
            raise ValueError(f"{rank} is not a place for {field} in this sort.")
    return position


def _after_position(
    queryset: QuerySet[Conversation], order: Sequence[str | OrderBy], position: Sequence[int]
) -> Q:
    """The rows of `queryset` that come after `position` (inbox_sort_key's numbers) in
    `order`: past it on a term whose earlier terms all equal the position's (a keyset, so a
    next page holds neither a row already shown nor a gap, whatever moved in between)."""
    beyond: list[Q] = []
    same_so_far = Q()
    for (field, descending, nulls_last), rank, number in zip(
        _order_terms(order), position[::2], position[1::2], strict=True
    ):
        if rank:  # the position is NULL on this term
            if not nulls_last:
                beyond.append(same_so_far & Q(**{f"{field}__isnull": False}))
            same_so_far &= Q(**{f"{field}__isnull": True})
            continue
        value: int | datetime = -number if descending else number
        if _is_time(queryset, field):
            value = _EPOCH + value * _MICROSECOND
        past = Q(**{f"{field}__{'lt' if descending else 'gt'}": value})
        if nulls_last:
            past |= Q(**{f"{field}__isnull": True})
        beyond.append(same_so_far & past)
        same_so_far &= Q(**{field: value})
    return reduce(operator.or_, beyond)


def _is_time(queryset: QuerySet, field: str) -> bool:
    # An annotation of the queryset (response_due_at), a generated column (waiting_since)
    # or a plain one: the first two say their type in output_field.
    source = queryset.query.annotations.get(field) or queryset.model._meta.get_field(field)
    return isinstance(getattr(source, "output_field", source), DateTimeField)


def _order_terms(order: Sequence[str | OrderBy]) -> Iterator[tuple[str, bool, bool]]:
    # (field, descending, NULLs last) for each term; plain names ("-priority") are never NULL.
    for term in order:
        if isinstance(term, str):
            yield term.lstrip("-"), term.startswith("-"), True
        else:
            expression: Expression = term.expression
            yield expression.name, term.descending, bool(term.nulls_last)


# The view counts are exact up to COUNT_CAP; beyond it a badge says "10,000+" (count_label):
# counting 100,000 open conversations exactly for every page view would cost more than the
# page, and past ten thousand the exact figure tells an agent nothing more.
COUNT_CAP = 10_000


def inbox_view_counts(
    user: AbstractBaseUser, *, team_ids: Sequence[int] | None = None
) -> dict[str, int]:
    """How many conversations each inbox view holds (COUNT_CAP + 1 meaning "more than
    COUNT_CAP"), in one query.

    The queue views count active, awake conversations that need a reply; "pending",
    "snoozed" and "noreply" count their views (see helpdesk.filters). "unanswered" counts
    the user's own still waiting for a first reply. Each count stops at COUNT_CAP + 1 rows,
    read from the queue's partial index, so its cost does not grow with the queue.
    `team_ids`: the user's own teams, when the caller has read them (see
    visible_conversations).
    """
    now = timezone.now()
    since = now - timedelta(days=NO_REPLY_VIEW_DAYS)
    visible = visible_conversations(user, team_ids=team_ids)
    own_teams = (
        list(team_ids)
        if team_ids is not None
        else Team.objects.filter(agents__user=user).values("pk")
    )
    queue = visible.filter(status__in=ACTIVE_STATUSES, needs_reply=True).filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)
    )
    return capped_counts(
        {
            "mine": queue.filter(assignee=user),
            "team": queue.filter(team__in=own_teams),
            "unassigned": queue.filter(assignee__isnull=True),
            "all": queue,
            "mine_unanswered": queue.filter(assignee=user, first_response_at__isnull=True),
            "pending": visible.filter(status=ConversationStatus.PENDING),
            "snoozed": visible.filter(
                status__in=ACTIVE_STATUSES, needs_reply=True, snoozed_until__gt=now
            ),
            "noreply": visible.filter(needs_reply=False).filter(
                Q(status__in=ACTIVE_STATUSES) | Q(created_at__gte=since)
            ),
        }
    )


def capped_counts(querysets: dict[str, QuerySet]) -> dict[str, int]:
    """{name: rows of the queryset, up to COUNT_CAP + 1} in one statement: a COUNT over a
    LIMIT subquery for each, so none reads more than COUNT_CAP + 1 rows."""
    parts, params = [], []
    for queryset in querysets.values():
        capped = queryset.order_by().values("pk")[: COUNT_CAP + 1]
        try:
            sql, query_params = capped.query.get_compiler(using=capped.db).as_sql()
        except EmptyResultSet:  # e.g. the teams of a user who works in none
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{len(parts)})")
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(querysets, row, strict=True))


def count_label(count: int) -> int | str:
    """What a badge shows for a capped count: the number, or "10,000+" beyond COUNT_CAP."""
    if count > COUNT_CAP:
        return number_format(COUNT_CAP, force_grouping=True) + "+"
    return count


def next_conversation_id(
    user: AbstractBaseUser,
    *,
    after: int,
    conversations: QuerySet[Conversation] | None = None,
    sort: str = DEFAULT_SORT,
) -> int | None:
    """The conversation after `after` in `conversations` (the agent's current inbox view
    and filters; by default their queue) in `sort` order, wrapping to the first; the first
    when `after` has left the list. Read from its place in the sort (the keyset "Show more"
    pages on), so `n` follows the list however deep in it the agent works."""
    if conversations is None:
        conversations = not_snoozed(
            visible_conversations(user).filter(status__in=ACTIVE_STATUSES, needs_reply=True)
        )
    order = _order_of(sort)
    queue = with_queue_facts(conversations)
    current = queue.filter(pk=after).first()
    if current is not None:
        beyond = _after_position(queue, order, inbox_sort_key(current, order))
        following = queue.filter(beyond).order_by(*order).values_list("pk", flat=True).first()
        if following is not None:
            return following
    return queue.exclude(pk=after).order_by(*order).values_list("pk", flat=True).first()


def conversation_page(user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """Everything the conversation page shows, in a fixed number of queries; raises
    Conversation.DoesNotExist if the user may not see it."""
    return (
        visible_conversations(user)
        .select_related("customer", "account", "team", "assignee", "routed_by")
        .prefetch_related(
            "tags",
            "sla_timers",
            Prefetch(
                "posts",
                queryset=Post.objects.select_related(
                    "customer", "customer__platform_profile", "agent"
                ),
            ),
            Prefetch(
                "notes", queryset=Note.objects.select_related("author").prefetch_related("mentions")
            ),
        )
        .get(pk=conversation_id)
    )


# Triage reasons that only hold for a post of this intent (triage.priority.prioritise).
_INTENT_REASONS = {"negative complaint": Intent.COMPLAINT, "no reply needed": Intent.SPAM}


def conversation_reasons(conversation: Conversation, thread: Sequence[Post]) -> list[str]:
    """Why the conversation has its priority, as triage said of its customer posts, less the
    reasons that belong to an intent the conversation no longer has (a "negative complaint"
    reason next to a "Compliment" tag would contradict itself)."""
    reasons = {reason for post in thread for reason in post.triage_reasons}
    return sorted(
        reason
        for reason in reasons
        if _INTENT_REASONS.get(reason, conversation.intent) == conversation.intent
    )


def past_conversations(
    user: AbstractBaseUser,
    conversation: Conversation,
    *,
    customer_ids: Sequence[int] = (),
    limit: int = 10,
) -> list[Conversation]:
    """The customer's other conversations the user may open, the newest first; with
    `customer_ids`, those of every identity merged into the customer too (one history)."""
    ids = list(customer_ids) or [conversation.customer_id]
    return list(
        visible_conversations(user)
        .filter(customer_id__in=ids)
        .exclude(pk=conversation.pk)
        .select_related("customer")
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class Profile:
    """Another identity of the customer: merged (confirmed) or only suggested."""

    link_id: int
    customer: Customer
    merged: bool
    reason: str


def profiles_of(customer: Customer) -> list[Profile]:
    """The customer's merged and suggested identities on other platforms (one query);
    rejected suggestions are left out."""
    links = (
        CustomerLink.objects.filter(Q(customer=customer) | Q(other=customer))
        .exclude(status=LinkStatus.REJECTED)
        .select_related("customer", "other")
        .order_by("-status", "pk")
    )
    found = []
    for link in links:
        other = link.other if link.customer_id == customer.pk else link.customer
        found.append(
            Profile(
                link_id=link.pk,
                customer=other,
                merged=link.status == LinkStatus.CONFIRMED,
                reason=link.reason,
            )
        )
    return found


def merged_customer_ids(profiles: list[Profile], customer: Customer) -> list[int]:
    """The customer and every identity merged into it: whose conversations are its history."""
    return [customer.pk, *(profile.customer.pk for profile in profiles if profile.merged)]


def colleagues_of(user: AbstractBaseUser) -> list[AbstractBaseUser]:
    """The active agents of the teams the user works in (themselves included), by name: who
    a bulk action can assign to."""
    return list(
        get_user_model()
        .objects.filter(agent_profile__teams__agents__user=user, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def team_agents(conversation: Conversation) -> list[AbstractBaseUser]:
    """Who the conversation can be assigned to: the agents of its team."""
    if conversation.team_id is None:
        return []
    return list(
        get_user_model()
        .objects.filter(agent_profile__teams=conversation.team_id, is_active=True)
        .order_by("username")
    )


def own_teams(user: AbstractBaseUser) -> list[Team]:
    """The teams the user works in, by name."""
    return list(Team.objects.filter(agents__user=user).order_by("name"))


def saved_views_for(user: AbstractBaseUser) -> list:
    """The inbox views the user saved, and those shared with a team they work in."""
    return list(
        SavedView.objects.filter(Q(owner=user) | Q(shared_with__agents__user=user))
        .select_related("shared_with")
        .distinct()
        .order_by("name", "id")
    )


def macros_for(conversation: Conversation) -> list:
    """The macros an agent may run on the conversation: its team's and everyone's."""
    return list(
        Macro.objects.filter(Q(team__isnull=True) | Q(team=conversation.team_id)).order_by("name")
    )


def assignable_agent(conversation: Conversation, username: str) -> AbstractBaseUser | None:
    """The active agent called `username` who may take the conversation (one of its team, or
    any agent while it has no team); None otherwise, whether or not the name exists."""
    agents = get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
    if conversation.team_id is not None:
        agents = agents.filter(agent_profile__teams=conversation.team_id)
    return agents.filter(**{get_user_model().USERNAME_FIELD: username}).first()


def reply_templates_for(
    conversation: Conversation, *, suggest_for: str = ""
) -> list[tuple[ReplyTemplate, bool]]:
    """The templates the conversation's team may use, each with whether it is suggested (it
    answers the intent `suggest_for`, the customer's latest post's): those first, each part
    by name."""
    templates = (
        ReplyTemplate.objects.filter(Q(team__isnull=True) | Q(team=conversation.team_id))
        .prefetch_related("variants")
        .order_by("name")
    )
    offered = [
        (template, bool(suggest_for) and template.intent == suggest_for) for template in templates
    ]
    offered.sort(key=lambda pair: not pair[1])  # stable: by name within each part
    return offered


def latest_inbound_intent(thread: Sequence[Post]) -> str:
    """The triage intent of the customer's latest tagged post in `thread` (oldest first)."""
    return next(
        (
            post.intent
            for post in reversed(thread)
            if post.direction == Direction.INBOUND and post.intent
        ),
        "",
    )


def conversation_cards(conversation_ids: Sequence[int]) -> list[dict[str, Any]]:
    """What the inbox shows of these conversations, as JSON for live updates, in one query.

    Read as plain rows, not model instances: in a storm this runs for every batch of posts.
    Conversations that no longer exist are left out.
    """
    latest_text = Subquery(
        Post.objects.filter(conversation=OuterRef("pk"), direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .values("text")[:1]
    )
    username = f"assignee__{get_user_model().USERNAME_FIELD}"
    rows = (
        with_queue_facts(Conversation.objects.filter(pk__any=conversation_ids))
        .annotate(latest_text=latest_text)
        .order_by("pk")
        .values(
            "pk",
            "team_id",
            "team__name",
            "assignee_id",
            username,
            "assignee__first_name",
            "assignee__last_name",
            "account__platform",
            "intent",
            "snoozed_until",
            "customer__handle",
            "customer__display_name",
            "status",
            "sentiment",
            "priority",
            "needs_reply",
            "latest_text",
            "first_response_due_at",
            "first_response_at",
            "last_inbound_at",
            "waiting_since",
            "response_due_at",
        )
    )
    labels = _card_labels()
    return [_card(row, username, labels) for row in rows]


def _card_labels() -> dict[str, dict[str, str]]:
    """Each choice's label translated once per batch of cards, in the active language: a
    storm builds a card per conversation of every batch, and each card translated five."""
    return {
        "platform": {value: str(label) for value, label in Platform.choices},
        "status": {value: str(label) for value, label in ConversationStatus.choices},
        "intent": {value: str(label) for value, label in Intent.choices},
        "priority": {value: str(label) for value, label in Priority.choices},
        "timer": {kind: str(label) for kind, label in RESPONSE_TIMER_LABELS.items()},
        "unknown_author": str(_("Unknown author")),
    }


def _card(row: dict[str, Any], username: str, labels: dict[str, Any]) -> dict[str, Any]:
    latest = row["latest_text"] or ""
    timer = response_timer_of(
        first_response_at=row["first_response_at"],
        response_due_at=row["response_due_at"],
        needs_reply=row["needs_reply"],
    )
    return {
        "id": row["pk"],
        "team_id": row["team_id"],
        "team": row["team__name"] or "",
        "assignee_id": row["assignee_id"],
        "assignee": display_name_of(
            row["assignee__first_name"], row["assignee__last_name"], row[username]
        ),
        "platform_code": row["account__platform"],
        "intent_code": row["intent"],
        "snoozed_until": _iso(row["snoozed_until"]),
        # A customer the platform gave no handle (an unknown author) reads by name.
        "customer": (
            f"@{row['customer__handle']}"
            if row["customer__handle"]
            else row["customer__display_name"] or labels["unknown_author"]
        ),
        "customer_name": row["customer__display_name"],
        "platform": labels["platform"].get(row["account__platform"], row["account__platform"]),
        "status": row["status"],
        "status_label": labels["status"].get(row["status"], row["status"]),
        "intent": labels["intent"].get(row["intent"], row["intent"]) if row["intent"] else "",
        "sentiment": row["sentiment"],
        "priority": row["priority"],
        "priority_label": labels["priority"].get(row["priority"], row["priority"]),
        "needs_reply": row["needs_reply"],
        "excerpt": latest[:EXCERPT_CHARS],
        "first_response_due_at": _iso(row["first_response_due_at"]),
        "first_response_at": _iso(row["first_response_at"]),
        "last_inbound_at": _iso(row["last_inbound_at"]),
        "waiting_since": _iso(row["waiting_since"]),
        "response_due_at": _iso(row["response_due_at"]),
        "response_timer": timer,
        "response_timer_label": labels["timer"].get(timer, ""),
        "url": f"/conversations/{row['pk']}/",
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
