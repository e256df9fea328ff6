"""Choosing the team queue for a conversation."""

from __future__ import annotations

from helpdesk.models import Conversation, Post, Team

from .models import RoutingRule


def rule_matches(rule: RoutingRule, *, conversation: Conversation, post: Post) -> bool:
    if rule.platform and rule.platform != post.platform:
        return False
    if rule.intent and rule.intent != post.intent:
        return False
    if rule.min_priority is not None and post.priority < rule.min_priority:
        return False
    keywords = rule.keyword_list
    text = post.text.lower()
    return not (keywords and not any(word in text for word in keywords))


def route_conversation(*, conversation: Conversation, post: Post) -> RoutingRule | None:
    """Send an unrouted conversation to the team of the first matching rule, or the default
    team. Returns the rule that matched (None for the default). The caller saves."""
    if conversation.team_id is not None:
        return conversation.routed_by
    for rule in RoutingRule.objects.filter(is_active=True).select_related("team"):
        if rule_matches(rule, conversation=conversation, post=post):
            conversation.team = rule.team
            conversation.routed_by = rule
            return rule
    conversation.team = Team.objects.filter(is_default=True).first()
    conversation.routed_by = None
    return None
