"""Closing open sockets when what their user may see changes: teams joined or left, roles and
permissions changed, the account deactivated or deleted, the session logged out.

Sockets are checked and grouped when they connect (helpdesk.consumers); these receivers close
them after commit (core.realtime.close_user_sockets) and the pages reconnect, checked anew.
Connected once, from HelpdeskConfig.ready.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.models import AgentProfile
from core.realtime import close_user_sockets

_CHANGES = ("post_add", "post_remove", "pre_clear")


def _close_after_commit(user_ids: Iterable[int], *, session_key: str = "") -> None:
    for user_id in set(user_ids):
        transaction.on_commit(
            lambda user_id=user_id: close_user_sockets(user_id, session_key=session_key)
        )


def _teams_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in _CHANGES:
        return
    if not reverse:  # an agent's teams changed
        _close_after_commit([instance.user_id])
    elif action == "pre_clear":  # a team lost all its agents
        _close_after_commit(instance.agents.values_list("user_id", flat=True))
    else:  # agents added to or removed from a team
        _close_after_commit(
            AgentProfile.objects.filter(pk__in=pk_set).values_list("user_id", flat=True)
        )


def _roles_changed(sender, instance, action, reverse, pk_set, model, **kwargs) -> None:
    """A user's groups or permissions (forward), or the users of a group (reverse)."""
    if action not in _CHANGES:
        return
    User = get_user_model()
    if isinstance(instance, User):
        _close_after_commit([instance.pk])
    elif action == "pre_clear":
        _close_after_commit(instance.user_set.values_list("pk", flat=True))
    elif model is User:
        _close_after_commit(pk_set or ())


def _user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    """Any change to an account (deactivated, superuser or staff status taken away) may narrow
    what it sees; a login's `last_login` stamp does not, and closes nothing."""
    if created or (update_fields and set(update_fields) <= {"last_login"}):
        return
    _close_after_commit([instance.pk])


def _user_deleted(sender, instance, **kwargs) -> None:
    _close_after_commit([instance.pk])


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None and request is not None:
        # Sent before the session is flushed: its key still names the sockets it opened.
        _close_after_commit([user.pk], session_key=request.session.session_key or "")


def connect() -> None:
    User = get_user_model()
    m2m_changed.connect(
        _teams_changed, sender=AgentProfile.teams.through, dispatch_uid="parley-sockets-teams"
    )
    m2m_changed.connect(
        _roles_changed, sender=User.groups.through, dispatch_uid="parley-sockets-groups"
    )
    m2m_changed.connect(
        _roles_changed,
        sender=User.user_permissions.through,
        dispatch_uid="parley-sockets-permissions",
    )
    post_save.connect(_user_saved, sender=User, dispatch_uid="parley-sockets-user-saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="parley-sockets-user-deleted")
    user_logged_out.connect(_logged_out, dispatch_uid="parley-sockets-logout")
