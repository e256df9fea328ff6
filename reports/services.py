"""What the reports do, as opposed to read: detect volume spikes and alert supervisors, offer
CSAT surveys after resolution and record the answers."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from core.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Post,
    Sentiment,
)
from core.outbox import deliver_after_commit
from core.reply_templates import render_text
from ingestion.models import PlatformAccount
from sla.models import SUPERVISOR_PERMISSION
from triage.services import engagements_per_hour

from .exports import EXPORTS, export_lines, summary_rows
from .models import (
    CSAT_SCALE,
    CsatSurvey,
    CsatTemplate,
    ReportPeriod,
    ReportSchedule,
    SpikeAlert,
    SpikeKind,
    WeeklyReport,
)
from .selectors import ReportFilter, kpis, spike_payload
from .volume import history_since

logger = logging.getLogger(__name__)

# Supervisors' cockpits listen here for spikes (every account is everyone's business).
SPIKES_GROUP = "reports.spikes"
# A burst is "negative" when at least this share of its posts are.
NEGATIVE_BURST_SHARE = 0.5


# --- spikes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeThreshold:
    window_posts: int
    baseline_posts: float
    # False while the account's usual volume is still being learned.
    comparable: bool = True
    # A listening keyword's usual count may well be zero over a whole learned baseline (an
    # "outage" is rare): that zero is measured, and SPIKE_MIN_POSTS alone sets the bar. An
    # account's whole volume is never compared with zero.
    keyword: bool = False

    @property
    def limit(self) -> float:
        """Posts in a window that count as a spike: well above the usual count, allowing
        for its Poisson noise (three standard deviations), and never below the minimum."""
        usual = self.baseline_posts
        return max(
            float(settings.SPIKE_MIN_POSTS),
            usual * settings.SPIKE_FACTOR,
            usual + 3 * math.sqrt(usual),
        )

    @property
    def is_spike(self) -> bool:
        if not self.comparable or (self.baseline_posts <= 0 and not self.keyword):
            return False
        return self.window_posts >= self.limit

    @property
    def has_calmed(self) -> bool:
        # Hysteresis: an episode ends only well below the limit, so a burst hovering around
        # it is one episode, not a string of them.
        return self.window_posts < self.limit / 2


def detect_spikes(*, now: datetime | None = None) -> list[SpikeAlert]:
    """Compare each active account's last window of inbound posts (and each of its listening
    keywords') with its baseline; open an alert for a new spike, update or end open ones.

    An account with less than a baseline's worth of history is not compared at all (its
    usual volume is being learned, see volume_learning), nor is its volume compared with a
    usual volume of zero: nothing is unusual against nothing.

    Returns the alerts opened by this run. Safe to run concurrently and repeatedly: a second
    open alert for the same account and keyword is refused by the database.
    """
    now = now or timezone.now()
    window = timedelta(minutes=settings.SPIKE_WINDOW_MINUTES)
    baseline = timedelta(hours=settings.SPIKE_BASELINE_HOURS)
    window_start = now - window
    baseline_start = window_start - baseline
    windows_in_baseline = baseline / window

    # One indexed range scan over (direction, created_at) for every account at once.
    in_window = Q(created_at__gte=window_start)
    counts = {
        row["conversation__account_id"]: row
        for row in Post.objects.filter(
            direction=Direction.INBOUND, created_at__gte=baseline_start, created_at__lt=now
        )
        .values("conversation__account_id")
        .annotate(
            window_posts=Count("pk", filter=in_window),
            negative_posts=Count("pk", filter=in_window & Q(sentiment=Sentiment.NEGATIVE)),
            baseline_posts=Count("pk", filter=Q(created_at__lt=window_start)),
        )
        .order_by()
    }
    quiet = {"window_posts": 0, "negative_posts": 0, "baseline_posts": 0}
    opened = []
    accounts = list(PlatformAccount.objects.filter(is_active=True))
    since = history_since(accounts)
    for account in accounts:
        first = since.get(account.pk)
        learning = first is None or first > baseline_start
        row = counts.get(account.pk, quiet)
        measures = [
            (
                "",
                row["window_posts"],
                row["negative_posts"],
                row["baseline_posts"] / windows_in_baseline,
            )
        ]
        for keyword in account.queries:
            measures.append(
                (keyword, *_keyword_counts(account, keyword, window_start, baseline_start, now))
            )
        for keyword, count, negative, usual in measures:
            alert = _track(
                account,
                keyword=keyword,
                threshold=SpikeThreshold(
                    window_posts=count,
                    baseline_posts=usual,
                    comparable=not learning,
                    keyword=bool(keyword),
                ),
                negative_posts=negative,
                window_start=window_start,
                now=now,
            )
            if alert is not None:
                opened.append(alert)
    opened += _detect_viral_posts(now=now)
    return opened


def _detect_viral_posts(*, now: datetime) -> list[SpikeAlert]:
    """Posts received in the last window whose engagement (retweets, likes, replies…) per
    hour since posting passes SPIKE_VIRAL_ENGAGEMENTS_PER_HOUR; one alert per post."""
    window_start = now - timedelta(minutes=settings.SPIKE_WINDOW_MINUTES)
    recent = (
        Post.objects.filter(
            direction=Direction.INBOUND,
            received_at__gte=window_start,
            received_at__lt=now,
            conversation__account__is_active=True,
            viral_alert__isnull=True,
        )
        .exclude(raw={})
        .select_related("conversation__account")
    )
    opened = []
    for post in recent.iterator(chunk_size=500):
        velocity = engagements_per_hour(post)
        if velocity < settings.SPIKE_VIRAL_ENGAGEMENTS_PER_HOUR:
            continue
        try:
            with transaction.atomic():
                alert = SpikeAlert.objects.create(
                    account=post.conversation.account,
                    kind=SpikeKind.VIRAL,
                    post=post,
                    started_at=post.created_at,
                    detected_at=now,
                    # A single event, not an episode: over as soon as it is raised.
                    ended_at=now,
                    window_posts=1,
                    negative_posts=int(post.sentiment == Sentiment.NEGATIVE),
                    baseline_posts=0,
                    peak_posts=int(velocity),
                )
                alert_id = alert.pk
                transaction.on_commit(lambda alert_id=alert_id: push_spike(alert_id))
        except IntegrityError:
            continue  # another run raised it
        logger.warning("Post %s going viral: %.0f engagements an hour", post.pk, velocity)
        opened.append(alert)
    return opened


def _keyword_counts(
    account: PlatformAccount,
    keyword: str,
    window_start: datetime,
    baseline_start: datetime,
    now: datetime,
) -> tuple[int, int, float]:
    window_minutes = settings.SPIKE_WINDOW_MINUTES
    counts = Post.objects.filter(
        conversation__account=account,
        direction=Direction.INBOUND,
        created_at__gte=baseline_start,
        created_at__lt=now,
        text__icontains=keyword,
    ).aggregate(
        window=Count("pk", filter=Q(created_at__gte=window_start)),
        negative=Count("pk", filter=Q(created_at__gte=window_start, sentiment=Sentiment.NEGATIVE)),
        baseline=Count("pk", filter=Q(created_at__lt=window_start)),
    )
    windows = settings.SPIKE_BASELINE_HOURS * 60 / window_minutes
    return counts["window"], counts["negative"], counts["baseline"] / windows


def _track(
    account: PlatformAccount,
    *,
    keyword: str,
    threshold: SpikeThreshold,
    negative_posts: int,
    window_start: datetime,
    now: datetime,
) -> SpikeAlert | None:
    with transaction.atomic():
        open_alert = (
            SpikeAlert.objects.select_for_update()
            .filter(account=account, keyword=keyword, ended_at=None)
            .first()
        )
        if open_alert is not None:
            if threshold.has_calmed:
                open_alert.ended_at = now
            open_alert.peak_posts = max(open_alert.peak_posts, threshold.window_posts)
            open_alert.negative_posts = max(open_alert.negative_posts, negative_posts)
            open_alert.save()
            return None
        if not threshold.is_spike:
            return None
        if keyword:
            kind = SpikeKind.KEYWORD
        elif negative_posts >= threshold.window_posts * NEGATIVE_BURST_SHARE:
            kind = SpikeKind.NEGATIVE
        else:
            kind = SpikeKind.VOLUME
        try:
            with transaction.atomic():
                alert = SpikeAlert.objects.create(
                    account=account,
                    kind=kind,
                    keyword=keyword,
                    started_at=window_start,
                    detected_at=now,
                    window_posts=threshold.window_posts,
                    negative_posts=negative_posts,
                    baseline_posts=threshold.baseline_posts,
                    peak_posts=threshold.window_posts,
                )
        except IntegrityError:
            # Another detection run opened it a moment ago: one alert, not two.
            return None
        logger.warning(
            "%s on %s%s: %s posts in %s minutes (usually %.1f)",
            alert.get_kind_display(),
            account,
            f" ({keyword!r})" if keyword else "",
            threshold.window_posts,
            settings.SPIKE_WINDOW_MINUTES,
            threshold.baseline_posts,
        )
        alert_id = alert.pk
        transaction.on_commit(lambda: push_spike(alert_id))
    return alert


def push_spike(alert_id: int) -> None:
    """Tell the connected cockpits; a channel layer that is down is logged, the alert is
    stored and shows on the next load."""

    alert = SpikeAlert.objects.select_related("account", "post").get(pk=alert_id)
    try:
        async_to_sync(get_channel_layer().group_send)(
            SPIKES_GROUP, {"type": "spike.alert", "spike": spike_payload(alert)}
        )
    except Exception:
        logger.exception("Could not push spike alert %s", alert_id)


# --- CSAT ------------------------------------------------------------------------------------


def survey_url(survey: CsatSurvey) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/csat/{survey.token}/"


def offer_csat_survey(*, conversation_id: int) -> CsatSurvey | None:
    """Send the platform's survey message for the conversation's latest resolution, once.

    Nothing is sent without an active template for the platform, or if the conversation was
    reopened meanwhile. The message goes out like a reply, through the delivery queue.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account")
            .get(pk=conversation_id)
        )
        if conversation.status != ConversationStatus.RESOLVED or conversation.resolved_at is None:
            return None
        template = CsatTemplate.objects.filter(
            platform=conversation.account.platform, is_active=True
        ).first()
        if template is None:
            return None
        survey, created = CsatSurvey.objects.get_or_create(
            conversation=conversation, resolved_at=conversation.resolved_at
        )
        if not created:
            return survey
        answered = (
            conversation.posts.filter(direction=Direction.INBOUND)
            .order_by("-created_at", "-id")
            .values_list("external_id", flat=True)
            .first()
        )
        survey.message = Post.objects.create(
            conversation=conversation,
            direction=Direction.OUTBOUND,
            platform=conversation.account.platform,
            text=render_text(
                template.body,
                conversation=conversation,
                extra={"survey_link": survey_url(survey)},
            ),
            in_reply_to=answered or "",
            created_at=timezone.now(),
            delivery_status=DeliveryStatus.PENDING,
        )
        survey.save(update_fields=["message"])
        message_id = survey.message.pk
        deliver_after_commit(message_id)
    return survey


def conversations_due_a_survey(*, now: datetime | None = None) -> list[int]:
    """Resolved conversations (in the last day) whose resolution has no survey yet, on
    platforms with an active survey template."""
    now = now or timezone.now()
    platforms = CsatTemplate.objects.filter(is_active=True).values("platform")
    return list(
        Conversation.objects.filter(
            status=ConversationStatus.RESOLVED,
            resolved_at__gte=now - timedelta(days=1),
            account__platform__in=platforms,
        )
        .exclude(
            Exists(
                CsatSurvey.objects.filter(
                    conversation=OuterRef("pk"), resolved_at=OuterRef("resolved_at")
                )
            )
        )
        .values_list("pk", flat=True)[:500]
    )


def record_csat_response(*, token: str, score: int) -> CsatSurvey:
    """Store the customer's score; the first answer counts, a second one changes nothing.

    Raises CsatSurvey.DoesNotExist for an unknown token and ValidationError for a score off
    the scale.
    """
    if not isinstance(score, int) or not 1 <= score <= CSAT_SCALE:
        raise ValidationError(f"Choose a score from 1 to {CSAT_SCALE}.")
    with transaction.atomic():
        survey = CsatSurvey.objects.select_for_update().get(token=token)
        if survey.score is None:
            survey.score = score
            survey.responded_at = timezone.now()
            survey.save(update_fields=["score", "responded_at"])
    return survey


# --- the weekly report e-mail ----------------------------------------------------------------


def supervisors_to_mail() -> list:
    """Active supervisors (by role, own permission or superuser) with an e-mail address."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    app_label, codename = SUPERVISOR_PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions=permission)
            | Q(groups__permissions=permission)
        )
        .distinct()
        .order_by("pk")
    )


def send_weekly_report(*, now: datetime | None = None) -> WeeklyReport | None:
    """E-mail each supervisor last week's summary (Monday to Sunday, in TIME_ZONE), once per
    week: the first run after the week ends sends it, later runs find it sent."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    week_start = today - timedelta(days=today.weekday() + 7)
    tz = timezone.get_current_timezone()
    start = datetime.combine(week_start, datetime.min.time(), tzinfo=tz)
    with transaction.atomic():
        report, created = WeeklyReport.objects.select_for_update().get_or_create(
            week_start=week_start
        )
        if not created:
            return None
        recipients = supervisors_to_mail()
        for user in recipients:
            numbers = kpis(ReportFilter(start=start, end=start + timedelta(days=7), user=user))
            body = render_to_string(
                "dashboards/weekly_report.txt",
                {
                    "user": user,
                    "week_start": week_start,
                    "week_end": week_start + timedelta(days=6),
                    "rows": summary_rows(numbers),
                    "reports_url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/dashboards/reports/"
                    f"?start={week_start}&end={week_start + timedelta(days=6)}",
                },
            )
            # A mail server that refuses one address must not stop the others' reports.
            try:
                send_mail(
                    f"Parley weekly report: week of {week_start:%d %b %Y}",
                    body,
                    None,
                    [user.email],
                )
            except Exception:
                logger.exception("Could not e-mail the weekly report to %s", user.email)
        report.recipients = len(recipients)
        report.save(update_fields=["recipients"])
    return report


# --- scheduled report e-mails -----------------------------------------------------------------


def last_complete_period(period: str, today: date) -> tuple[date, date]:
    """The last whole day, week (Monday to Sunday) or calendar month before `today`:
    (first day, last day), days in TIME_ZONE."""
    if period == ReportPeriod.DAY:
        day = today - timedelta(days=1)
        return day, day
    if period == ReportPeriod.MONTH:
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    start = today - timedelta(days=today.weekday() + 7)
    return start, start + timedelta(days=6)


def send_scheduled_reports(*, now: datetime | None = None) -> int:
    """Mail every active schedule whose last complete period has not been sent yet; returns
    how many were sent. Each schedule is locked while it is sent and marked in the same
    transaction, so concurrent runs send each period once (a failing mail server is logged
    and the period retried on the next run)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    sent = 0
    for schedule_id in ReportSchedule.objects.filter(is_active=True).values_list("pk", flat=True):
        with transaction.atomic():
            schedule = (
                ReportSchedule.objects.select_for_update()
                .select_related("owner")
                .filter(pk=schedule_id, is_active=True)
                .first()
            )
            if schedule is None:
                continue
            first, last = last_complete_period(schedule.period, today)
            if schedule.last_period_start is not None and schedule.last_period_start >= first:
                continue
            try:
                _mail_schedule(schedule, first, last)
            except Exception:
                logger.exception("Could not e-mail the scheduled report %s", schedule.pk)
                continue
            schedule.last_period_start = first
            schedule.save(update_fields=["last_period_start"])
            sent += 1
    return sent


def _mail_schedule(schedule: ReportSchedule, first: date, last: date) -> None:
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string

    tz = timezone.get_current_timezone()
    report = ReportFilter(
        start=datetime.combine(first, datetime.min.time(), tzinfo=tz),
        end=datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz),
        user=schedule.owner,
    )
    body = render_to_string(
        "dashboards/scheduled_report.txt",
        {
            "schedule": schedule,
            "first": first,
            "last": last,
            "rows": summary_rows(kpis(report)),
            "reports_url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/dashboards/reports/"
            f"?start={first}&end={last}",
        },
    )
    period = f"{first:%d %b %Y}" if first == last else f"{first:%d %b} to {last:%d %b %Y}"
    message = EmailMessage(
        f"Parley: {schedule.name}, {period}",
        body,
        to=schedule.recipient_list(),
    )
    for name in schedule.reports:
        if name in EXPORTS:
            message.attach(
                f"parley-{name}-{first}-{last}.csv",
                "".join(export_lines(name, report)),
                "text/csv",
            )
    message.send()
