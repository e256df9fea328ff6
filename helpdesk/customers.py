"""The customer panel's actions: agents' notes on a customer, and merging (or unmerging) a
profile of the same person on another platform into this customer.

A merge confirms the link between two identities (ingestion.CustomerLink): the panel then
lists both identities' conversations as one history. Unmerge puts the link back to a
suggestion, so each identity's history is its own again. Notes and links are in the audit
log (settings.AUDITLOG_INCLUDE_TRACKING_MODELS); each change also leaves a note on the
conversation it was made from, and the pages open on the customer's conversations hear of
it after commit.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from core.models import Conversation, Customer, Note
from core.realtime import broadcast_conversations
from ingestion.models import CustomerLink, LinkStatus

# Long enough for what a colleague must know; a CRM it is not.
CUSTOMER_NOTES_MAX = 2000
# Open pages told at most: the customer's latest conversations.
BROADCAST_LIMIT = 50


def update_notes(
    *, customer_id: int, agent: AbstractBaseUser, notes: str, conversation_id: int | None = None
) -> Customer:
    """Save the agents' notes on a customer (the audit log keeps each version)."""
    notes = notes.strip()
    if len(notes) > CUSTOMER_NOTES_MAX:
        raise ValidationError(
            _("Customer notes are limited to %(limit)d characters; these have %(count)d.")
            % {"limit": CUSTOMER_NOTES_MAX, "count": len(notes)}
        )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.notes == notes:
            return customer
        customer.notes = notes
        customer.save(update_fields=["notes", "updated_at"])
        if conversation_id is not None:
            Note.objects.create(
                conversation_id=conversation_id,
                author=agent,
                text=_("Updated the notes on @%(handle)s.") % {"handle": customer.handle},
            )
        _tell_pages([customer.pk], event="customer.notes")
    return customer


def merge_profile(
    *, link_id: int, customer_id: int, agent: AbstractBaseUser, conversation_id: int | None = None
) -> CustomerLink:
    """Merge the suggested identity of link `link_id` into customer `customer_id`: the link
    is confirmed and the two identities share one history."""
    return _set_link(
        link_id=link_id,
        customer_id=customer_id,
        agent=agent,
        conversation_id=conversation_id,
        status=LinkStatus.CONFIRMED,
    )


def unmerge_profile(
    *, link_id: int, customer_id: int, agent: AbstractBaseUser, conversation_id: int | None = None
) -> CustomerLink:
    """Undo a merge: the link is a suggestion again and each identity keeps its own history."""
    return _set_link(
        link_id=link_id,
        customer_id=customer_id,
        agent=agent,
        conversation_id=conversation_id,
        status=LinkStatus.SUGGESTED,
    )


def _set_link(
    *,
    link_id: int,
    customer_id: int,
    agent: AbstractBaseUser,
    conversation_id: int | None,
    status: str,
) -> CustomerLink:
    with transaction.atomic():
        link = (
            CustomerLink.objects.select_for_update(of=("self",))
            .select_related("customer", "other")
            .filter(Q(customer_id=customer_id) | Q(other_id=customer_id))
            .filter(pk=link_id)
            .first()
        )
        if link is None:
            raise ValidationError(_("This profile is not linked to the customer."))
        merging = status == LinkStatus.CONFIRMED
        if merging and link.status == LinkStatus.CONFIRMED:
            raise ValidationError(_("This profile is already merged."))
        if not merging and link.status != LinkStatus.CONFIRMED:
            raise ValidationError(_("This profile is not merged."))
        link.status = status
        # save(), not update(): the audit log records who merged or unmerged.
        link.save(update_fields=["status"])
        other = link.other if link.customer_id == customer_id else link.customer
        if conversation_id is not None:
            text = (
                _("Merged the profile %(profile)s into this customer.")
                if merging
                else _("Unmerged the profile %(profile)s from this customer.")
            )
            Note.objects.create(
                conversation_id=conversation_id, author=agent, text=text % {"profile": other}
            )
        _tell_pages([link.customer_id, link.other_id], event="customer.merge")
    return link


def _tell_pages(customer_ids: list[int], *, event: str) -> None:
    """After commit, the pages open on these customers' latest conversations refresh."""
    ids = list(
        Conversation.objects.filter(customer_id__in=customer_ids)
        .order_by("-pk")
        .values_list("pk", flat=True)[:BROADCAST_LIMIT]
    )
    if ids:
        transaction.on_commit(lambda: broadcast_conversations(ids, event=event))
