"""What the reports keep beyond the helpdesk's own records: customer satisfaction surveys, the
volume spikes detected on each platform account, and each customer turn with its next response
(kept as posts are written, so the next-response KPI is a range scan, not a search per post)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import Platform
from core.reply_templates import CSAT_VARIABLES, check_template, variables_help

CSAT_SCALE = 5
# Scores of 4 and 5 count as satisfied, the usual CSAT reading.
CSAT_SATISFIED_FROM = 4


def new_survey_token() -> str:
    return secrets.token_urlsafe(24)


class CsatTemplate(models.Model):
    """The survey message sent after resolution on one platform; none active, none sent."""

    platform = models.CharField(max_length=20, choices=Platform.choices, unique=True)
    body = models.TextField(
        help_text="The message sent to the customer, written like a reply template: "
        + variables_help(CSAT_VARIABLES)
        + ".",
        default="Thanks for talking to us! How did we do? {{ survey_link }}",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "CSAT survey message"

    def __str__(self) -> str:
        return f"CSAT message on {self.get_platform_display()}"

    def clean(self) -> None:
        try:
            check_template(self.body, CSAT_VARIABLES)
        except ValidationError as error:
            raise ValidationError({"body": error.messages}) from error


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
        verbose_name = "CSAT survey"
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


class VolumeHistory(models.Model):
    """Since when Parley has an account's inbound posts. Spike detection compares a window
    with the account's usual volume only once it has a whole baseline of history: before
    that the usual volume is unknown, not zero. Written once per account, by detection."""

    account = models.OneToOneField(
        "ingestion.PlatformAccount",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="volume_history",
    )
    first_post_at = models.DateTimeField(help_text="When its oldest inbound post was written.")

    class Meta:
        verbose_name_plural = "volume histories"

    def __str__(self) -> str:
        return f"Volume of {self.account} since {self.first_post_at:%Y-%m-%d}"


class ReportPeriod(models.TextChoices):
    DAY = "day", "Daily (yesterday)"
    WEEK = "week", "Weekly (last Monday to Sunday)"
    MONTH = "month", "Monthly (last calendar month)"


class ReportSchedule(models.Model):
    """A supervisor's e-mail of chosen reports (as CSV attachments, the summary in the body)
    to chosen recipients, for each day, week or month once it has ended. The numbers are
    those the owner sees (their visibility), whoever receives them."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_schedules"
    )
    name = models.CharField(max_length=100)
    reports = models.JSONField(help_text="Export names: summary, agents, teams, volume…")
    recipients = models.TextField(help_text="E-mail addresses, one per line or comma-separated.")
    period = models.CharField(
        max_length=10, choices=ReportPeriod.choices, default=ReportPeriod.WEEK
    )
    is_active = models.BooleanField(default=True)
    # The start of the last period sent: each period goes out once, restarts or not.
    last_period_start = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def recipient_list(self) -> list[str]:
        return [
            address.strip()
            for address in self.recipients.replace(",", "\n").splitlines()
            if address.strip()
        ]


# A roll-up key has one row per writer (PostgreSQL: the backend process id modulo 32768, see
# migration reports 0008), so concurrent ingest workers never wait on each other's roll-up
# rows. Readers sum the slots; a rebuild folds them into slot 0.
ROLLUP_SLOTS = 32768


class InboundHourly(models.Model):
    """Inbound posts per hour (UTC), account and platform, with their sentiments: what the
    volume, sentiment, heatmap and auto-response reports count, kept up to date in the same
    transaction as every insert, update or delete of a post by database triggers (migration
    reports 0007), so no write path can forget it. `reports_rebuild_rollups` recomputes it
    from the posts. A key may have several rows (`slot`); the figures are their sums, and a
    row may hold negative deltas (a post re-triaged or deleted in another slot)."""

    hour = models.DateTimeField(help_text="Start of the hour (UTC) the posts were written in.")
    # Plain integers, not foreign keys: the triggers write them, and 0 stands for a post
    # without an account, so the unique key below has no NULL in it.
    account_id = models.BigIntegerField()
    platform = models.CharField(max_length=20, choices=Platform.choices)
    slot = models.SmallIntegerField(default=0)
    posts = models.IntegerField(default=0)
    positive = models.IntegerField(default=0)
    neutral = models.IntegerField(default=0)
    negative = models.IntegerField(default=0)
    untriaged = models.IntegerField(default=0)

    class Meta:
        verbose_name = "hourly inbound roll-up"
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "account_id", "platform", "slot"], name="inbound_hourly_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.posts} inbound posts on {self.account_id} at {self.hour:%Y-%m-%d %H}:00"


class ConversationHourly(models.Model):
    """Conversations per hour they were opened (UTC), account, team, assignee and intent:
    how many, how many needed no reply, were resolved, or were answered and resolved (with
    the sum of their handling times, in microseconds so sums stay exact). Kept up to date by
    triggers on helpdesk_conversation (migration reports 0009) as InboundHourly is: a
    conversation routed, reassigned, re-triaged, resolved or reopened moves its count from
    one key to another in the same transaction. 0 stands for no team or no assignee."""

    hour = models.DateTimeField(help_text="Start of the hour (UTC) the conversations opened in.")
    account_id = models.BigIntegerField()
    team_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    intent = models.CharField(max_length=20, blank=True)
    slot = models.SmallIntegerField(default=0)
    conversations = models.IntegerField(default=0)
    no_reply = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    handled = models.IntegerField(default=0)
    handling_us = models.BigIntegerField(default=0)
    # Of the conversations owed a reply, those whose first-response timer has stopped, and
    # those of them that met it (Conversation.first_response_sla, migration reports 0011).
    sla_measured = models.IntegerField(default=0)
    sla_met = models.IntegerField(default=0)

    class Meta:
        verbose_name = "hourly conversation roll-up"
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "account_id", "team_id", "assignee_id", "intent", "slot"],
                name="conversation_hourly_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.conversations} conversations on {self.account_id} at {self.hour:%Y-%m-%d %H}:00"
        )


class DurationMetric(models.IntegerChoices):
    """The durations the reports take percentiles of (reports.durations says how each is
    measured, as the raw selectors do)."""

    FIRST_RESPONSE = 1, "First response"
    RESOLUTION = 2, "Resolution"
    NEXT_RESPONSE = 3, "Next response"
    # Counts only (at second 0): what is still waiting, so the reports' totals (owed a
    # reply, customer turns) come from the histograms too.
    FIRST_RESPONSE_PENDING = 4, "Awaiting first response"
    NEXT_RESPONSE_PENDING = 5, "Awaiting next response"


class _DurationHistogram(models.Model):
    """The columns DurationDaily and DurationWeekly share: a group's count of durations in one
    bucket, and their microseconds past its lower bound."""

    metric = models.SmallIntegerField(choices=DurationMetric.choices)
    team_id = models.BigIntegerField(default=0)
    assignee_id = models.BigIntegerField(default=0)
    intent = models.CharField(max_length=20, blank=True)
    seconds = models.BigIntegerField(
        help_text="The lower bound of the durations' bucket, in seconds."
    )
    slot = models.SmallIntegerField(default=0)
    durations = models.IntegerField(default=0)
    fraction_us = models.BigIntegerField(
        default=0, help_text="Sum of the microseconds past `seconds` of those durations."
    )

    class Meta:
        abstract = True


class DurationDaily(_DurationHistogram):
    """Exact histograms of the reports' durations: per day (UTC) the conversation was opened
    (the customer turn started, for next response), metric, group and bucket (log-spaced,
    reports.durations.bucket_of), how many durations fell in that bucket and the sum of their
    microseconds past its lower bound. Kept by triggers on helpdesk_conversation and
    reports_customerturn (migrations reports 0013, 0015) like the hourly roll-ups, so an exact
    percentile of a month reads a few hundred buckets per group, not its conversations
    (reports.durations). A bucket whose microseconds sum to 0 holds only its lower bound; any
    other is resolved by reading its rows of the period.

    The group is the metric's: team and assignee for first response (the per-team and
    per-agent medians), intent for resolution, none for next response; 0 and "" stand for
    none. Several rows may share a key (`slot`, as in the roll-ups) and hold negative deltas."""

    day = models.DateField()

    class Meta:
        verbose_name = "daily duration histogram"
        # Metric first: a report reads one metric's days, one range of this index.
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "day", "team_id", "assignee_id", "intent", "seconds", "slot"],
                name="duration_daily_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.durations} at {self.seconds} s ({self.get_metric_display()}, {self.day})"


class DurationWeekly(_DurationHistogram):
    """DurationDaily summed per ISO week (Monday, UTC) and slot, kept from it by triggers
    on reports_durationdaily itself (migration reports 0017): a month's percentile reads its
    whole weeks here and only the days at its edges there, so once a group's days are full
    of buckets it reads about a third of the rows. Same columns and meaning as
    DurationDaily, `week` for `day`."""

    week = models.DateField(help_text="The Monday (UTC) of the week counted.")

    class Meta:
        verbose_name = "weekly duration histogram"
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "week", "team_id", "assignee_id", "intent", "seconds", "slot"],
                name="duration_weekly_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.durations} at {self.seconds} s ({self.get_metric_display()}, {self.week})"
