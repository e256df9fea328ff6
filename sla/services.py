"""Starting and stopping SLA clocks on conversations.

For now clocks run around the clock (24/7); service windows and business-time arithmetic
come with the SLA issue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.models import Conversation

from .models import BEST_PRACTICE_FIRST_RESPONSE_MINUTES, SlaPolicy


def policy_for(conversation: Conversation) -> SlaPolicy | None:
    for policy in SlaPolicy.objects.filter(is_active=True):
        if policy.platform and policy.platform != conversation.account.platform:
            continue
        if policy.min_priority is not None and conversation.priority < policy.min_priority:
            continue
        return policy
    return None


def start_first_response_clock(conversation: Conversation) -> None:
    """Set when the first answer is due, once; the caller saves."""
    if conversation.first_response_due_at is not None or conversation.first_response_at:
        return
    policy = policy_for(conversation)
    minutes = policy.first_response_minutes if policy else BEST_PRACTICE_FIRST_RESPONSE_MINUTES
    conversation.first_response_due_at = conversation.created_at + timedelta(minutes=minutes)


def record_first_response(conversation: Conversation, *, responded_at: datetime) -> bool:
    """Stop the first-response clock at the brand's first reply; the caller saves.

    Returns whether this reply was the first.
    """
    if conversation.first_response_at is not None:
        return False
    conversation.first_response_at = responded_at
    return True
