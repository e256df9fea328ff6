"""What the reports keep beyond the helpdesk's own records: customer satisfaction surveys, the
volume spikes detected on each platform account, and each customer turn with its next response
(kept as posts are written, so the next-response KPI is a range scan, not a search per post)."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import Platform

CSAT_SCALE = 5
# Scores of 4 and 5 count as satisfied, the usual CSAT reading.
CSAT_SATISFIED_FROM = 4


def new_survey_token() -> str:
    return secrets.token_urlsafe(24)


class CsatTemplate(models.Model):
    """The survey message sent after resolution on one platform; none active, none sent."""

    platform = models.CharField(max_length=20, choices=Platform.choices, unique=True)
    body = models.TextField(
        help_text="The message sent to the customer; {link} is replaced by the survey link.",
        default="Thanks for talking to us! How did we do? {link}",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "CSAT survey message"

    def __str__(self) -> str:
        return f"CSAT message on {self.get_platform_display()}"


class CsatSurvey(models.Model):
    """One survey offered after one resolution of a conversation, and its answer."""

    conversation = models.ForeignKey(
        "core.Conversation", on_delete=models.CASCADE, related_name="csat_surveys"
    )
    token = models.CharField(max_length=64, unique=True, default=new_survey_token, editable=False)
    # The resolution this survey asks about: one survey per resolution.
    resolved_at = models.DateTimeField()
    sent_at = models.DateTimeField(auto_now_add=True)
    message = models.OneToOneField(
        "core.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(CSAT_SCALE)],
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "resolved_at"], name="one_survey_per_resolution"
            )
        ]
        indexes = [models.Index(fields=["sent_at"])]

    def __str__(self) -> str:
        return f"CSAT for #{self.conversation_id}"


class SpikeKind(models.TextChoices):
    VOLUME = "volume", "Volume spike"
    NEGATIVE = "negative", "Burst of negative posts"
    KEYWORD = "keyword", "Keyword spike"
    VIRAL = "viral", "Post going viral"


class SpikeAlert(models.Model):
    """An episode of unusual volume on one account (or one of its keywords).

    At most one episode per account and keyword ("" for the account's whole volume) is open
    at a time (a partial unique constraint), so detection running every minute through a
    burst raises it once, whether the burst is negative or not. A post going viral is an
    alert of its own, once per post.
    """

    account = models.ForeignKey(
        "ingestion.PlatformAccount", on_delete=models.CASCADE, related_name="spike_alerts"
    )
    kind = models.CharField(max_length=10, choices=SpikeKind.choices)
    keyword = models.CharField(max_length=200, blank=True)
    post = models.OneToOneField(
        "core.Post",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="viral_alert",
        help_text="The post going viral (viral alerts only).",
    )
    started_at = models.DateTimeField(help_text="Start of the window in which it was detected.")
    detected_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    window_posts = models.PositiveIntegerField()
    negative_posts = models.PositiveIntegerField(default=0)
    baseline_posts = models.FloatField(help_text="Usual posts in a window of the same length.")
    peak_posts = models.PositiveIntegerField()

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "keyword"],
                condition=Q(ended_at=None, post=None),
                name="one_open_spike_per_account_keyword",
            )
        ]
        indexes = [models.Index(fields=["detected_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.account}"


class WeeklyReport(models.Model):
    """Marks the weekly e-mail of one week (starting Monday) as sent: once, restarts or not."""

    week_start = models.DateField(unique=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Weekly report of {self.week_start}"
