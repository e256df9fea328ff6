"""Who may see what: the visibility rules every page, socket and report applies."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Conversation, Team

VIEW_ALL_CONVERSATIONS = "core.view_all_conversations"


def can_see_all_conversations(user: AbstractBaseUser) -> bool:
    return user.is_superuser or user.has_perm(VIEW_ALL_CONVERSATIONS)


def visible_team_ids(user: AbstractBaseUser) -> list[int]:
    if can_see_all_conversations(user):
        return list(Team.objects.values_list("pk", flat=True))
    return list(Team.objects.filter(agents__user=user).values_list("pk", flat=True))


def own_team_ids(user: AbstractBaseUser) -> list[int]:
    """The teams the user works in (whatever else they may see)."""
    return list(Team.objects.filter(agents__user=user).values_list("pk", flat=True))


def visible_conversations(user: AbstractBaseUser) -> QuerySet[Conversation]:
    conversations = Conversation.objects.all()
    if not can_see_all_conversations(user):
        conversations = conversations.filter(team__agents__user=user)
    return conversations
