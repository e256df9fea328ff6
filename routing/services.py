"""Choosing the team queue for a conversation, and the agent who works it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext

from core import integrations
from core.bulk import update_rows
from core.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    AssignmentStrategy,
    Conversation,
    ConversationStatus,
    Customer,
    IntegrationEvent,
    Note,
    Post,
    Tag,
    Team,
)
from core.realtime import broadcast_conversation, notice, notify_users_after_commit
from core.selectors import display_name
from triage.services import classify_text

from .models import INFLUENCER_FOLLOWERS, RoutingRule


def rule_matches(
    rule: RoutingRule,
    *,
    conversation: Conversation,
    post: Post,
    tags: Collection[str] | None = None,
) -> bool:
    """Whether every condition of `rule` holds for `post` in `conversation`. `tags` are the
    conversation's tag names; read from it when a rule asks for one and they are not given."""
    customer = post.customer or conversation.customer
    if rule.has_tag:
        if tags is None:
            tags = _tag_names(conversation)
        if rule.has_tag.lower() not in {name.lower() for name in tags}:
            return False
    checks = [
        not rule.platform or rule.platform == post.platform,
        not rule.account_id or rule.account_id == conversation.account_id,
        not rule.intent or rule.intent == post.intent,
        not rule.sentiment or rule.sentiment == post.sentiment,
        rule.min_priority is None or post.priority >= rule.min_priority,
        not rule.reason
        or any(rule.reason.lower() in reason.lower() for reason in post.triage_reasons),
        not rule.influencers_only
        or customer.is_verified
        or customer.follower_count >= INFLUENCER_FOLLOWERS,
    ]
    keywords = rule.keyword_list
    if keywords:
        text = post.text.lower()
        checks.append(any(word in text for word in keywords))
    return all(checks)


def _tag_names(conversation: Conversation) -> list[str]:
    if conversation.pk is None:
        return []
    return list(conversation.tags.values_list("name", flat=True))


@dataclass(frozen=True)
class RoutingTable:
    """The active rules, in order, and the default queue: read once for a batch of posts."""

    rules: list[RoutingRule]
    default_team: Team | None

    @classmethod
    def load(cls) -> RoutingTable:
        return cls(
            rules=list(RoutingRule.objects.filter(is_active=True).select_related("team")),
            default_team=Team.objects.filter(is_default=True).first(),
        )


def first_matching_rule(
    *,
    conversation: Conversation,
    post: Post,
    table: RoutingTable | None = None,
    tags: Collection[str] | None = None,
) -> RoutingRule | None:
    table = table or RoutingTable.load()
    if tags is None and any(rule.has_tag for rule in table.rules):
        tags = _tag_names(conversation)  # once for all the rules, not once each
    for rule in table.rules:
        if rule_matches(rule, conversation=conversation, post=post, tags=tags):
            return rule
    return None


def route_conversation(
    *, conversation: Conversation, post: Post, table: RoutingTable | None = None
) -> RoutingRule | None:
    """Send an unrouted conversation to the team of the first matching rule (or the default
    queue) and apply the rule's other actions. Returns the rule (None for the default).

    A conversation already in a queue stays there: moving it is an agent's decision. The
    caller holds the conversation's row lock and saves it.
    """
    if conversation.team_id is not None:
        return conversation.routed_by
    table = table or RoutingTable.load()
    rule = first_matching_rule(conversation=conversation, post=post, table=table)
    conversation.routed_by = rule
    conversation.team = (rule.team if rule else None) or table.default_team
    if rule is None:
        return None
    if rule.set_priority is not None:
        conversation.priority = rule.set_priority
    if rule.no_reply_needed:
        conversation.needs_reply = False
        conversation.status = ConversationStatus.RESOLVED
        conversation.resolved_at = timezone.now()
    if rule.tag_list:
        tags = [Tag.objects.get_or_create(name=name)[0] for name in rule.tag_list]
        conversation.tags.add(*tags)
    return rule


def reroute_on_priority_rise(
    *, conversation: Conversation, post: Post, table: RoutingTable | None = None
) -> RoutingRule | None:
    """Decide routing again for a routed conversation whose priority `post` just raised.

    Only a rule that asks for that priority (min_priority) can move it, and only to another
    team: a rise never sends a conversation back to where lower priority would. An
    unassigned conversation moves (auto-assignment then follows the new team's strategy);
    one an agent holds stays with them, and a note in the conversation says which rule
    would have moved it, so nobody loses work silently. Returns the rule that matched, or
    None. The caller holds the conversation's row lock and saves it.
    """
    table = table or RoutingTable.load()
    rule = first_matching_rule(conversation=conversation, post=post, table=table)
    if rule is None or rule.min_priority is None or conversation.priority < rule.min_priority:
        return None
    team = rule.team or table.default_team
    if team is None or team.pk == conversation.team_id:
        return None
    priority = conversation.get_priority_display()
    if conversation.assignee_id is not None:
        Note.objects.create(
            conversation=conversation,
            author=None,
            text=(
                f"Priority rose to {priority}: rule “{rule.name}” sends this to {team.name}. "
                "Kept with its assignee; reassign if they cannot take it."
            ),
        )
        return rule
    conversation.team = team
    conversation.routed_by = rule
    if rule.set_priority is not None:
        conversation.priority = max(conversation.priority, rule.set_priority)
    Note.objects.create(
        conversation=conversation,
        author=None,
        text=f"Priority rose to {priority}: rule “{rule.name}” moved this to {team.name}.",
    )
    return rule


def route_on_tag(
    *, conversation: Conversation, table: RoutingTable | None = None
) -> RoutingRule | None:
    """An agent tagged the conversation: the first active rule that asks for one of its
    tags (has_tag) and whose other conditions hold for its latest customer post sends it to
    the rule's team. Rules without a tag condition are not asked again: they had their say
    on the first post. As with a priority rise, a conversation an agent holds stays with
    them and a note says which rule would have moved it. Returns the rule that matched, or
    None. The caller holds the conversation's row lock; this saves it when it moves.
    """
    table = table or RoutingTable.load()
    tag_rules = [rule for rule in table.rules if rule.has_tag]
    if not tag_rules:
        return None
    post = (
        conversation.posts.filter(direction="inbound")
        .select_related("customer")
        .order_by("-created_at", "-id")
        .first()
    )
    if post is None:
        return None
    tags = _tag_names(conversation)
    rule = next(
        (
            rule
            for rule in tag_rules
            if rule_matches(rule, conversation=conversation, post=post, tags=tags)
        ),
        None,
    )
    if rule is None:
        return None
    team = rule.team or table.default_team
    if team is None or team.pk == conversation.team_id:
        return None
    if conversation.assignee_id is not None:
        Note.objects.create(
            conversation=conversation,
            author=None,
            text=(
                f"Tagged “{rule.has_tag}”: rule “{rule.name}” sends this to {team.name}. "
                "Kept with its assignee; reassign if they cannot take it."
            ),
        )
        return rule
    conversation.team = team
    conversation.routed_by = rule
    conversation.save(update_fields=["team", "routed_by", "updated_at"])
    Note.objects.create(
        conversation=conversation,
        author=None,
        text=f"Tagged “{rule.has_tag}”: rule “{rule.name}” moved this to {team.name}.",
    )
    return rule


def auto_assign(*, conversation: Conversation) -> AbstractBaseUser | None:
    """Give an unassigned conversation to an online agent of its team (see auto_assign_many).
    The caller holds the conversation's row lock and saves it."""
    auto_assign_many([conversation])
    return conversation.assignee if conversation.assignee_id else None


def auto_assign_many(conversations: Sequence[Conversation]) -> int:
    """Give unassigned conversations to online agents of their teams, by each team's
    strategy, among agents under their capacity; returns how many were assigned. The caller
    holds the conversations' row locks and saves them.

    Each team's row is locked for the choice, so two workers assigning in the same team see
    each other's assignments and never overfill an agent. Within one call the agents' loads
    are counted once and kept up to date as conversations are handed out.
    """
    waiting: dict[int, list[Conversation]] = {}
    for conversation in conversations:
        if not conversation.assignee_id and conversation.team_id and conversation.needs_reply:
            waiting.setdefault(conversation.team_id, []).append(conversation)
    if not waiting:
        return 0
    now = timezone.now()
    chosen: dict[int, AgentProfile] = {}
    assigned: list[Conversation] = []
    # Teams locked in id order: concurrent batches never wait on each other crosswise.
    # Teams whose agents pick from the queue are left unlocked.
    teams = (
        Team.objects.select_for_update()
        .filter(pk__in=waiting)
        .exclude(assignment_strategy=AssignmentStrategy.MANUAL)
        .order_by("pk")
    )
    for team in teams:
        agents = list(_available_agents(team))
        for conversation in waiting[team.pk]:
            open_agents = [agent for agent in agents if agent.load < agent.capacity]
            if not open_agents:
                break
            profile = min(open_agents, key=_assignment_order(team))
            conversation.assignee = profile.user
            profile.load += 1
            # Distinct instants keep the round-robin turning within the batch.
            profile.last_assigned_at = now + timedelta(microseconds=len(assigned))
            chosen[profile.pk] = profile
            assigned.append(conversation)
    if chosen:
        update_rows(chosen.values(), ["last_assigned_at"])
    integrations.emit_many(IntegrationEvent.CONVERSATION_ASSIGNED, assigned)
    return len(assigned)


def _available_agents(team: Team):
    """The team's online agents under their capacity, with their current load."""
    return (
        AgentProfile.objects.filter(teams=team, is_online=True, user__is_active=True)
        .annotate(
            load=Count(
                "user__assigned_conversations",
                filter=Q(user__assigned_conversations__status__in=ACTIVE_STATUSES),
            )
        )
        .filter(load__lt=F("capacity"))
        .select_related("user")
    )


def _assignment_order(team: Team):
    """Who goes first: the agent waiting longest (never assigned first), or for least-loaded
    teams the one with fewest open conversations, then the one waiting longest."""

    def longest_waiting(profile: AgentProfile) -> tuple:
        waited = profile.last_assigned_at
        return (0, 0, profile.pk) if waited is None else (1, waited, profile.pk)

    if team.assignment_strategy == AssignmentStrategy.LEAST_LOADED:
        return lambda profile: (profile.load, *longest_waiting(profile))
    return longest_waiting


def assign_conversation(
    *,
    conversation_id: int,
    agent: AbstractBaseUser | None,
    expected_assignee_id: int | None,
    by: AbstractBaseUser | None = None,
) -> Conversation:
    """Assign (or, with agent=None, unassign) by hand.

    `expected_assignee_id` is who the acting user saw as assignee; if someone else changed it
    meanwhile, refuse rather than silently take the conversation from them. An agent given a
    conversation by someone else (`by`) hears of it live.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        if conversation.assignee_id != expected_assignee_id:
            raise ValidationError(
                gettext("Someone else changed the assignee meanwhile; reload to see.")
            )
        if agent is not None and conversation.team_id is not None:
            in_team = AgentProfile.objects.filter(user=agent, teams=conversation.team_id)
            if not in_team.exists():
                raise ValidationError(
                    gettext("%(agent)s is not in this conversation's team.")
                    % {"agent": agent.get_username()}
                )
        conversation.assignee = agent
        conversation.save(update_fields=["assignee", "updated_at"])
        if agent is not None:
            integrations.emit(IntegrationEvent.CONVERSATION_ASSIGNED, conversation)
            if by is not None and by.pk != agent.pk:
                notify_users_after_commit(
                    [agent.pk],
                    notice(
                        "assignment",
                        conversation,
                        key=f"{agent.pk}:{timezone.now().timestamp()}",
                        text=f"{display_name(by)} assigned you conversation #{conversation.pk}.",
                    ),
                )
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="conversation.assigned")
        )
    return conversation


def move_to_team(*, conversation_id: int, team: Team, by: AbstractBaseUser) -> Conversation:
    """An agent hands a conversation to another team's queue (a billing question that landed
    with delivery), as Zendesk's group or Chatwoot's team field does (apply_team_move says
    what a move does). The team it left hears of it at commit, so their inboxes drop the row.
    Refused with ValidationError when it is in that team already.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("team")
            .get(pk=conversation_id)
        )
        if conversation.team_id == team.pk:
            raise ValidationError(
                gettext("This conversation is in %(team)s already.") % {"team": team.name}
            )
        left_team_id = apply_team_move(conversation, team, by=by)
        transaction.on_commit(
            lambda: broadcast_conversation(
                conversation.pk, event="conversation.moved", left_team_id=left_team_id
            )
        )
    return conversation


def apply_team_move(conversation: Conversation, team: Team, *, by: AbstractBaseUser) -> int | None:
    """Move a conversation whose row the caller holds locked into `team`'s queue and save it;
    the id of the team it left. The caller broadcasts.

    Its assignee keeps it when they work in the new team too; otherwise it goes to the new
    queue unassigned, where the team's assignment strategy may give it to one of its online
    agents. The SLA clocks run on: the customer is still waiting. A note says who moved it
    from where, and the assignee who lost it hears of it (unless they moved it).
    """
    left = conversation.team
    dropped = None
    if (
        conversation.assignee_id is not None
        and not AgentProfile.objects.filter(user_id=conversation.assignee_id, teams=team).exists()
    ):
        dropped, conversation.assignee = conversation.assignee_id, None
    conversation.team = team
    conversation.routed_by = None
    if conversation.assignee_id is None and conversation.status in ACTIVE_STATUSES:
        auto_assign(conversation=conversation)
    conversation.save(update_fields=["team", "routed_by", "assignee", "updated_at"])
    Note.objects.create(
        conversation=conversation,
        author=by,
        text=f"{display_name(by)} moved this from {left.name if left else 'no team'} "
        f"to {team.name}.",
    )
    if dropped is not None and dropped != by.pk:
        # Someone else took it off their hands: they hear it, as they hear of assignments.
        notify_users_after_commit(
            [dropped],
            notice(
                "moved",
                conversation,
                key=f"{team.pk}:{timezone.now().timestamp()}",
                text=f"{display_name(by)} moved conversation #{conversation.pk} to "
                f"{team.name}; it is no longer yours.",
                # No link: outside that team they may not open it any more.
                url="",
            ),
        )
    return left.pk if left else None


def set_agent_online(*, agent: AbstractBaseUser, online: bool) -> list[int]:
    """Mark an agent on- or offline. Going offline returns their unanswered conversations to
    the queue, where auto-assignment gives them to colleagues. Returns the ids returned."""
    with transaction.atomic():
        AgentProfile.objects.filter(user=agent).update(is_online=online)
        if online:
            return []
        returned = list(
            Conversation.objects.select_for_update()
            .filter(assignee=agent, status__in=ACTIVE_STATUSES, first_response_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for conversation in Conversation.objects.select_for_update().filter(pk__in=returned):
            conversation.assignee = None
            auto_assign(conversation=conversation)
            conversation.save(update_fields=["assignee", "updated_at"])
        for conversation_id in returned:
            transaction.on_commit(
                lambda pk=conversation_id: broadcast_conversation(pk, event="conversation.assigned")
            )
    return returned


@dataclass(frozen=True)
class RuleTrial:
    intent: str
    sentiment: str
    priority: int
    reasons: list[str]
    matches: bool
    first_matching_rule: RoutingRule | None


def try_rule(
    rule: RoutingRule,
    *,
    text: str,
    platform: str,
    follower_count: int,
    is_verified: bool,
    tags: str = "",
) -> RuleTrial:
    """What triage makes of a sample post, whether `rule` would route it, and which rule
    actually would (an earlier one may win). `tags`: the sample conversation's tags,
    comma-separated. Nothing is stored."""
    tag_names = [name.strip() for name in tags.split(",") if name.strip()]
    tags = classify_text(text, follower_count=follower_count, is_verified=is_verified)
    customer = Customer(
        platform=platform, handle="sample", follower_count=follower_count, is_verified=is_verified
    )
    conversation = Conversation(customer=customer, account_id=rule.account_id)
    post = Post(
        platform=platform,
        text=text,
        customer=customer,
        intent=tags.intent,
        sentiment=tags.sentiment,
        priority=tags.priority,
        triage_reasons=tags.reasons,
    )
    return RuleTrial(
        intent=tags.intent,
        sentiment=tags.sentiment,
        priority=tags.priority,
        reasons=list(tags.reasons),
        matches=rule_matches(rule, conversation=conversation, post=post, tags=tag_names),
        first_matching_rule=first_matching_rule(
            conversation=conversation, post=post, tags=tag_names
        ),
    )
