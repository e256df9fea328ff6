"""What agents do to a post on the platform beside answering it: like it, hide a comment,
delete the brand's own reply, block the author (and set the conversation aside as spam).

Each action asks the platform first, through the account's connector and outside any
transaction (a slow platform must not hold a row lock); only once the platform agreed is the
post's state saved, with a note saying who did what, and the open pages told after commit.
The post's state fields are in the audit log (settings.AUDITLOG_INCLUDE_TRACKING_MODELS).
A refusal, Parley's or the platform's, raises SocialActionRefused with the reason in words
and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Conversation, Customer, DeliveryStatus, Direction, Note, Post
from core.realtime import broadcast_conversation
from ingestion.connectors import SOCIAL_ACTIONS, Connector, ConnectorError, SocialAction
from ingestion.connectors import connector_for as _connector_for

from .services import _apply_needs_reply

logger = logging.getLogger(__name__)


class SocialActionRefused(ValidationError):
    """The action is not possible on this post, or the platform refused it; nothing changed."""


def actions_for(post: Post) -> frozenset[str]:
    """The social actions the post's platform allows on it now (reads no rows beyond the
    post and its customer): like an inbound public post, hide an inbound comment (a Meta
    comment; any public post on the demo platform), delete a published reply of the brand's,
    block an author not blocked yet. Private messages take none."""
    allowed = SOCIAL_ACTIONS.get(post.platform, frozenset())
    kind = post.raw.get("parley_kind", "post") if isinstance(post.raw, dict) else "post"
    if post.deleted_at is not None or kind == "message" or post.is_private:
        return frozenset()
    found = set()
    if post.direction == Direction.INBOUND and post.external_id:
        found.add(SocialAction.LIKE)
        if kind == "comment" or post.platform == "demo":
            found.add(SocialAction.HIDE)
        if post.customer is not None and post.customer.blocked_at is None:
            found.add(SocialAction.BLOCK)
    elif post.delivery_status == DeliveryStatus.SENT and post.external_id:
        found.add(SocialAction.DELETE)
    return frozenset(found & allowed)


def like_post(*, post_id: int, agent: AbstractBaseUser, liked: bool = True) -> Post:
    """Like (or unlike) a customer's post as the brand."""
    post = _post(post_id, SocialAction.LIKE)
    verb = _("like") if liked else _("unlike")
    _ask_platform(post, verb, lambda c: c.like_post(post_id=post.external_id, liked=liked))
    note = _("Liked the post of %(who)s.") if liked else _("Unliked the post of %(who)s.")
    return _save(post, agent, liked_at=timezone.now() if liked else None, note=note)


def hide_comment(*, post_id: int, agent: AbstractBaseUser, hidden: bool = True) -> Post:
    """Hide a customer's comment from everyone but its author (or show it again)."""
    post = _post(post_id, SocialAction.HIDE)
    verb = _("hide this comment") if hidden else _("show this comment again")
    _ask_platform(post, verb, lambda c: c.hide_comment(comment_id=post.external_id, hidden=hidden))
    note = (
        _("Hid the comment of %(who)s from the public.")
        if hidden
        else _("Showed the comment of %(who)s again.")
    )
    return _save(post, agent, hidden_at=timezone.now() if hidden else None, note=note)


def delete_reply(*, post_id: int, agent: AbstractBaseUser) -> Post:
    """Delete one of the brand's published replies on the platform; the thread keeps it,
    marked deleted, so the history stays whole."""
    post = _post(post_id, SocialAction.DELETE)
    _ask_platform(post, _("delete this reply"), lambda c: c.delete_post(post_id=post.external_id))
    return _save(
        post, agent, deleted_at=timezone.now(), note=_("Deleted the brand's reply to %(who)s.")
    )


def block_author(*, post_id: int, agent: AbstractBaseUser) -> Customer:
    """Block the post's author from the brand account and set the conversation aside as
    spam / no reply needed (its clocks dropped, as set_needs_reply does)."""
    post = _post(post_id, SocialAction.BLOCK)
    customer = post.customer
    _ask_platform(
        post, _("block this user"), lambda c: c.block_author(author_id=customer.external_id)
    )
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        locked.blocked_at = timezone.now()
        locked.save(update_fields=["blocked_at", "updated_at"])
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account", "customer")
            .get(pk=post.conversation_id)
        )
        Note.objects.create(
            conversation=conversation,
            author=agent,
            text=_("Blocked %(who)s on %(platform)s.")
            % {"who": _who(post), "platform": post.get_platform_display()},
        )
        _apply_needs_reply(conversation, False, agent=agent)
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="customer.blocked")
        )
    return locked


def _post(post_id: int, action: str) -> Post:
    try:
        post = Post.objects.select_related("conversation__account", "customer").get(pk=post_id)
    except Post.DoesNotExist as missing:
        raise SocialActionRefused(_("No such post.")) from missing
    if action not in actions_for(post):
        raise SocialActionRefused(_refusal(post, action))
    return post


def _refusal(post: Post, action: str) -> str:
    platform = post.get_platform_display()
    if post.deleted_at is not None:
        return _("This post was deleted on %(platform)s.") % {"platform": platform}
    if action not in SOCIAL_ACTIONS.get(post.platform, frozenset()):
        return _("%(platform)s does not let a brand %(action)s through its API.") % {
            "platform": platform,
            "action": action,
        }
    reasons = {
        SocialAction.LIKE: _("Only a customer's public post can be liked."),
        SocialAction.HIDE: _("Only a customer's comment can be hidden."),
        SocialAction.DELETE: _("Only a reply the brand published can be deleted."),
        SocialAction.BLOCK: _("This author is already blocked, or is not a customer."),
    }
    return reasons[action]


def _ask_platform(post: Post, verb: str, call: Callable[[Connector], None]) -> None:
    """Make the platform call; its refusal becomes SocialActionRefused, in words."""
    platform = post.get_platform_display()
    try:
        call(_connector_for(post.conversation.account))
    except ConnectorError as error:
        logger.info("%s refused to %s post %s: %s", platform, verb, post.pk, error)
        raise SocialActionRefused(
            _("%(platform)s refused to %(verb)s: %(reason)s")
            % {"platform": platform, "verb": verb, "reason": error}
        ) from error


def _save(post: Post, agent: AbstractBaseUser, *, note: str, **state) -> Post:
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        for field, value in state.items():
            setattr(locked, field, value)
        # save(), not update(): the audit log records the change and who made it.
        locked.save(update_fields=list(state))
        Note.objects.create(
            conversation_id=post.conversation_id,
            author=agent,
            text=note % {"who": _who(post)},
        )
        conversation_id = post.conversation_id
        transaction.on_commit(lambda: broadcast_conversation(conversation_id, event="post.social"))
    locked.customer = post.customer
    return locked


def _who(post: Post) -> str:
    if post.customer is not None and post.customer.handle:
        return f"@{post.customer.handle}"
    return _("the customer")


# What the agent's buttons and the API ask for, and what is said once it is done.
VERBS: dict[str, tuple[Callable[..., object], dict, str]] = {
    "like": (like_post, {"liked": True}, "Liked on %(platform)s."),
    "unlike": (like_post, {"liked": False}, "Like removed on %(platform)s."),
    "hide": (hide_comment, {"hidden": True}, "Comment hidden on %(platform)s."),
    "unhide": (hide_comment, {"hidden": False}, "Comment shown again on %(platform)s."),
    "delete": (delete_reply, {}, "Reply deleted on %(platform)s."),
    "block": (block_author, {}, "Author blocked on %(platform)s; set aside as spam."),
}


def perform(*, post_id: int, agent: AbstractBaseUser, verb: str) -> str:
    """Run the social action named `verb` (like, unlike, hide, unhide, delete, block) on the
    post; returns what was done, in words. Raises SocialActionRefused."""
    if verb not in VERBS:
        raise SocialActionRefused(
            _("Unknown action %(verb)s: use one of %(verbs)s.")
            % {"verb": verb, "verbs": ", ".join(VERBS)}
        )
    service, arguments, done = VERBS[verb]
    service(post_id=post_id, agent=agent, **arguments)
    platform = Post.objects.get(pk=post_id).get_platform_display()
    return _(done) % {"platform": platform}
