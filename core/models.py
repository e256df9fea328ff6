"""The domain every stage shares: teams and agents, customers, conversations and their posts.

These models were born in the `helpdesk` app and kept their tables when they moved here
(`db_table`; migrations helpdesk 0012 and core 0001 move them in Django's state only).
"""

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from twitter_text import parse_tweet

from .fields import EncryptedJSONField


class Platform(models.TextChoices):
    DEMO = "demo", _("Demo")
    TWITTER = "twitter", _("X / Twitter")
    FACEBOOK = "facebook", _("Facebook")
    INSTAGRAM = "instagram", _("Instagram")


# The longest private message (DM, Messenger) any platform accepts, in characters.
PRIVATE_MESSAGE_CHAR_LIMIT = 2000

# The longest public reply each platform accepts, as it counts length (reply_length).
REPLY_CHAR_LIMITS = {
    Platform.DEMO: 280,
    Platform.TWITTER: 280,
    Platform.FACEBOOK: 8000,
    Platform.INSTAGRAM: 2200,
}


def reply_length(platform: str, text: str) -> int:
    """The length of `text` as `platform` counts it against REPLY_CHAR_LIMITS. X weighs a
    tweet (twitter-text): every link counts 23 characters, and CJK characters and most
    emoji count 2. The others count characters."""
    if platform == Platform.TWITTER:
        return parse_tweet(text).weightedLength
    return len(text)


class Intent(models.TextChoices):
    UNKNOWN = "", _("Not triaged")
    QUESTION = "question", _("Question")
    REQUEST = "request", _("Request")
    COMPLAINT = "complaint", _("Complaint")
    COMPLIMENT = "compliment", _("Compliment")
    FEEDBACK = "feedback", _("Feedback")
    SPAM = "spam", _("Spam / no reply needed")
    OTHER = "other", _("Other")


class Sentiment(models.TextChoices):
    UNKNOWN = "", _("Not triaged")
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class AssignmentStrategy(models.TextChoices):
    MANUAL = "manual", _("Manual: agents pick from the queue")
    ROUND_ROBIN = "round_robin", _("Round-robin among online agents")
    LEAST_LOADED = "least_loaded", _("Least-loaded online agent")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    is_default = models.BooleanField(
        default=False, help_text="Catches every conversation no routing rule sends elsewhere."
    )
    assignment_strategy = models.CharField(
        max_length=20, choices=AssignmentStrategy.choices, default=AssignmentStrategy.MANUAL
    )

    class Meta:
        db_table = "helpdesk_team"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_team"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    teams = models.ManyToManyField(Team, related_name="agents", blank=True)
    capacity = models.PositiveSmallIntegerField(
        default=10, help_text="How many open conversations this agent can hold at once."
    )
    is_online = models.BooleanField(default=False)
    # Round-robin hands the next conversation to the online agent who waited longest.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # Chosen on the profile page; empty means "as the browser says" (Accept-Language) and
    # "the server's TIME_ZONE". Applied per request by parley.agent_locale.
    language = models.CharField(
        _("language"), max_length=10, blank=True, help_text=_("Empty: your browser's language.")
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("An IANA zone name such as Europe/Paris; empty: the server's zone."),
    )

    class Meta:
        db_table = "helpdesk_agentprofile"

    def __str__(self) -> str:
        return self.user.get_username()


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        db_table = "helpdesk_tag"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """One identity of a customer on one platform."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    external_id = models.CharField(max_length=100)
    handle = models.CharField(max_length=100)
    display_name = models.CharField(max_length=200, blank=True)
    follower_count = models.PositiveIntegerField(default=0)
    is_verified = models.BooleanField(default=False)
    # A database default too: ingestion's batch upsert inserts rows by SQL (ingestion.store).
    notes = models.TextField(
        blank=True,
        db_default="",
        help_text="What agents want colleagues to know about this customer.",
    )
    blocked_at = models.DateTimeField(
        null=True, blank=True, help_text="When an agent blocked this author on the platform."
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "helpdesk_customer"
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="customer_unique_per_platform"
            )
        ]
        indexes = [
            # New customers are matched by handle across platforms (suggested links).
            models.Index(Lower("handle"), name="customer_handle_lower_idx"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle} ({self.get_platform_display()})"


class ConversationStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (ConversationStatus.NEW, ConversationStatus.OPEN, ConversationStatus.PENDING)


class Conversation(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    account = models.ForeignKey(
        "ingestion.PlatformAccount", on_delete=models.PROTECT, related_name="conversations"
    )
    status = models.CharField(
        max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.NEW
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    routed_by = models.ForeignKey(
        "routing.RoutingRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The routing rule that chose the team; empty when the default queue did.",
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations")
    needs_reply = models.BooleanField(
        default=True, help_text="False when a routing rule decided no answer is needed."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # SLA clocks, kept on the conversation so the inbox can filter and sort on them.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Hidden from the queue until then, unless the customer writes.",
    )
    # The start of the customer turn the brand has not answered yet (the CustomerTurn with no
    # answered_at; at most one), kept by core.turns whenever it rewrites the turns: what
    # waiting_since reads after the first reply, stored so the queue can sort on an index.
    open_turn_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The state its first-response SLA timer stopped in ("met", "breached"…), None while it
    # runs or without one: copied from sla_slatimer by database triggers (migration reports
    # 0011), so the reports count the share met per hour without joining the timers.
    # NULL, not "": the triggers compare it with the timer's state, NULL while it runs.
    first_response_sla = models.CharField(  # noqa: DJ001
        max_length=10, null=True, blank=True, editable=False
    )
    # "Waiting since" (core.selectors.waiting_since is the definition), computed by the
    # database from the columns above whichever code writes them, so the inbox sorts and
    # pages on an index instead of computing it for every open conversation.
    waiting_since = models.GeneratedField(
        expression=Case(
            When(needs_reply=False, then=Value(None)),
            When(first_response_at__isnull=True, then=F("created_at")),
            default=F("open_turn_started_at"),
        ),
        output_field=models.DateTimeField(null=True, blank=True),
        db_persist=True,
    )

    class Meta:
        db_table = "helpdesk_conversation"
        permissions = [("view_all_conversations", "Can see every team's conversations")]
        indexes = [
            models.Index(fields=["team", "status", "first_response_due_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["customer", "account", "status"]),
            # The queue in its default order (who has waited longest): a page of any view is
            # the first rows of this index, and the view counts read it alone (Postgres)
            # instead of the table, whatever the depth of the queue.
            models.Index(
                fields=["waiting_since"],
                include=["team", "assignee", "snoozed_until", "first_response_at"],
                condition=Q(status__in=ACTIVE_STATUSES, needs_reply=True),
                name="conversation_queue_idx",
            ),
            # The same per team and per assignee, for an agent's queue and "Mine" (their rows
            # in queue order) and their counts; "pending" has its own (few rows, with or
            # without needs_reply).
            models.Index(
                fields=["team", "waiting_since"],
                include=["assignee", "snoozed_until", "first_response_at"],
                condition=Q(status__in=ACTIVE_STATUSES, needs_reply=True),
                name="conversation_queue_team_idx",
            ),
            models.Index(
                fields=["assignee", "waiting_since"],
                include=["team", "snoozed_until", "first_response_at"],
                condition=Q(status__in=ACTIVE_STATUSES, needs_reply=True),
                name="conversation_queue_mine_idx",
            ),
            models.Index(
                fields=["team"],
                condition=Q(status=ConversationStatus.PENDING),
                name="conversation_pending_idx",
            ),
            # "No reply needed": what was set aside lately (and the still active few).
            models.Index(
                fields=["created_at"],
                include=["status", "team"],
                condition=Q(needs_reply=False),
                name="conversation_noreply_idx",
            ),
            # The snoozed few, for waking them when their snooze ends.
            models.Index(
                fields=["snoozed_until"],
                condition=Q(snoozed_until__isnull=False),
                name="conversation_snoozed_idx",
            ),
            # Reports: conversations of a period, with what every KPI and slice reads from
            # them, so the reports scan the index alone (Postgres; plain index elsewhere).
            models.Index(
                fields=["created_at"],
                include=[
                    "id",
                    "needs_reply",
                    "first_response_at",
                    "resolved_at",
                    "intent",
                    "assignee",
                    "account",
                    "team",
                ],
                name="conversation_reports_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # open_turn_started_at is written by core.turns alone (as the posts change, often
        # while a service holds this row in memory), first_response_sla by the SLA timers'
        # triggers: a plain save() of an existing row writes every other column, never a
        # stale copy of those.
        if (
            not self._state.adding
            and not args
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.attname
                for field in self._meta.concrete_fields
                if not field.primary_key
                and not field.generated
                and field.attname not in deferred
                and field.attname not in ("open_turn_started_at", "first_response_sla")
            ]
        super().save(*args, **kwargs)

    @property
    def first_response_seconds(self) -> float | None:
        """Seconds between the first customer post and the first agent reply."""
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.created_at).total_seconds()


class Direction(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("From the brand")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PENDING = "pending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Post(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="posts")
    # The conversation's account, kept on the post (as the platform is) so the reports count
    # a month of posts per account from one index, without joining every conversation.
    account = models.ForeignKey(
        "ingestion.PlatformAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="The brand account the post was received on or sent from.",
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    # NULL (not "") for an outbound reply until the platform has accepted it, so unsent
    # replies do not collide on the unique (platform, external_id) constraint.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="posts",
        help_text="The author of an inbound post.",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The author of an outbound reply.",
    )
    text = models.TextField()
    in_reply_to = models.CharField(
        max_length=100, blank=True, help_text="External id of the post this one answers."
    )
    created_at = models.DateTimeField(help_text="When the post was made on the platform.")
    received_at = models.DateTimeField(auto_now_add=True)
    raw = models.JSONField(default=dict, blank=True)

    is_private = models.BooleanField(
        default=False, help_text="An outbound private message (DM, Messenger), not a public reply."
    )
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    delivery_error = models.TextField(blank=True)
    # What agents did to the post on the platform (helpdesk.social): the brand liked it, hid
    # the comment from the public, or deleted its own reply. Empty: not (or no longer) done.
    liked_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Replies carry a key so a retry can never publish the same answer twice.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    triage_confidence = models.FloatField(null=True, blank=True)
    triage_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "helpdesk_post"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="post_unique_per_platform"
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"]),
            # Reports: inbound volume of a period (heatmap, trends, spike baselines), and a
            # conversation's replies around a post (response times). The included columns
            # are what the volume, sentiment and heatmap reports read: index-only scans.
            models.Index(
                fields=["direction", "created_at"],
                include=["id", "conversation", "platform", "account", "sentiment"],
                name="post_period_reports_v2_idx",
            ),
            models.Index(
                fields=["conversation", "direction", "created_at"],
                name="post_conv_direction_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.platform}:{self.external_id}"

    def save(self, *args, **kwargs) -> None:
        # Writers in bulk (ingestion.store, loaders) set it themselves.
        if self.account_id is None and self.conversation_id is not None:
            self.account_id = self.conversation.account_id
        super().save(*args, **kwargs)


class Note(models.Model):
    """A private note agents leave on a conversation; never sent to the platform."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpdesk_note"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note by {self.author} on #{self.conversation_id}"


class ReplyTemplate(models.Model):
    """A canned reply. The body may use {{ customer.name }}, {{ customer.handle }},
    {{ agent.first_name }} and {{ brand.handle }}; a variant per platform can set the tone."""

    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reply_templates",
        help_text="Empty: offered to every team.",
    )
    # What it answers: offered first when the customer's latest post has this intent, as
    # Sprout Social suggests replies, so the agent's first pick is usually the right one.
    intent = models.CharField(
        max_length=20,
        choices=[(value, label) for value, label in Intent.choices if value],
        blank=True,
        help_text="Suggested first when the customer's latest post has this intent.",
    )
    body = models.TextField()

    class Meta:
        db_table = "helpdesk_replytemplate"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReplyTemplateVariant(models.Model):
    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="variants")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    body = models.TextField()

    class Meta:
        db_table = "helpdesk_replytemplatevariant"
        constraints = [
            models.UniqueConstraint(
                fields=["template", "platform"], name="one_variant_per_platform"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.get_platform_display()})"


class IntegrationEvent(models.TextChoices):
    CONVERSATION_CREATED = "conversation.created", _("Conversation created")
    CONVERSATION_ASSIGNED = "conversation.assigned", _("Conversation assigned")
    CONVERSATION_RESOLVED = "conversation.resolved", _("Conversation resolved")
    SLA_BREACHED = "sla.breached", _("SLA breached")


class IntegrationWebhook(models.Model):
    """An integrator's endpoint: Parley POSTs the events it subscribed to, signed with HMAC."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = EncryptedJSONField(
        default=dict, blank=True, help_text="{'key': …}: the HMAC-SHA256 signing key."
    )
    events = models.JSONField(default=list, help_text="Event names; empty means all.")
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "helpdesk_integrationwebhook"

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class IntegrationDelivery(models.Model):
    """One event for one endpoint, written in the same transaction as the change it reports
    (a transactional outbox), so a crash between commit and send loses nothing."""

    webhook = models.ForeignKey(
        IntegrationWebhook, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=IntegrationEvent.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "helpdesk_integrationdelivery"
        verbose_name_plural = "integration deliveries"
        indexes = [models.Index(fields=["delivered_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook}"


class CustomerTurn(models.Model):
    """A customer message that opened a new turn (the brand had answered everything before
    it), and when the brand next replied: the next-response KPI's unit.

    Derived from the conversation's posts (see core.turns) and rewritten whenever one of
    them is saved or deleted, so it never disagrees with the thread; `rebuild_customer_turns`
    recomputes it in bulk for loaders that bypass save().
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="customer_turns"
    )
    post = models.OneToOneField(
        Post,
        on_delete=models.CASCADE,
        related_name="customer_turn",
        help_text="The inbound post that opened the turn.",
    )
    started_at = models.DateTimeField(help_text="When the customer posted (the post's time).")
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="The brand's first reply at or after the start."
    )

    class Meta:
        # Moved here from reports, keeping its table (migration core 0001).
        db_table = "reports_customerturn"
        indexes = [
            # The KPI reads a period's turns: the conversation (for the slices) and the answer
            # come from the index alone on Postgres.
            models.Index(
                fields=["started_at"],
                include=["conversation", "answered_at"],
                name="customer_turn_started_idx",
            ),
            # The queue's "waiting since" joins each conversation to its unanswered turn (at
            # most one): the few open turns, not the whole history (core.selectors).
            models.Index(
                fields=["conversation"],
                include=["started_at"],
                condition=models.Q(answered_at__isnull=True),
                name="customer_turn_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Turn of post {self.post_id} on #{self.conversation_id}"


class AgentPreferences(models.Model):
    """What an agent sets for themselves on their profile page: the signature their replies
    can end with and how they want to be told of what needs them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_preferences"
    )
    signature = models.CharField(
        max_length=100,
        blank=True,
        help_text='Added to replies where a template says so, e.g. "^Dana".',
    )
    notify_in_page = models.BooleanField(
        default=True, help_text="Show SLA alerts, mentions and assignments as in-page notices."
    )
    notify_desktop = models.BooleanField(
        default=False, help_text="Also as desktop notifications, when the browser allows them."
    )
    notify_by_email = models.BooleanField(
        default=False, help_text="E-mail me when I am @mentioned in a note."
    )

    class Meta:
        verbose_name_plural = "agent preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user}"
