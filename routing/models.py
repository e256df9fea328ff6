"""Ordered rules that send each conversation to a team queue, and what else they do to it."""

from django.db import models

from core.models import Intent, Platform, Priority, Sentiment, Team

INFLUENCER_FOLLOWERS = 100_000


class RoutingRule(models.Model):
    """The first active rule, by position, whose conditions all hold routes the conversation
    and applies its actions. Empty conditions match anything."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, help_text="Lower runs first.")
    is_active = models.BooleanField(default=True)

    # Conditions
    platform = models.CharField(max_length=20, choices=Platform.choices, blank=True)
    account = models.ForeignKey(
        "ingestion.PlatformAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    min_priority = models.PositiveSmallIntegerField(
        choices=Priority.choices,
        null=True,
        blank=True,
        help_text="Matches posts of this priority or higher.",
    )
    reason = models.CharField(
        max_length=50,
        blank=True,
        help_text="Matches when one of triage's priority reasons contains this, e.g. "
        "'outage', 'sensitive', 'influencer'.",
    )
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated; any one of them matches."
    )
    has_tag = models.CharField(
        max_length=50,
        blank=True,
        help_text="Matches conversations carrying this tag (an agent's, a macro's or a "
        "rule's), whatever its case. Such a rule is also asked when an agent tags a "
        "conversation, and then moves it to its team.",
    )
    influencers_only = models.BooleanField(
        default=False,
        help_text=f"Matches verified authors or those with {INFLUENCER_FOLLOWERS:,}+ followers.",
    )

    # Actions
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        help_text="Empty sends to the default queue.",
    )
    set_priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    add_tags = models.CharField(max_length=200, blank=True, help_text="Comma-separated.")
    no_reply_needed = models.BooleanField(
        default=False, help_text="Close the conversation without an answer (spam, chatter)."
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        return _split(self.keywords.lower())

    @property
    def tag_list(self) -> list[str]:
        return _split(self.add_tags)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
