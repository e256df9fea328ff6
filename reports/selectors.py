"""The supervisors' numbers: KPIs over a period, the "very responsive" tracker and the live
cockpit, each aggregated by the database (see reports.db for percentiles on both backends).

Definitions, so the numbers can be checked by hand:
- first response: conversation created -> first brand reply (wall-clock seconds); "within
  target" is the share of stopped first-response SLA timers that were met (business time);
- next response: a customer message that starts a new turn (the brand had answered
  everything before it) -> the brand's next reply;
- resolution: conversation created -> resolved, per intent;
- handling time: first brand reply -> resolution, the agent's share of the conversation,
  averaged overall and per assignee;
- volume, heatmap and sentiment count inbound posts by when the customer posted, in
  TIME_ZONE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone

from helpdesk.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    Conversation,
    Direction,
    Intent,
    Platform,
    Post,
    Sentiment,
    Team,
)
from helpdesk.selectors import visible_conversations, visible_team_ids
from ingestion.models import PlatformAccount
from sla.models import SlaTimer, TimerKind, TimerState
from sla.selectors import with_sla
from triage.models import TriageFeedback

from .db import SecondsBetween, percentiles
from .models import CSAT_SATISFIED_FROM, CsatSurvey, SpikeAlert

MEDIAN, P90 = 0.5, 0.9
VERY_RESPONSIVE_MINUTES = 15
VERY_RESPONSIVE_BAR = 0.9
VERY_RESPONSIVE_DAYS = 7
LIVE_RATE_MINUTES = 5
USUAL_RATE_DAYS = 7
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class ReportFilter:
    """The period [start, end) and the optional slices every KPI honours."""

    start: datetime
    end: datetime
    platform: str = ""
    account_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    intent: str | None = None
    # Filled by the view: the supervisor's visibility.
    user: AbstractBaseUser | None = field(default=None, compare=False)

    def describe(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "platform": self.platform,
            "account": self.account_id,
            "team": self.team_id,
            "agent": self.agent_id,
            "intent": self.intent,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def conversations_in_scope(report: ReportFilter) -> QuerySet[Conversation]:
    """Conversations matching the slices (any date): the reports' base set."""
    conversations = (
        visible_conversations(report.user) if report.user else Conversation.objects.all()
    )
    if report.platform:
        conversations = conversations.filter(account__platform=report.platform)
    if report.account_id:
        conversations = conversations.filter(account_id=report.account_id)
    if report.team_id:
        conversations = conversations.filter(team_id=report.team_id)
    if report.agent_id:
        conversations = conversations.filter(assignee_id=report.agent_id)
    if report.intent is not None:
        conversations = conversations.filter(intent=report.intent)
    return conversations


def _created_in_period(report: ReportFilter) -> QuerySet[Conversation]:
    return conversations_in_scope(report).filter(
        created_at__gte=report.start, created_at__lt=report.end
    )


def inbound_posts(report: ReportFilter) -> QuerySet[Post]:
    return Post.objects.filter(
        direction=Direction.INBOUND,
        created_at__gte=report.start,
        created_at__lt=report.end,
        conversation__in=conversations_in_scope(report).values("pk"),
    )


# --- response and resolution times -----------------------------------------------------------


def first_response(report: ReportFilter) -> dict[str, Any]:
    conversations = _created_in_period(report).filter(needs_reply=True)
    timed = conversations.annotate(seconds=SecondsBetween("first_response_at", "created_at"))
    quantiles = percentiles(timed, "seconds", [MEDIAN, P90])
    counts = conversations.aggregate(
        total=Count("pk"), answered=Count("pk", filter=Q(first_response_at__isnull=False))
    )
    timers = SlaTimer.objects.filter(
        kind=TimerKind.FIRST_RESPONSE,
        stopped_at__isnull=False,
        conversation__in=conversations.values("pk"),
    ).aggregate(measured=Count("pk"), met=Count("pk", filter=Q(state=TimerState.MET)))
    return {
        "conversations": counts["total"],
        "answered": counts["answered"],
        "median_seconds": quantiles[MEDIAN],
        "p90_seconds": quantiles[P90],
        "within_target": _share(timers["met"], timers["measured"]),
        "measured_against_target": timers["measured"],
    }


def _turn_starts(report: ReportFilter) -> QuerySet[Post]:
    """Customer messages the brand owed a next response to, with `seconds` until it came."""
    outbound = Post.objects.filter(
        conversation=OuterRef("conversation"), direction=Direction.OUTBOUND
    )
    last_reply_before = (
        outbound.filter(created_at__lt=OuterRef("created_at"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    next_reply = (
        outbound.filter(created_at__gte=OuterRef("created_at"))
        .order_by("created_at")
        .values("created_at")[:1]
    )
    earlier_in_same_turn = Post.objects.filter(
        conversation=OuterRef("conversation"),
        direction=Direction.INBOUND,
        created_at__gt=OuterRef("last_reply_before"),
        created_at__lt=OuterRef("created_at"),
    )
    return (
        inbound_posts(report)
        .annotate(last_reply_before=Subquery(last_reply_before))
        .filter(last_reply_before__isnull=False)
        .annotate(earlier=Exists(earlier_in_same_turn))
        .filter(earlier=False)
        .annotate(next_reply_at=Subquery(next_reply))
        .annotate(seconds=SecondsBetween("next_reply_at", "created_at"))
    )


def next_response(report: ReportFilter) -> dict[str, Any]:
    turns = _turn_starts(report)
    quantiles = percentiles(turns, "seconds", [MEDIAN, P90])
    counts = turns.aggregate(
        total=Count("pk"), answered=Count("pk", filter=Q(next_reply_at__isnull=False))
    )
    return {
        "customer_turns": counts["total"],
        "answered": counts["answered"],
        "median_seconds": quantiles[MEDIAN],
        "p90_seconds": quantiles[P90],
    }


def resolution_by_intent(report: ReportFilter) -> list[dict[str, Any]]:
    resolved = (
        _created_in_period(report)
        .filter(resolved_at__isnull=False)
        .annotate(seconds=SecondsBetween("resolved_at", "created_at"))
    )
    labels = dict(Intent.choices)
    rows = []
    counts = resolved.values("intent").annotate(n=Count("pk")).order_by("intent")
    for row in counts:
        quantiles = percentiles(resolved.filter(intent=row["intent"]), "seconds", [MEDIAN, P90])
        rows.append(
            {
                "intent": row["intent"],
                "label": labels.get(row["intent"], row["intent"]),
                "resolved": row["n"],
                "median_seconds": quantiles[MEDIAN],
                "p90_seconds": quantiles[P90],
            }
        )
    return rows


def handling_time(report: ReportFilter) -> dict[str, Any]:
    handled = (
        _created_in_period(report)
        .filter(resolved_at__isnull=False, first_response_at__isnull=False)
        .annotate(seconds=SecondsBetween("resolved_at", "first_response_at"))
    )
    overall = handled.aggregate(average=Avg("seconds"), n=Count("pk"))
    by_agent = (
        handled.filter(assignee__isnull=False)
        .values("assignee_id", "assignee__username")
        .annotate(average=Avg("seconds"), n=Count("pk"))
        .order_by("assignee__username")
    )
    return {
        "conversations": overall["n"],
        "average_seconds": _round(overall["average"]),
        "by_agent": [
            {
                "agent_id": row["assignee_id"],
                "agent": row["assignee__username"],
                "conversations": row["n"],
                "average_seconds": _round(row["average"]),
            }
            for row in by_agent
        ],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


# --- volume, when customers write, how they feel ---------------------------------------------


def volume_by_channel(report: ReportFilter) -> dict[str, Any]:
    posts = inbound_posts(report)
    total = posts.count()
    labels = dict(Platform.choices)
    by_platform = posts.values("platform").annotate(n=Count("pk")).order_by("-n", "platform")
    by_account = (
        posts.values("conversation__account_id", "conversation__account__handle", "platform")
        .annotate(n=Count("pk"))
        .order_by("-n", "conversation__account__handle")
    )
    return {
        "total": total,
        "platforms": [
            {
                "platform": row["platform"],
                "label": labels.get(row["platform"], row["platform"]),
                "posts": row["n"],
                "share": _share(row["n"], total),
            }
            for row in by_platform
        ],
        "accounts": [
            {
                "account_id": row["conversation__account_id"],
                "account": f"@{row['conversation__account__handle']}",
                "platform": row["platform"],
                "posts": row["n"],
                "share": _share(row["n"], total),
            }
            for row in by_account
        ],
    }


def heatmap(report: ReportFilter) -> dict[str, Any]:
    """Inbound posts per weekday (Mon=0) x hour of day, in the site's timezone."""
    cells = [[0] * 24 for _ in WEEKDAYS]
    rows = (
        inbound_posts(report)
        .annotate(weekday=ExtractIsoWeekDay("created_at"), hour=ExtractHour("created_at"))
        .values("weekday", "hour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        cells[row["weekday"] - 1][row["hour"]] = row["n"]
    return {"weekdays": WEEKDAYS, "hours": list(range(24)), "cells": cells}


def sentiment_trend(report: ReportFilter) -> dict[str, Any]:
    posts = inbound_posts(report)
    per_day = (
        posts.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            positive=Count("pk", filter=Q(sentiment=Sentiment.POSITIVE)),
            neutral=Count("pk", filter=Q(sentiment=Sentiment.NEUTRAL)),
            negative=Count("pk", filter=Q(sentiment=Sentiment.NEGATIVE)),
            untriaged=Count("pk", filter=Q(sentiment="")),
        )
        .order_by("day")
    )
    days = [{**row, "day": row["day"].isoformat()} for row in per_day]
    positive = sum(day["positive"] for day in days)
    negative = sum(day["negative"] for day in days)
    return {
        "days": days,
        "positive": positive,
        "negative": negative,
        "positive_to_negative": round(positive / negative, 3) if negative else None,
    }


def no_reply_share(report: ReportFilter) -> dict[str, Any]:
    counts = _created_in_period(report).aggregate(
        total=Count("pk"),
        no_reply=Count("pk", filter=Q(needs_reply=False) | Q(intent=Intent.SPAM)),
    )
    return {
        "conversations": counts["total"],
        "no_reply_needed": counts["no_reply"],
        "share": _share(counts["no_reply"], counts["total"]),
    }


def auto_responses(report: ReportFilter) -> dict[str, Any]:
    """The share of inbound posts triage answered automatically, and the share of those
    whose intent an agent then corrected (the auto-reply was sent on a wrong reading)."""
    posts = inbound_posts(report)
    corrected = TriageFeedback.objects.filter(
        post=OuterRef("pk"), field=TriageFeedback.Field.INTENT
    ).exclude(label=F("predicted"))
    counts = posts.aggregate(
        total=Count("pk"),
        auto=Count("pk", filter=Q(auto_reply__isnull=False)),
        corrected=Count("pk", filter=Q(auto_reply__isnull=False) & Exists(corrected)),
    )
    return {
        "inbound_posts": counts["total"],
        "auto_replied": counts["auto"],
        "corrected": counts["corrected"],
        "rate": _share(counts["auto"], counts["total"]),
        "correction_rate": _share(counts["corrected"], counts["auto"]),
    }


def csat(report: ReportFilter) -> dict[str, Any]:
    surveys = CsatSurvey.objects.filter(
        sent_at__gte=report.start,
        sent_at__lt=report.end,
        conversation__in=conversations_in_scope(report).values("pk"),
    )
    counts = surveys.aggregate(
        sent=Count("pk"),
        answered=Count("pk", filter=Q(score__isnull=False)),
        satisfied=Count("pk", filter=Q(score__gte=CSAT_SATISFIED_FROM)),
        average=Avg("score"),
    )
    return {
        "surveys_sent": counts["sent"],
        "responses": counts["answered"],
        "response_rate": _share(counts["answered"], counts["sent"]),
        "average_score": _round(counts["average"]),
        "satisfied_share": _share(counts["satisfied"], counts["answered"]),
    }


def spikes(report: ReportFilter) -> list[dict[str, Any]]:
    alerts = SpikeAlert.objects.filter(
        detected_at__gte=report.start, detected_at__lt=report.end
    ).select_related("account", "post")
    if report.platform:
        alerts = alerts.filter(account__platform=report.platform)
    if report.account_id:
        alerts = alerts.filter(account_id=report.account_id)
    return [spike_payload(alert) for alert in alerts]


def spike_payload(alert: SpikeAlert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "label": alert.get_kind_display(),
        "account": f"@{alert.account.handle}",
        "account_id": alert.account_id,
        "keyword": alert.keyword,
        "started_at": alert.started_at.isoformat(),
        "detected_at": alert.detected_at.isoformat(),
        "ended_at": alert.ended_at.isoformat() if alert.ended_at else None,
        "window_posts": alert.window_posts,
        "negative_posts": alert.negative_posts,
        "baseline_posts": round(alert.baseline_posts, 2),
        "peak_posts": alert.peak_posts,
        "post_id": alert.post_id,
        "conversation_url": (
            f"/conversations/{alert.post.conversation_id}/" if alert.post_id else None
        ),
    }


def kpis(report: ReportFilter) -> dict[str, Any]:
    """Every KPI of the period: what the reports page shows and the CSV summary exports."""
    return {
        "filter": report.describe(),
        "first_response": first_response(report),
        "next_response": next_response(report),
        "resolution_by_intent": resolution_by_intent(report),
        "handling_time": handling_time(report),
        "volume": volume_by_channel(report),
        "no_reply": no_reply_share(report),
        "sentiment": sentiment_trend(report),
        "auto_responses": auto_responses(report),
        "csat": csat(report),
    }


# --- "very responsive" -----------------------------------------------------------------------


def very_responsive(
    *, now: datetime | None = None, user: AbstractBaseUser | None = None, missed_limit: int = 50
) -> list[dict[str, Any]]:
    """Per account: the share of inbound posts of the last 7 days answered within 15 minutes,
    against the 90 % bar, with the posts that missed it (newest first).

    Posts younger than 15 minutes and still unanswered are not judged yet.
    """
    now = now or timezone.now()
    since = now - timedelta(days=VERY_RESPONSIVE_DAYS)
    judged_before = now - timedelta(minutes=VERY_RESPONSIVE_MINUTES)
    answered_in_time = Post.objects.filter(
        conversation=OuterRef("conversation"),
        direction=Direction.OUTBOUND,
        created_at__gte=OuterRef("created_at"),
        created_at__lte=OuterRef("created_at") + timedelta(minutes=VERY_RESPONSIVE_MINUTES),
    )
    conversations = visible_conversations(user) if user else Conversation.objects.all()
    posts = Post.objects.filter(
        direction=Direction.INBOUND,
        created_at__gte=since,
        conversation__needs_reply=True,
        conversation__in=conversations.values("pk"),
    ).annotate(in_time=Exists(answered_in_time))
    judged = posts.filter(Q(in_time=True) | Q(created_at__lte=judged_before))
    per_account = {
        row["conversation__account_id"]: row
        for row in judged.values("conversation__account_id")
        .annotate(total=Count("pk"), in_time_count=Count("pk", filter=Q(in_time=True)))
        .order_by()
    }
    result = []
    for account in PlatformAccount.objects.filter(is_active=True).order_by("platform", "handle"):
        row = per_account.get(account.pk, {"total": 0, "in_time_count": 0})
        share = _share(row["in_time_count"], row["total"])
        missed = (
            judged.filter(conversation__account=account, in_time=False)
            .select_related("customer")
            .order_by("-created_at")[:missed_limit]
        )
        result.append(
            {
                "account_id": account.pk,
                "account": f"@{account.handle}",
                "platform": account.get_platform_display(),
                "posts": row["total"],
                "answered_in_time": row["in_time_count"],
                "share": share,
                "bar": VERY_RESPONSIVE_BAR,
                "meets_bar": share is not None and share >= VERY_RESPONSIVE_BAR,
                "missed": [
                    {
                        "post_id": post.pk,
                        "conversation_id": post.conversation_id,
                        "customer": f"@{post.customer.handle}" if post.customer else "",
                        "created_at": post.created_at.isoformat(),
                        "text": post.text[:140],
                        "url": f"/conversations/{post.conversation_id}/",
                    }
                    for post in missed
                ],
            }
        )
    return result


# --- the live cockpit ------------------------------------------------------------------------


def cockpit(user: AbstractBaseUser, *, now: datetime | None = None) -> dict[str, Any]:
    """The state of the queues right now, for the cockpit page and its live updates."""
    now = now or timezone.now()
    active = (
        visible_conversations(user)
        .filter(status__in=ACTIVE_STATUSES)
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    )
    last_reply = (
        Post.objects.filter(conversation=OuterRef("pk"), direction=Direction.OUTBOUND)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    waiting = active.annotate(last_reply_at=Subquery(last_reply)).filter(
        Q(last_reply_at__isnull=True) | Q(last_reply_at__lt=F("last_inbound_at"))
    )
    oldest_waiting = {
        (row["team_id"], row["account__platform"]): row["oldest"]
        for row in waiting.values("team_id", "account__platform")
        .annotate(oldest=Min("last_inbound_at"))
        .order_by()
    }
    labels = dict(Platform.choices)
    queues = []
    sla_rows = (
        with_sla(active)
        .values("team_id", "team__name", "account__platform")
        .annotate(
            depth=Count("pk"),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            at_risk=Count("pk", filter=Q(sla_state=TimerState.AT_RISK)),
            breached=Count("pk", filter=Q(sla_state=TimerState.BREACHED)),
        )
        .order_by("team__name", "account__platform")
    )
    for row in sla_rows:
        oldest = oldest_waiting.get((row["team_id"], row["account__platform"]))
        queues.append(
            {
                "team_id": row["team_id"],
                "team": row["team__name"] or "No team",
                "platform": row["account__platform"],
                "platform_label": labels.get(row["account__platform"], ""),
                "depth": row["depth"],
                "unassigned": row["unassigned"],
                "at_risk": row["at_risk"],
                "breached": row["breached"],
                "oldest_waiting_since": oldest.isoformat() if oldest else None,
                "oldest_waiting_seconds": int((now - oldest).total_seconds()) if oldest else None,
            }
        )
    attention = (
        with_sla(active)
        .filter(sla_state__in=[TimerState.BREACHED, TimerState.AT_RISK])
        .select_related("customer", "account", "team", "assignee")
        .order_by(F("sla_due_at").asc(nulls_first=True), "pk")[:100]
    )
    team_ids = visible_team_ids(user)
    agents = (
        AgentProfile.objects.filter(is_online=True, teams__in=team_ids)
        .distinct()
        .select_related("user")
        .annotate(
            load=Count(
                "user__assigned_conversations",
                filter=Q(user__assigned_conversations__status__in=ACTIVE_STATUSES),
                distinct=True,
            )
        )
        .order_by("user__username")
    )
    return {
        "generated_at": now.isoformat(),
        "queues": queues,
        "totals": {
            "depth": sum(q["depth"] for q in queues),
            "unassigned": sum(q["unassigned"] for q in queues),
            "at_risk": sum(q["at_risk"] for q in queues),
            "breached": sum(q["breached"] for q in queues),
        },
        "attention": [
            {
                "id": conversation.pk,
                "customer": f"@{conversation.customer.handle}",
                "platform": conversation.account.get_platform_display(),
                "team": conversation.team.name if conversation.team else "",
                "assignee": conversation.assignee.get_username() if conversation.assignee else "",
                "state": conversation.sla_state,
                "due_at": conversation.sla_due_at.isoformat() if conversation.sla_due_at else None,
                "url": f"/conversations/{conversation.pk}/",
            }
            for conversation in attention
        ],
        "agents": [
            {
                "agent": profile.user.get_username(),
                "load": profile.load,
                "capacity": profile.capacity,
            }
            for profile in agents
        ],
        "rate": posts_per_minute(user, now=now),
        "spikes": [
            spike_payload(alert)
            for alert in SpikeAlert.objects.filter(
                Q(ended_at__isnull=True) | Q(detected_at__gte=now - timedelta(hours=24))
            ).select_related("account", "post")[:20]
        ],
        "teams": list(Team.objects.filter(pk__in=team_ids).values("id", "name")),
    }


def posts_per_minute(user: AbstractBaseUser, *, now: datetime) -> dict[str, Any]:
    """Inbound posts per minute over the last 5 minutes, and over the 7 days before them."""
    window_start = now - timedelta(minutes=LIVE_RATE_MINUTES)
    usual_start = window_start - timedelta(days=USUAL_RATE_DAYS)
    counts = Post.objects.filter(
        direction=Direction.INBOUND,
        created_at__gte=usual_start,
        created_at__lt=now,
        conversation__in=visible_conversations(user).values("pk"),
    ).aggregate(
        now=Count("pk", filter=Q(created_at__gte=window_start)),
        usual=Count("pk", filter=Q(created_at__lt=window_start)),
    )
    return {
        "now": round(counts["now"] / LIVE_RATE_MINUTES, 2),
        "usual": round(counts["usual"] / (USUAL_RATE_DAYS * 24 * 60), 2),
        "window_minutes": LIVE_RATE_MINUTES,
    }
