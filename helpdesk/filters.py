"""The inbox's views and filters, shared by the inbox page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Intent,
    Platform,
    Post,
    Priority,
)
from sla.models import TimerState
from sla.selectors import with_sla

from .selectors import not_snoozed

INBOX_VIEWS = [
    ("mine", "Mine"),
    ("team", "My teams' queue"),
    ("unassigned", "Unassigned"),
    ("all", "All"),
]


class ConversationFilter(django_filters.FilterSet):
    view = django_filters.ChoiceFilter(choices=INBOX_VIEWS, method="filter_view", empty_label=None)
    platform = django_filters.ChoiceFilter(field_name="account__platform", choices=Platform.choices)
    intent = django_filters.ChoiceFilter(choices=Intent.choices[1:])
    priority = django_filters.TypedChoiceFilter(choices=Priority.choices, coerce=int)
    status = django_filters.ChoiceFilter(choices=ConversationStatus.choices, method="filter_status")
    sla = django_filters.ChoiceFilter(
        choices=[(state, label) for state, label in TimerState.choices if state != TimerState.MET],
        method="filter_sla",
        label="SLA",
    )
    q = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Conversation
        fields = ["view", "platform", "intent", "priority", "status", "sla", "q"]

    def filter_view(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        user = self.request.user
        if value == "mine":
            return queryset.filter(assignee=user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value == "team":
            return queryset.filter(team__agents__user=user)
        return queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(status=value)

    def filter_sla(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The worst of the conversation's running timers: breached, at risk or on track.
        return with_sla(queryset).filter(sla_state=value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lstrip("@")
        if not value:
            return queryset
        matching_post = Post.objects.filter(conversation=OuterRef("pk"), text__icontains=value)
        return queryset.filter(
            Q(customer__handle__icontains=value)
            | Q(customer__display_name__icontains=value)
            | Exists(matching_post)
        )

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        # Without an explicit status, the inbox shows what still needs work now: active, and
        # not snoozed into the future.
        if not self.form.cleaned_data.get("status"):
            queryset = not_snoozed(queryset.filter(status__in=ACTIVE_STATUSES))
        return queryset
