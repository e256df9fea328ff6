"""The inbox's views and filters, shared by the inbox page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Intent,
    Platform,
    Priority,
)
from core.selectors import own_team_ids
from sla.models import TimerState
from sla.selectors import with_sla

from .selectors import (
    DEFAULT_SORT,
    INBOX_SORTS,
    no_reply_needed,
    not_snoozed,
    search_conversations,
    snoozed,
)

# The views that show the queue: what still needs work now (active, awake, needing a reply).
QUEUE_VIEWS = [
    ("mine", _("Mine")),
    ("team", _("My teams' queue")),
    ("unassigned", _("Unassigned")),
    ("all", _("All")),
]
# The views of what waits for something else: the customer (pending), a time (snoozed), or
# nobody (no reply needed: spam and chatter, where an agent can pull one back).
ASIDE_VIEWS = [
    ("pending", _("Pending")),
    ("snoozed", _("Snoozed")),
    ("noreply", _("No reply needed")),
]
INBOX_VIEWS = QUEUE_VIEWS + ASIDE_VIEWS
# Asking for ?status=snoozed means the Snoozed view (it is not a status a conversation has).
SNOOZED = "snoozed"


class ConversationFilter(django_filters.FilterSet):
    view = django_filters.ChoiceFilter(choices=INBOX_VIEWS, method="filter_view", empty_label=None)
    platform = django_filters.ChoiceFilter(field_name="account__platform", choices=Platform.choices)
    intent = django_filters.ChoiceFilter(choices=Intent.choices[1:])
    priority = django_filters.TypedChoiceFilter(choices=Priority.choices, coerce=int)
    status = django_filters.ChoiceFilter(
        choices=[*ConversationStatus.choices, (SNOOZED, _("Snoozed"))], method="filter_status"
    )
    sla = django_filters.ChoiceFilter(
        choices=[(state, label) for state, label in TimerState.choices if state != TimerState.MET],
        method="filter_sla",
        label=_("SLA"),
    )
    tag = django_filters.CharFilter(
        field_name="tags__name", lookup_expr="iexact", label=_("Tag"), distinct=True
    )
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    # Applied by the page (selectors.inbox_page), not here: the API pages by id.
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in INBOX_SORTS.items()],
        method="keep",
        empty_label=None,
    )

    # Set by a caller that has read the user's own teams already.
    own_team_ids: list[int] | None = None

    class Meta:
        model = Conversation
        fields = ["view", "platform", "intent", "priority", "status", "sla", "tag", "q", "sort"]

    def filter_view(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        user = self.request.user
        if value == "mine":
            return queryset.filter(assignee=user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value == "team":
            # The user's team ids as a list (the page passes those it has read): joined
            # through the agent's profile instead, the statement took the planner 4.6 ms
            # against 0.1 ms to run (docs/performance.md, "Live inbox rows").
            team_ids = self.own_team_ids
            if team_ids is None:
                team_ids = own_team_ids(user)
            return queryset.filter(team_id__in=team_ids)
        return queryset

    def keep(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == SNOOZED:
            return snoozed(queryset)
        return queryset.filter(status=value)

    def filter_sla(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The worst of the conversation's running timers: breached, at risk or on track.
        return with_sla(queryset).filter(sla_state=value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_conversations(queryset, value)

    @property
    def chosen_sort(self) -> str:
        return (self.form.cleaned_data.get("sort") if self.is_valid() else None) or DEFAULT_SORT

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        view = self.form.cleaned_data.get("view")
        if view == "pending":
            return queryset.filter(status=ConversationStatus.PENDING)
        if view == "snoozed":
            return snoozed(queryset)
        if view == "noreply":
            return no_reply_needed(queryset)
        # Without an explicit status, the inbox shows what still needs work now: active, not
        # snoozed into the future, and needing a reply.
        if not self.form.cleaned_data.get("status"):
            queryset = not_snoozed(queryset.filter(status__in=ACTIVE_STATUSES, needs_reply=True))
        return queryset
