"""What agents do to a conversation: reply (publicly or privately), leave notes, move it
through its statuses; and snoozed conversations waking up."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import integrations
from core.models import (
    ACTIVE_STATUSES,
    PRIVATE_MESSAGE_CHAR_LIMIT,
    REPLY_CHAR_LIMITS,
    AgentProfile,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IntegrationEvent,
    Intent,
    Note,
    Post,
    ReplyTemplate,
    Tag,
    Team,
    reply_length,
)
from core.outbox import deliver_after_commit
from core.realtime import (
    broadcast_conversation,
    broadcast_conversations,
    notice,
    notify_users_after_commit,
    teams_left,
)
from core.reply_templates import TAKEN_PRIVATE_NOTE, render_reply_template, render_text
from core.selectors import display_name, emails_for_mentions
from routing.services import RoutingTable, apply_team_move, route_on_tag
from sla.services import (
    conversation_status_changed,
    drop_running_clocks,
    recompute_timers,
    record_first_response,
    start_clocks_now,
)

from .models import Macro, MacroAssign, SavedView

logger = logging.getLogger(__name__)

MENTION = re.compile(r"@([\w.+-]+)")


class StaleConversation(ValidationError):
    """The conversation changed after the agent opened it; they should look before sending."""


def send_reply(
    *,
    conversation_id: int,
    agent: AbstractBaseUser,
    text: str,
    seen_post_id: int | None = None,
    private: bool = False,
) -> Post:
    """Store the agent's reply and queue it for publishing on the platform.

    The first reply stops the first-response clock. `seen_post_id` is the newest post the
    agent had on screen: if a newer one arrived since, StaleConversation is raised and nothing
    is sent, so nobody answers a message they have not read.

    `private` takes the conversation private: `text` goes to the customer as a private message
    and a short public note (TAKEN_PRIVATE_NOTE) answers the public post, so onlookers see the
    brand responded. Both are stored, and sent, together.
    """
    text = text.strip()
    if not text:
        raise ValidationError(gettext("A reply needs some text."))
    now = timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account")
            .get(pk=conversation_id)
        )
        platform = conversation.account.platform
        if private:
            limit, length = PRIVATE_MESSAGE_CHAR_LIMIT, len(text)
        else:
            limit, length = REPLY_CHAR_LIMITS[platform], reply_length(platform, text)
        if length > limit:
            message = (
                gettext(
                    "%(platform)s private messages are limited to %(limit)s characters; "
                    "this one counts %(length)s."
                )
                if private
                else gettext(
                    "%(platform)s replies are limited to %(limit)s characters; "
                    "this one counts %(length)s."
                )
            )
            raise ValidationError(
                message
                % {
                    "platform": conversation.account.get_platform_display(),
                    "limit": limit,
                    "length": length,
                }
            )
        newest = conversation.posts.order_by("-id").values_list("pk", flat=True).first()
        if seen_post_id is not None and newest is not None and newest > seen_post_id:
            raise StaleConversation(
                gettext(
                    "New activity arrived since you opened this conversation. Read it, then send."
                )
            )
        answered = (
            conversation.posts.filter(direction=Direction.INBOUND)
            .order_by("-created_at", "-id")
            .values_list("external_id", flat=True)
            .first()
        )
        outbound = {
            "conversation": conversation,
            "direction": Direction.OUTBOUND,
            "platform": conversation.account.platform,
            "agent": agent,
            "in_reply_to": answered or "",
            "created_at": now,
            "delivery_status": DeliveryStatus.PENDING,
        }
        reply = Post.objects.create(text=text, is_private=private, **outbound)
        sent = [reply]
        if private:
            note = render_text(TAKEN_PRIVATE_NOTE, conversation=conversation, agent=agent)
            # Marked so the thread can tell the public note from an ordinary reply.
            sent.append(
                Post.objects.create(text=note, raw={"parley_outbound": "public_note"}, **outbound)
            )
        record_first_response(conversation, responded_at=now)
        if conversation.status == ConversationStatus.NEW:
            conversation.status = ConversationStatus.OPEN
        if conversation.assignee_id is None:
            conversation.assignee = agent
        conversation.save()
        for post in sent:
            deliver_after_commit(post.pk)
        transaction.on_commit(lambda: broadcast_conversation(conversation.pk, event="reply.sent"))
    return reply


def change_status(
    *, conversation_id: int, status: str, snooze_until: datetime | None = None
) -> Conversation:
    """Move a conversation to `status`. Resolving stamps the resolution time; snoozing hides
    it from the queue until `snooze_until`, at most SNOOZE_MAX_DAYS ahead (the audit log
    records who snoozed it until when)."""
    if status not in ConversationStatus.values:
        raise ValidationError(f"Unknown status {status!r}.")
    longest = timedelta(days=settings.SNOOZE_MAX_DAYS)
    if snooze_until is not None and snooze_until > timezone.now() + longest:
        raise ValidationError(
            gettext("A conversation can be snoozed for %(days)s days at most.")
            % {"days": settings.SNOOZE_MAX_DAYS}
        )
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        _apply_status(conversation, status, snooze_until=snooze_until)
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="conversation.status")
        )
    return conversation


def _apply_status(
    conversation: Conversation, status: str, *, snooze_until: datetime | None
) -> None:
    """Set the status (and snooze) of a locked conversation, save it, move its clocks."""
    was_resolved = conversation.status == ConversationStatus.RESOLVED
    conversation.status = status
    if status == ConversationStatus.RESOLVED and not was_resolved:
        integrations.emit(IntegrationEvent.CONVERSATION_RESOLVED, conversation)
    if status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
        conversation.resolved_at = conversation.resolved_at or timezone.now()
    else:
        conversation.resolved_at = None
    conversation.snoozed_until = snooze_until
    conversation.save()
    conversation_status_changed(conversation=conversation, at=timezone.now())


def set_needs_reply(
    *, conversation_id: int, needs_reply: bool, agent: AbstractBaseUser
) -> Conversation:
    """An agent's verdict on whether a conversation needs an answer.

    No reply needed (spam, chatter): the conversation leaves the queue for the "No reply
    needed" view, its intent becomes spam and its running clocks are dropped (they would
    count as met or breached in the reports). Needs a reply (pulled back from that view):
    it is open again in the queue, no longer spam, with its clocks running from now. Either
    way a note says who decided. Takes the conversation's row lock; broadcasts after commit.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account", "customer")
            .get(pk=conversation_id)
        )
        _apply_needs_reply(conversation, needs_reply, agent=agent)
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="conversation.needs_reply")
        )
    return conversation


def _apply_needs_reply(conversation: Conversation, needs_reply: bool, *, agent) -> None:
    """set_needs_reply on a locked conversation (with its account and customer)."""
    if conversation.needs_reply == needs_reply:
        return
    conversation.needs_reply = needs_reply
    if needs_reply:
        if conversation.intent in (Intent.SPAM, Intent.UNKNOWN):
            conversation.intent = Intent.OTHER
        if conversation.status not in ACTIVE_STATUSES:
            conversation.status = ConversationStatus.OPEN
            conversation.resolved_at = None
        start_clocks_now(conversation=conversation, at=timezone.now())
        verdict = "needs a reply"
    else:
        conversation.intent = Intent.SPAM
        drop_running_clocks(conversation=conversation)
        if conversation.first_response_at is None:
            conversation.first_response_due_at = None
        verdict = "needs no reply"
    conversation.save()
    Note.objects.create(conversation=conversation, author=agent, text=f"Marked as {verdict}.")


class BulkAction(models.TextChoices):
    ASSIGN = "assign", _("Assign")
    STATUS = "status", _("Change status")
    SNOOZE = "snooze", _("Snooze")
    TAG = "tag", _("Add tag")
    TEAM = "team", _("Move to team")
    SPAM = "spam", _("Mark spam / no reply needed")


# The most rows one bulk action takes: a page of the inbox.
BULK_MAX = 100


def bulk_update_conversations(
    *,
    conversation_ids: Sequence[int],
    agent: AbstractBaseUser,
    action: str,
    assignee: AbstractBaseUser | None = None,
    status: str = "",
    snooze_until: datetime | None = None,
    tag: str = "",
    team: Team | None = None,
) -> list[int]:
    """Apply one action to many conversations an agent selected in the inbox: assign (or,
    with assignee=None, unassign), change status, snooze until, add a tag, move to `team`
    (those in it already stay as they are), or mark spam.

    All or nothing: the conversations are locked in id order, each is changed and saved as
    the single-conversation services do (so the audit log records each change, and the SLA
    clocks follow), and if one cannot take the action (an assignee outside its team) none is
    changed and ValidationError says which. The inboxes hear once, after commit, with every
    card in one broadcast. The caller passes only conversations the agent may see. Returns
    the ids changed.
    """
    ids = sorted(set(conversation_ids))
    if not ids:
        raise ValidationError(gettext("Select at least one conversation."))
    if len(ids) > BULK_MAX:
        raise ValidationError(
            gettext("Select at most %(count)s conversations at once.") % {"count": BULK_MAX}
        )
    if action not in BulkAction.values:
        raise ValidationError(f"Unknown bulk action {action!r}.")
    if action == BulkAction.STATUS and status not in ConversationStatus.values:
        raise ValidationError(gettext("Choose the status to set."))
    if action == BulkAction.SNOOZE and snooze_until is None:
        raise ValidationError(gettext("Choose how long to snooze."))
    tag = tag.strip()
    if action == BulkAction.TAG and not tag:
        raise ValidationError(gettext("Name the tag to add."))
    if action == BulkAction.TEAM and team is None:
        raise ValidationError(gettext("Choose the team to move them to."))
    with transaction.atomic():
        conversations = list(
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account", "customer", "team")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        teams_before = {conversation.pk: conversation.team_id for conversation in conversations}
        if action == BulkAction.ASSIGN and assignee is not None:
            member_of = set(
                AgentProfile.objects.filter(user=assignee).values_list("teams", flat=True)
            )
            outside = [c.pk for c in conversations if c.team_id and c.team_id not in member_of]
            if outside:
                listed = ", ".join(f"#{pk}" for pk in outside)
                raise ValidationError(
                    gettext("%(agent)s is not in the team of %(listed)s: nothing changed.")
                    % {"agent": display_name(assignee), "listed": listed}
                )
        if action == BulkAction.TAG:
            label = Tag.objects.get_or_create(name=tag[:50])[0]
            routing = RoutingTable.load()
        for conversation in conversations:
            if action == BulkAction.ASSIGN:
                conversation.assignee = assignee
                conversation.save(update_fields=["assignee", "updated_at"])
                if assignee is not None:
                    integrations.emit(IntegrationEvent.CONVERSATION_ASSIGNED, conversation)
            elif action == BulkAction.STATUS:
                _apply_status(conversation, status, snooze_until=None)
            elif action == BulkAction.SNOOZE:
                _apply_status(conversation, conversation.status, snooze_until=snooze_until)
            elif action == BulkAction.TAG:
                conversation.tags.add(label)
                route_on_tag(conversation=conversation, table=routing)
            elif action == BulkAction.TEAM:
                if conversation.team_id != team.pk:
                    apply_team_move(conversation, team, by=agent)
            else:
                _apply_needs_reply(conversation, False, agent=agent)
        changed = [
            conversation.pk
            for conversation in conversations
            # A move leaves out those that were in the team already: nothing changed there.
            if action != BulkAction.TEAM or teams_before[conversation.pk] != team.pk
        ]
        if action == BulkAction.ASSIGN and assignee is not None and assignee.pk != agent.pk:
            count = len(changed)
            notify_users_after_commit(
                [assignee.pk],
                notice(
                    "assignment",
                    conversations[0],
                    key=f"bulk:{timezone.now().timestamp()}",
                    text=f"{display_name(agent)} assigned you {count} conversation"
                    f"{'s' if count != 1 else ''}.",
                    conversation_ids=changed,
                ),
            )
        left = teams_left(teams_before, conversations)
        transaction.on_commit(
            lambda: broadcast_conversations(changed, event="conversation.bulk", left_teams=left)
        )
    return changed


@dataclass(frozen=True)
class MacroResult:
    conversation: Conversation
    # The macro's reply template, filled in for this conversation ("" without one): the
    # agent checks it in the composer and sends it themselves.
    draft: str
    done: list[str]


def run_macro(*, conversation_id: int, macro_id: int, agent: AbstractBaseUser) -> MacroResult:
    """Run a macro on a conversation: add its tag, set its priority, assignee and status (in
    that order, in one transaction, each saved so the audit log records it; the SLA clocks
    follow a new priority and status), note who ran it, and return its template filled in.

    Refused with ValidationError, changing nothing, when the macro belongs to another team
    or would assign the conversation to an agent outside its team.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account", "customer")
            .get(pk=conversation_id)
        )
        macro = Macro.objects.select_related("template").get(pk=macro_id)
        if macro.team_id is not None and macro.team_id != conversation.team_id:
            raise ValidationError(
                gettext("The macro “%(name)s” is for another team.") % {"name": macro.name}
            )
        done = []
        if macro.add_tag:
            conversation.tags.add(Tag.objects.get_or_create(name=macro.add_tag)[0])
            done.append(f"tagged “{macro.add_tag}”")
            route_on_tag(conversation=conversation)
        if macro.set_priority is not None and macro.set_priority != conversation.priority:
            conversation.priority = macro.set_priority
            conversation.save(update_fields=["priority", "updated_at"])
            recompute_timers(conversation_id=conversation.pk, at=timezone.now())
            # It moved the first-response due time on its own copy of the row.
            conversation.refresh_from_db(fields=["first_response_due_at"])
            done.append(f"priority {conversation.get_priority_display()}")
        if macro.assign == MacroAssign.ME and conversation.assignee_id != agent.pk:
            in_team = AgentProfile.objects.filter(user=agent, teams=conversation.team_id)
            if conversation.team_id is not None and not in_team.exists():
                raise ValidationError(gettext("You are not in this conversation's team."))
            conversation.assignee = agent
            conversation.save(update_fields=["assignee", "updated_at"])
            integrations.emit(IntegrationEvent.CONVERSATION_ASSIGNED, conversation)
            done.append(f"assigned to {display_name(agent)}")
        elif macro.assign == MacroAssign.NOBODY and conversation.assignee_id is not None:
            conversation.assignee = None
            conversation.save(update_fields=["assignee", "updated_at"])
            done.append("unassigned")
        if macro.set_status and macro.set_status != conversation.status:
            _apply_status(conversation, macro.set_status, snooze_until=None)
            done.append(conversation.get_status_display())
        draft = ""
        if macro.template is not None:
            template = ReplyTemplate.objects.prefetch_related("variants").get(pk=macro.template_id)
            draft = render_reply_template(template, conversation=conversation, agent=agent)
            done.append(f"template “{template.name}” in the composer")
        Note.objects.create(
            conversation=conversation,
            author=agent,
            text=f"Ran the macro “{macro.name}”: {', '.join(done) or 'nothing to do'}.",
        )
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="conversation.macro")
        )
    return MacroResult(conversation=conversation, draft=draft, done=done)


def tag_conversation(
    *, conversation_id: int, agent: AbstractBaseUser, add: str = "", remove: str = ""
) -> Conversation:
    """Add a tag to a conversation (created if new) or remove one, beside triage's and the
    rules'; a note says who did it. Broadcast after commit."""
    add, remove = add.strip()[:50], remove.strip()
    if not add and not remove:
        raise ValidationError(gettext("Name the tag to add or remove."))
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        team_before = conversation.team_id
        if add:
            conversation.tags.add(Tag.objects.get_or_create(name=add)[0])
            Note.objects.create(conversation=conversation, author=agent, text=f"Tagged “{add}”.")
            # A rule may route conversations with this tag to its team.
            route_on_tag(conversation=conversation)
        if remove:
            tag = conversation.tags.filter(name=remove).first()
            if tag is None:
                raise ValidationError(
                    gettext("This conversation has no tag “%(tag)s”.") % {"tag": remove}
                )
            conversation.tags.remove(tag)
            Note.objects.create(
                conversation=conversation, author=agent, text=f"Removed the tag “{remove}”."
            )
        left = team_before if team_before != conversation.team_id else None
        transaction.on_commit(
            lambda: broadcast_conversation(
                conversation.pk, event="conversation.tags", left_team_id=left
            )
        )
    return conversation


def save_view(
    *, owner: AbstractBaseUser, name: str, query: str, shared_with_team_id: int | None = None
):
    """Save (or, under the same name, replace) the owner's inbox view: `query` is the inbox's
    query string, already checked by the caller. Sharing is only with a team the owner works
    in."""
    name = name.strip()
    if not name:
        raise ValidationError(gettext("Name the view."))
    if (
        shared_with_team_id is not None
        and not AgentProfile.objects.filter(user=owner, teams=shared_with_team_id).exists()
    ):
        raise ValidationError(gettext("You can only share a view with a team you work in."))
    view, _ = SavedView.objects.update_or_create(
        owner=owner,
        name=name[:60],
        defaults={"query": query[:500], "shared_with_id": shared_with_team_id},
    )
    return view


def delete_view(*, owner: AbstractBaseUser, view_id: int) -> None:
    """Delete one of the owner's saved views (a view shared with them is not theirs)."""
    deleted, _ = SavedView.objects.filter(pk=view_id, owner=owner).delete()
    if not deleted:
        raise ValidationError(gettext("No such view of yours."))


def wake_snoozed_conversations(*, now: datetime) -> list[int]:
    """Bring back the conversations whose snooze has ended: the snooze is cleared and the
    inboxes hear of them, so they reappear live rather than on the next page load. Returns
    their ids; a beat task runs this every SNOOZE_WAKE_SECONDS."""
    with transaction.atomic():
        woken = list(
            Conversation.objects.select_for_update(skip_locked=True)
            .filter(snoozed_until__lte=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:WAKE_BATCH]
        )
        if not woken:
            return []
        Conversation.objects.filter(pk__in=woken).update(snoozed_until=None, updated_at=now)
        transaction.on_commit(lambda: broadcast_conversations(woken, event="conversation.woke"))
    return woken


# Woken per run at most; the next run takes the rest.
WAKE_BATCH = 500


def add_note(*, conversation_id: int, author: AbstractBaseUser, text: str) -> Note:
    """A private note; @username mentions of colleagues are recorded for their attention,
    and each one mentioned (but the author) hears of it live. The open pages of the
    conversation show the note after commit."""
    text = text.strip()
    if not text:
        raise ValidationError(gettext("A note needs some text."))
    with transaction.atomic():
        note = Note.objects.create(conversation_id=conversation_id, author=author, text=text)
        handles = set(MENTION.findall(text))
        if handles:
            mentioned = list(get_user_model().objects.filter(username__in=handles))
            note.mentions.set(mentioned)
            notify_users_after_commit(
                [user.pk for user in mentioned if user.pk != author.pk],
                notice(
                    "mention",
                    note.conversation,
                    key=note.pk,
                    text=f"{_name(author)} mentioned you in a note: {text[:140]}",
                ),
            )
            _email_mentions(note, [user.pk for user in mentioned if user.pk != author.pk])
        transaction.on_commit(lambda: broadcast_conversation(conversation_id, event="note.added"))
    return note


def _email_mentions(note: Note, user_ids: list[int]) -> None:
    """E-mail, after commit, those mentioned who asked for it on their profile page."""
    recipients = emails_for_mentions(user_ids)
    if not recipients:
        return
    subject = f"{_name(note.author)} mentioned you on conversation #{note.conversation_id}"
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/conversations/{note.conversation_id}/"
    body = f"{note.text}\n\n{link}"

    def send() -> None:
        try:
            send_mail(subject, body, None, recipients)
        except Exception:
            # The note is saved and the in-page notice sent; a mail server down loses the mail.
            logger.exception("Could not e-mail the mention in note %s", note.pk)

    transaction.on_commit(send)


def _name(user: AbstractBaseUser) -> str:
    return display_name(user)
