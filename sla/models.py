"""SLA: service windows (when the team answers), policies (how fast it promises to) and the
timers that hold each conversation to those promises."""

from __future__ import annotations

from datetime import time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import holidays
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Intent, Platform, Priority
from core.reply_templates import OUT_OF_HOURS_VARIABLES, check_template, variables_help

from .business_time import Schedule, Span

BEST_PRACTICE_FIRST_RESPONSE_MINUTES = 15
BEST_PRACTICE_NEXT_RESPONSE_MINUTES = 15
BEST_PRACTICE_RESOLUTION_MINUTES = 60
BEST_PRACTICE_COMPLAINT_RESOLUTION_MINUTES = 24 * 60
DEFAULT_AT_RISK_PERCENT = 80


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name: str) -> None:
    if name not in _known_timezones():
        raise ValidationError(
            "Unknown timezone %(name)s: use an IANA name such as Europe/London.",
            params={"name": name},
        )


def validate_holiday_country(code: str) -> None:
    if code and code not in holidays.list_supported_countries():
        raise ValidationError(
            "No holiday calendar for %(code)s: use an ISO 3166 country code such as GB or US.",
            params={"code": code},
        )


class ScheduleKind(models.TextChoices):
    ALWAYS = "always", "24/7"
    DAILY = "daily", "The same hours every day"
    WEEKLY = "weekly", "Business hours per weekday"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ServiceWindow(models.Model):
    """When the team answers on one platform account, or on every account of a platform.

    An account's own window wins over its platform's; with neither, the clock runs 24/7.
    """

    name = models.CharField(max_length=100)
    account = models.OneToOneField(
        "ingestion.PlatformAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="service_window",
        help_text="Leave empty to use this window for every account of the platform.",
    )
    platform = models.CharField(
        max_length=20,
        choices=Platform.choices,
        blank=True,
        help_text="The platform whose accounts use this window when they have none of their own.",
    )
    kind = models.CharField(
        max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.ALWAYS
    )
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="e.g. Europe/London"
    )
    opens_at = models.TimeField(null=True, blank=True, help_text="Daily window: opening time.")
    closes_at = models.TimeField(null=True, blank=True, help_text="Daily window: closing time.")
    crosses_midnight = models.BooleanField(
        default=False,
        help_text="Daily window: closes the next day (e.g. 22:00-06:00).",
    )
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_holiday_country],
        help_text="Closed on this country's public holidays (ISO code, e.g. GB, US).",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Region for regional holidays, e.g. ENG or NY."
    )
    out_of_hours_reply = models.TextField(
        blank=True,
        help_text=(
            "Sent once when a conversation starts while the team is away, written like a "
            "reply template: " + variables_help(OUT_OF_HOURS_VARIABLES) + ". Empty: no "
            "auto-reply."
        ),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform"],
                condition=models.Q(account__isnull=True) & ~models.Q(platform=""),
                name="one_window_per_platform",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.account_id is None and not self.platform:
            errors["platform"] = "Choose the account or the platform this window applies to."
        if self.kind == ScheduleKind.DAILY:
            if self.opens_at is None:
                errors["opens_at"] = "A daily window needs an opening time."
            if self.closes_at is None:
                errors["closes_at"] = "A daily window needs a closing time."
            if self.opens_at is not None and self.closes_at is not None:
                if self.opens_at == self.closes_at:
                    errors["closes_at"] = "Opens and closes at the same time: choose 24/7 instead."
                elif self.closes_at < self.opens_at and not self.crosses_midnight:
                    errors["closes_at"] = (
                        "Closes before it opens. Tick 'crosses midnight' for a night window."
                    )
                elif self.closes_at > self.opens_at and self.crosses_midnight:
                    errors["crosses_midnight"] = (
                        "A window that closes after it opens on the same day does not cross "
                        "midnight."
                    )
        if self.holiday_subdivision and self.holiday_country:
            try:
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
            except NotImplementedError:
                errors["holiday_subdivision"] = (
                    f"{self.holiday_country} has no region {self.holiday_subdivision}."
                )
        if self.out_of_hours_reply:
            try:
                check_template(self.out_of_hours_reply, OUT_OF_HOURS_VARIABLES)
            except ValidationError as error:
                errors["out_of_hours_reply"] = error.messages
        if errors:
            raise ValidationError(errors)

    def schedule(self) -> Schedule:
        """The window as pure business-time arithmetic sees it."""
        tz = ZoneInfo(self.timezone)
        closed = _ClosedDates(
            frozenset(self.closures.values_list("date", flat=True)),
            holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision or None)
            if self.holiday_country
            else None,
        )
        if self.kind == ScheduleKind.DAILY:
            return Schedule.daily(tz, self.opens_at, self.closes_at, closed_dates=closed)
        if self.kind == ScheduleKind.WEEKLY:
            hours: dict[int, list[Span]] = {}
            for row in self.business_hours.all():
                hours.setdefault(row.weekday, []).append(Span(row.opens_at, row.closes_at))
            return Schedule.weekly(tz, hours, closed_dates=closed)
        return Schedule.always(tz, closed_dates=closed)


class _ClosedDates:
    """A window's custom closed dates plus its country's holidays (expanded lazily by year)."""

    def __init__(self, custom: frozenset, country: holidays.HolidayBase | None) -> None:
        self.custom = custom
        self.country = country

    def __contains__(self, day) -> bool:
        return day in self.custom or (self.country is not None and day in self.country)


class BusinessHours(models.Model):
    window = models.ForeignKey(
        ServiceWindow, on_delete=models.CASCADE, related_name="business_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    # At or before the opening time: the hours run on into the next day, as a care desk open
    # "until midnight" or overnight has them (the weekday is the day they open).
    closes_at = models.TimeField(
        help_text=(
            "At or before the opening time: the next day. 18:00-00:00 is open until "
            "midnight, 22:00-02:00 overnight, 00:00-00:00 all day."
        )
    )

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"

    def clean(self) -> None:
        # Equal times would be 24 hours from the opening: meant only at midnight (all day),
        # anything else is far likelier a slip.
        if self.opens_at is not None and self.opens_at == self.closes_at != time(0):
            raise ValidationError(
                {
                    "closes_at": (
                        "Opens and closes at the same time. For the whole day, open at 00:00 "
                        "and close at 00:00."
                    )
                }
            )


class ServiceWindowClosure(models.Model):
    """A date the team does not answer, on top of the country's holidays."""

    window = models.ForeignKey(ServiceWindow, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["window", "date"], name="one_closure_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


_TARGET_VALIDATORS = [MinValueValidator(1, "A target must be at least one minute.")]


class SlaPolicy(models.Model):
    """The first active policy, by position, whose conditions hold sets a conversation's
    targets. Empty conditions match anything."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Conditions.
    platform = models.CharField(max_length=20, choices=Platform.choices, blank=True)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    min_priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    min_followers = models.PositiveIntegerField(
        null=True, blank=True, help_text="Customer tier: only customers with this many followers."
    )
    verified_only = models.BooleanField(
        default=False, help_text="Customer tier: only verified accounts."
    )
    # Targets, in business minutes of the service window.
    first_response_minutes = models.IntegerField(
        default=BEST_PRACTICE_FIRST_RESPONSE_MINUTES, validators=_TARGET_VALIDATORS
    )
    next_response_minutes = models.IntegerField(
        default=BEST_PRACTICE_NEXT_RESPONSE_MINUTES,
        validators=_TARGET_VALIDATORS,
        help_text="For each later customer message, once the brand has answered.",
    )
    resolution_minutes = models.IntegerField(
        default=BEST_PRACTICE_RESOLUTION_MINUTES, validators=_TARGET_VALIDATORS
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        default=DEFAULT_AT_RISK_PERCENT,
        validators=[
            MinValueValidator(1, "At risk must be between 1 and 99 percent of the target."),
            MaxValueValidator(99, "At risk must be between 1 and 99 percent of the target."),
        ],
        help_text="Warn when this share of a target has passed.",
    )
    # Escalation on breach.
    raise_priority_on_breach = models.BooleanField(default=False)
    reassign_team_on_breach = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Move a breached conversation to this team's queue (unassigned).",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (
            self.first_response_minutes is not None
            and self.resolution_minutes is not None
            and self.resolution_minutes < self.first_response_minutes
        ):
            raise ValidationError(
                {"resolution_minutes": "Resolution cannot be due before the first response."}
            )

    def target(self, kind: str) -> timedelta:
        minutes = {
            TimerKind.FIRST_RESPONSE: self.first_response_minutes,
            TimerKind.NEXT_RESPONSE: self.next_response_minutes,
            TimerKind.RESOLUTION: self.resolution_minutes,
        }[kind]
        return timedelta(minutes=minutes)


class TimerKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class TimerState(models.TextChoices):
    OK = "ok", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")
    MET = "met", _("Met")


class SlaTimer(models.Model):
    """One SLA target on one conversation.

    Timers live in the sla app, one row per (conversation, target), rather than as more
    columns on Conversation: the core model stays the other apps' shared ground, the sweep
    finds every threshold to act on with one indexed range query over (state, due_at) and
    (state, at_risk_at), and the inbox filters or sorts by joining on conversation. The
    next-response timer is reused for each new customer message (its `cycle` counts them).
    """

    conversation = models.ForeignKey(
        "core.Conversation", on_delete=models.CASCADE, related_name="sla_timers"
    )
    kind = models.CharField(max_length=20, choices=TimerKind.choices)
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="timers"
    )
    cycle = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=TimerState.choices, default=TimerState.OK)
    target_seconds = models.PositiveIntegerField()
    at_risk_percent = models.PositiveSmallIntegerField(default=DEFAULT_AT_RISK_PERCENT)
    started_at = models.DateTimeField()
    # Closed pauses as [[start, end], ...] in ISO format; an open pause is `paused_since`.
    pauses = models.JSONField(default=list, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    # Empty while paused or stopped.
    at_risk_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    business_seconds = models.FloatField(
        null=True, blank=True, help_text="Business time measured when the timer stopped."
    )
    at_risk_alerted_cycle = models.PositiveIntegerField(default=0)
    breach_alerted_cycle = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SLA timer"
        ordering = ["conversation_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "kind"], name="one_timer_per_target")
        ]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["state", "at_risk_at"]),
            # Reports: the share of first responses within target, per conversation.
            models.Index(
                fields=["conversation"],
                include=["id", "state"],
                condition=models.Q(kind=TimerKind.FIRST_RESPONSE, stopped_at__isnull=False),
                name="sla_first_response_done_idx",
            ),
            # The queue joins each answered conversation to its running next-response timer.
            models.Index(
                fields=["conversation"],
                include=["due_at"],
                condition=models.Q(kind=TimerKind.NEXT_RESPONSE, stopped_at__isnull=True),
                name="sla_next_response_running_idx",
            ),
        ]
        permissions = [("receive_team_alerts", "Receives SLA alerts for the teams they work in")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.conversation_id}: {self.get_state_display()}"

    @property
    def is_running(self) -> bool:
        return self.stopped_at is None and self.paused_since is None


# Supervisors are the team's agents holding this permission.
SUPERVISOR_PERMISSION = "sla.receive_team_alerts"
