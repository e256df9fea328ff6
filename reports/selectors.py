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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
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
    Sum,
)
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from core.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    Conversation,
    CustomerTurn,
    Direction,
    Intent,
    Platform,
    Post,
    Sentiment,
    Team,
)
from core.selectors import (
    can_see_all_conversations,
    visible_conversations,
    visible_team_ids,
)
from ingestion.models import PlatformAccount
from sla.models import SlaTimer, TimerKind, TimerState
from sla.selectors import with_sla
from triage.models import AutoReply, TriageFeedback

from .db import SecondsBetween, aggregate_with_percentiles, grouped_percentiles
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


def _sees_everything(report: ReportFilter) -> bool:
    """No slice, and a user who may see every conversation: the scope would keep every row."""
    sliced = (
        report.platform
        or report.account_id
        or report.team_id
        or report.agent_id
        or report.intent is not None
    )
    return not sliced and (report.user is None or can_see_all_conversations(report.user))


def _in_scope(rows: QuerySet, report: ReportFilter) -> QuerySet:
    """Rows (of a model with a `conversation`) of the conversations in scope. Unsliced, for a
    supervisor who sees everything, the filter is left out: it would join every conversation
    ever to each row just to keep them all."""
    if _sees_everything(report):
        return rows
    return rows.filter(conversation__in=conversations_in_scope(report).values("pk"))


def _created_in_period(report: ReportFilter) -> QuerySet[Conversation]:
    return conversations_in_scope(report).filter(
        created_at__gte=report.start, created_at__lt=report.end
    )


def inbound_posts(report: ReportFilter) -> QuerySet[Post]:
    return _in_scope(
        Post.objects.filter(
            direction=Direction.INBOUND, created_at__gte=report.start, created_at__lt=report.end
        ),
        report,
    )


# --- response and resolution times -----------------------------------------------------------


def first_response(report: ReportFilter) -> dict[str, Any]:
    counts, quantiles = aggregate_with_percentiles(
        _created_in_period(report)
        .filter(needs_reply=True)
        .annotate(seconds=SecondsBetween("first_response_at", "created_at")),
        "seconds",
        [MEDIAN, P90],
        total=Count("pk"),
        answered=Count("pk", filter=Q(first_response_at__isnull=False)),
    )
    timers = _in_scope(
        SlaTimer.objects.filter(
            kind=TimerKind.FIRST_RESPONSE,
            stopped_at__isnull=False,
            conversation__created_at__gte=report.start,
            conversation__created_at__lt=report.end,
            conversation__needs_reply=True,
        ),
        report,
    ).aggregate(measured=Count("pk"), met=Count("pk", filter=Q(state=TimerState.MET)))
    return {
        "conversations": counts["total"],
        "answered": counts["answered"],
        "median_seconds": quantiles[MEDIAN],
        "p90_seconds": quantiles[P90],
        "within_target": _share(timers["met"], timers["measured"]),
        "measured_against_target": timers["measured"],
    }


def next_response(report: ReportFilter) -> dict[str, Any]:
    """From the customer turns recorded as posts were written (core.models.CustomerTurn):
    one range scan instead of three searches per inbound post."""
    turns = _in_scope(
        CustomerTurn.objects.filter(started_at__gte=report.start, started_at__lt=report.end),
        report,
    ).annotate(seconds=SecondsBetween("answered_at", "started_at"))
    counts, quantiles = aggregate_with_percentiles(
        turns,
        "seconds",
        [MEDIAN, P90],
        total=Count("pk"),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
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
    return [
        {
            "intent": row["intent"],
            "label": labels.get(row["intent"], row["intent"]),
            "resolved": row["n"],
            "median_seconds": row[MEDIAN],
            "p90_seconds": row[P90],
        }
        for row in grouped_percentiles(resolved, "intent", "seconds", [MEDIAN, P90], n=Count("pk"))
    ]


def handling_time(report: ReportFilter) -> dict[str, Any]:
    handled = (
        _created_in_period(report)
        .filter(resolved_at__isnull=False, first_response_at__isnull=False)
        .annotate(seconds=SecondsBetween("resolved_at", "first_response_at"))
    )
    # Per assignee, then overall from the groups (the unassigned group included): one pass.
    groups = list(
        handled.values("assignee_id").annotate(total=Sum("seconds"), n=Count("pk")).order_by()
    )
    handled_count = sum(row["n"] for row in groups)
    overall = sum(row["total"] for row in groups) / handled_count if handled_count else None
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[row["assignee_id"] for row in groups if row["assignee_id"]])
        .values_list("pk", "username")
    )
    by_agent = sorted(
        (row for row in groups if row["assignee_id"] is not None),
        key=lambda row: names[row["assignee_id"]],
    )
    return {
        "conversations": handled_count,
        "average_seconds": _round(overall),
        "by_agent": [
            {
                "agent_id": row["assignee_id"],
                "agent": names[row["assignee_id"]],
                "conversations": row["n"],
                "average_seconds": _round(row["total"] / row["n"]),
            }
            for row in by_agent
        ],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


# --- volume, when customers write, how they feel ---------------------------------------------


def _inbound_counts(report: ReportFilter, *, by_account: bool) -> list[dict[str, Any]]:
    """The period's inbound posts counted per day (TIME_ZONE) and platform (and account), with
    their sentiments: volume and sentiment read these few rows, so the KPIs scan the posts
    once (an index-only scan on Postgres: the account is kept on the post)."""
    keys = ["day", "platform", *(["account_id"] if by_account else [])]
    return list(
        inbound_posts(report)
        .annotate(day=TruncDate("created_at"))
        .values(*keys)
        .annotate(
            posts=Count("pk"),
            positive=Count("pk", filter=Q(sentiment=Sentiment.POSITIVE)),
            neutral=Count("pk", filter=Q(sentiment=Sentiment.NEUTRAL)),
            negative=Count("pk", filter=Q(sentiment=Sentiment.NEGATIVE)),
            untriaged=Count("pk", filter=Q(sentiment="")),
        )
        .order_by()
    )


def _auto_replied(report: ReportFilter) -> dict[str, int]:
    """The period's auto-replied inbound posts, and how many of them an agent corrected: read
    from the auto-replies (a few posts), not by probing every inbound post for one."""
    corrected = TriageFeedback.objects.filter(
        post=OuterRef("post_id"), field=TriageFeedback.Field.INTENT
    ).exclude(label=F("predicted"))
    auto_replies = AutoReply.objects.filter(
        post__direction=Direction.INBOUND,
        post__created_at__gte=report.start,
        post__created_at__lt=report.end,
    )
    if not _sees_everything(report):
        auto_replies = auto_replies.filter(
            post__conversation__in=conversations_in_scope(report).values("pk")
        )
    return auto_replies.aggregate(auto=Count("pk"), corrected=Count("pk", filter=Exists(corrected)))


def _sum_by(rows: list[dict[str, Any]], key: str | tuple[str, ...], field: str) -> dict:
    totals: dict = defaultdict(int)
    for row in rows:
        group = tuple(row[k] for k in key) if isinstance(key, tuple) else row[key]
        totals[group] += row[field]
    return totals


def volume_by_channel(report: ReportFilter) -> dict[str, Any]:
    return _volume(_inbound_counts(report, by_account=True))


def _volume(counts: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(row["posts"] for row in counts)
    labels = dict(Platform.choices)
    by_platform = sorted(
        _sum_by(counts, "platform", "posts").items(), key=lambda item: (-item[1], item[0])
    )
    per_account = _sum_by(counts, ("account_id", "platform"), "posts")
    handles = dict(
        PlatformAccount.objects.filter(pk__in={account for account, _ in per_account}).values_list(
            "pk", "handle"
        )
    )
    by_account = sorted(
        per_account.items(), key=lambda item: (-item[1], handles[item[0][0]], item[0])
    )
    return {
        "total": total,
        "platforms": [
            {
                "platform": platform,
                "label": labels.get(platform, platform),
                "posts": posts,
                "share": _share(posts, total),
            }
            for platform, posts in by_platform
        ],
        "accounts": [
            {
                "account_id": account_id,
                "account": f"@{handles[account_id]}",
                "platform": platform,
                "posts": posts,
                "share": _share(posts, total),
            }
            for (account_id, platform), posts in by_account
        ],
    }


def heatmap(report: ReportFilter) -> dict[str, Any]:
    """Inbound posts per weekday (Mon=0) x hour of day, in the site's timezone."""
    cells = [[0] * 24 for _ in WEEKDAYS]
    # Counted per local hour (a few hundred groups Postgres hashes), then folded into the
    # week here: grouping by EXTRACT(ISODOW), EXTRACT(HOUR) made it sort every post.
    rows = (
        inbound_posts(report)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        local = timezone.localtime(row["hour"])
        cells[local.weekday()][local.hour] += row["n"]
    return {"weekdays": WEEKDAYS, "hours": list(range(24)), "cells": cells}


def sentiment_trend(report: ReportFilter) -> dict[str, Any]:
    return _sentiment(_inbound_counts(report, by_account=False))


def _sentiment(counts: list[dict[str, Any]]) -> dict[str, Any]:
    moods = ("positive", "neutral", "negative", "untriaged")
    per_day = {mood: _sum_by(counts, "day", mood) for mood in moods}
    days = [
        {"day": day.isoformat(), **{mood: per_day[mood][day] for mood in moods}}
        for day in sorted(per_day["positive"])
    ]
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
    return _auto_responses(inbound_posts(report).count(), _auto_replied(report))


def _auto_responses(total: int, replied: dict[str, int]) -> dict[str, Any]:
    auto, corrected = replied["auto"], replied["corrected"]
    return {
        "inbound_posts": total,
        "auto_replied": auto,
        "corrected": corrected,
        "rate": _share(auto, total),
        "correction_rate": _share(corrected, auto),
    }


def csat(report: ReportFilter) -> dict[str, Any]:
    surveys = _in_scope(
        CsatSurvey.objects.filter(sent_at__gte=report.start, sent_at__lt=report.end), report
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
    # Volume, sentiment and the auto-response rate share one scan of the period's inbound posts.
    inbound = _inbound_counts(report, by_account=True)
    return {
        "filter": report.describe(),
        "first_response": first_response(report),
        "next_response": next_response(report),
        "resolution_by_intent": resolution_by_intent(report),
        "handling_time": handling_time(report),
        "volume": _volume(inbound),
        "no_reply": no_reply_share(report),
        "sentiment": _sentiment(inbound),
        "auto_responses": _auto_responses(
            sum(row["posts"] for row in inbound), _auto_replied(report)
        ),
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
