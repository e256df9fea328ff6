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

from django.conf import settings
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
    display_name,
    visible_conversations,
    visible_team_ids,
)
from ingestion.models import PlatformAccount
from sla.models import SlaTimer, TimerKind, TimerState
from sla.selectors import next_threshold_at, with_sla
from triage.models import AutoReply, TriageFeedback

from .db import SecondsBetween, aggregate_with_percentiles, grouped_percentiles
from .durations import (
    duration_counts,
    duration_percentiles,
    histograms_answer,
    sees_everything,
)
from .models import CSAT_SATISFIED_FROM, CsatSurvey, DurationMetric, SpikeAlert
from .rollups import conversation_hours, inbound_hours
from .volume import volume_learning

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


def _in_scope(rows: QuerySet, report: ReportFilter) -> QuerySet:
    """Rows (of a model with a `conversation`) of the conversations in scope. Unsliced, for a
    supervisor who sees everything, the filter is left out: it would join every conversation
    ever to each row just to keep them all."""
    if sees_everything(report):
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


def _from_histograms(
    report: ReportFilter, measured: int, pending: int
) -> tuple[dict[str, int], dict[float, float | None]]:
    """aggregate_with_percentiles' answer (total, answered; median and p90) from the daily
    histograms (reports.durations): `measured` holds the durations, `pending` the rows
    still waiting for their end."""
    row = duration_percentiles(measured, report, [MEDIAN, P90]).get(None, {"n": 0})
    waiting = duration_counts(pending, report).get(None, 0)
    quantiles = {fraction: row.get(fraction) for fraction in (MEDIAN, P90)}
    return {"total": row["n"] + waiting, "answered": row["n"]}, quantiles


def first_response(report: ReportFilter) -> dict[str, Any]:
    return _first_response(report, conversation_hours(report))


def _first_response(report: ReportFilter, hours: list[dict] | None) -> dict[str, Any]:
    """first_response with the period's conversation roll-up rows already read (any
    grouping: only their sums are used; None when the roll-up cannot answer)."""
    if histograms_answer(report):
        counts, quantiles = _from_histograms(
            report, DurationMetric.FIRST_RESPONSE, DurationMetric.FIRST_RESPONSE_PENDING
        )
    else:
        counts, quantiles = aggregate_with_percentiles(
            _created_in_period(report)
            .filter(needs_reply=True)
            .annotate(seconds=SecondsBetween("first_response_at", "created_at")),
            "seconds",
            [MEDIAN, P90],
            total=Count("pk"),
            answered=Count("pk", filter=Q(first_response_at__isnull=False)),
        )
    if hours is not None:
        timers = {
            "measured": sum(row["sla_measured"] for row in hours),
            "met": sum(row["sla_met"] for row in hours),
        }
    else:
        timers = _first_response_timers(report).aggregate(
            measured=Count("pk"), met=Count("pk", filter=Q(state=TimerState.MET))
        )
    return {
        "conversations": counts["total"],
        "answered": counts["answered"],
        "median_seconds": quantiles[MEDIAN],
        "p90_seconds": quantiles[P90],
        "within_target": _share(timers["met"], timers["measured"]),
        "measured_against_target": timers["measured"],
    }


def _first_response_timers(report: ReportFilter) -> QuerySet[SlaTimer]:
    """The stopped first-response timers of the period's conversations owed a reply: what
    the roll-up's sla_measured counts (Conversation.first_response_sla), read from the timers
    when it cannot answer."""
    return _in_scope(
        SlaTimer.objects.filter(
            kind=TimerKind.FIRST_RESPONSE,
            stopped_at__isnull=False,
            conversation__created_at__gte=report.start,
            conversation__created_at__lt=report.end,
            conversation__needs_reply=True,
        ),
        report,
    )


def next_response(report: ReportFilter) -> dict[str, Any]:
    """From the customer turns recorded as posts were written (core.models.CustomerTurn):
    one range scan instead of three searches per inbound post (none when the daily
    histograms answer)."""
    if histograms_answer(report):
        counts, quantiles = _from_histograms(
            report, DurationMetric.NEXT_RESPONSE, DurationMetric.NEXT_RESPONSE_PENDING
        )
    else:
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


def _labels(choices) -> dict[Any, str]:
    """Choice labels as plain strings, in the active language: the snapshots travel as JSON
    and over the channel layer, which cannot carry lazy translations."""
    return {value: str(label) for value, label in choices}


def resolution_by_intent(report: ReportFilter) -> list[dict[str, Any]]:
    labels = _labels(Intent.choices)
    if histograms_answer(report):
        per_intent = duration_percentiles(
            DurationMetric.RESOLUTION, report, [MEDIAN, P90], group="intent"
        )
        return [
            {
                "intent": intent,
                "label": labels.get(intent, intent),
                "resolved": row["n"],
                "median_seconds": row[MEDIAN],
                "p90_seconds": row[P90],
            }
            for intent, row in sorted(per_intent.items())
        ]
    resolved = (
        _created_in_period(report)
        .filter(resolved_at__isnull=False)
        .annotate(seconds=SecondsBetween("resolved_at", "created_at"))
    )
    # The intents with a resolved conversation, from the roll-up when it answers: the
    # percentiles are then computed per intent in one pass (see grouped_percentiles).
    hours = conversation_hours(report, "intent")
    intents = None if hours is None else [row["intent"] or "" for row in hours if row["resolved"]]
    return [
        {
            "intent": row["intent"],
            "label": labels.get(row["intent"], row["intent"]),
            "resolved": row["n"],
            "median_seconds": row[MEDIAN],
            "p90_seconds": row[P90],
        }
        for row in grouped_percentiles(
            resolved, "intent", "seconds", [MEDIAN, P90], groups=intents, n=Count("pk")
        )
    ]


def handling_time(report: ReportFilter) -> dict[str, Any]:
    return _handling_time(report, conversation_hours(report, "assignee_id"))


def _handling_time(report: ReportFilter, hours: list[dict] | None) -> dict[str, Any]:
    """handling_time with the period's conversation roll-up rows per assignee already read
    (None when the roll-up cannot answer)."""
    handled = (
        _created_in_period(report)
        .filter(resolved_at__isnull=False, first_response_at__isnull=False)
        .annotate(seconds=SecondsBetween("resolved_at", "first_response_at"))
    )
    # Per assignee, then overall from the groups (the unassigned group included): one pass.
    if hours is not None:
        groups = [
            {
                "assignee_id": row["assignee_id"],
                "total": row["handling_seconds"],
                "n": row["handled"],
            }
            for row in hours
            if row["handled"]
        ]
    else:
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


# --- per agent and per team ------------------------------------------------------------------


def by_agent(report: ReportFilter) -> list[dict[str, Any]]:
    """Per assignee, over the conversations created in the period: how many, how many
    resolved, first response (median), handling time (average), the first-response SLA met
    (share of measured timers) and CSAT (surveys sent in the period). Unassigned ones are
    left out; agents without a conversation are not listed."""
    rows = _breakdown(report, "assignee")
    names = {
        user.pk: (user.get_full_name().strip() or user.get_username())
        for user in get_user_model().objects.filter(pk__in=[row["id"] for row in rows])
    }
    return sorted(
        ({**row, "agent_id": row["id"], "agent": names[row["id"]]} for row in rows),
        key=lambda row: row["agent"].lower(),
    )


def by_team(report: ReportFilter) -> list[dict[str, Any]]:
    """by_agent's figures per team."""
    rows = _breakdown(report, "team")
    names = dict(Team.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", "name"))
    return sorted(
        ({**row, "team_id": row["id"], "team": names[row["id"]]} for row in rows),
        key=lambda row: row["team"].lower(),
    )


def _breakdown_counts(created: QuerySet[Conversation], key: str, handled: Q) -> dict:
    """_breakdown's counts read from the conversations, when the roll-up cannot answer."""
    return {
        row[key]: row
        for row in created.filter(**{f"{key}__isnull": False})
        .values(key)
        .annotate(
            conversations=Count("pk"),
            resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
            handled=Count("pk", filter=handled),
            handling=Sum(SecondsBetween("resolved_at", "first_response_at"), filter=handled),
        )
        .order_by()
    }


# The most-used tags a report lists.
TAG_ROWS = 20


def by_tag(report: ReportFilter) -> list[dict[str, Any]]:
    """Per tag (an agent's, a macro's or a rule's), the conversations created in the period
    that carry it and how many of them are resolved: the TAG_ROWS most used, in one grouped
    read. A conversation with two tags counts under each."""
    rows = (
        _created_in_period(report)
        .filter(tags__isnull=False)
        .values("tags__name")
        .annotate(
            conversations=Count("pk", distinct=True),
            resolved=Count("pk", filter=Q(resolved_at__isnull=False), distinct=True),
        )
        .order_by("-conversations", "tags__name")[:TAG_ROWS]
    )
    return [
        {
            "tag": row["tags__name"],
            "conversations": row["conversations"],
            "resolved": row["resolved"],
        }
        for row in rows
    ]


def _breakdown(report: ReportFilter, group: str) -> list[dict[str, Any]]:
    """Four grouped reads, each over what the KPIs already read (the conversation reports
    index, the first-response timers, the period's surveys), whatever the number of groups."""
    key = f"{group}_id"
    created = _created_in_period(report)
    handled = Q(resolved_at__isnull=False, first_response_at__isnull=False)
    hours = conversation_hours(report, key)
    counts = {
        row[key]: {**row, "handling": row["handling_seconds"]}
        for row in hours or []
        if row[key] is not None
    }
    if hours is None:
        counts = _breakdown_counts(created, key, handled)
    if histograms_answer(report):
        medians = {
            group_id: row[MEDIAN]
            for group_id, row in duration_percentiles(
                DurationMetric.FIRST_RESPONSE, report, [MEDIAN], group=key
            ).items()
            if group_id is not None
        }
    else:
        first = grouped_percentiles(
            created.filter(needs_reply=True, **{f"{key}__isnull": False}).annotate(
                seconds=SecondsBetween("first_response_at", "created_at")
            ),
            key,
            "seconds",
            [MEDIAN],
            # The groups with a conversation in the period (every group with a first
            # response is one): one pass on Postgres instead of a sort by group.
            groups=sorted(counts),
            # An aggregate makes it a GROUP BY: without one SQLite would look up each row.
            answered=Count("pk"),
        )
        medians = {row[key]: row[MEDIAN] for row in first}
    if hours is not None:
        timers = {
            group_id: {"measured": row["sla_measured"], "met": row["sla_met"]}
            for group_id, row in counts.items()
        }
    else:
        timers = {
            row[f"conversation__{key}"]: row
            for row in _first_response_timers(report)
            .values(f"conversation__{key}")
            .annotate(measured=Count("pk"), met=Count("pk", filter=Q(state=TimerState.MET)))
            .order_by()
        }
    surveys = {
        row[f"conversation__{key}"]: row
        for row in _in_scope(
            CsatSurvey.objects.filter(sent_at__gte=report.start, sent_at__lt=report.end), report
        )
        .values(f"conversation__{key}")
        .annotate(
            answered=Count("pk", filter=Q(score__isnull=False)),
            satisfied=Count("pk", filter=Q(score__gte=CSAT_SATISFIED_FROM)),
            average=Avg("score"),
        )
        .order_by()
    }
    result = []
    for group_id in sorted(set(counts) | set(surveys) - {None}):
        row = counts.get(group_id, {})
        timer = timers.get(group_id, {"measured": 0, "met": 0})
        survey = surveys.get(group_id, {"answered": 0, "satisfied": 0, "average": None})
        handled_count = row.get("handled", 0)
        result.append(
            {
                "id": group_id,
                "conversations": row.get("conversations", 0),
                "resolved": row.get("resolved", 0),
                "first_response_median_seconds": medians.get(group_id),
                "handling_average_seconds": (
                    _round(row["handling"] / handled_count) if handled_count else None
                ),
                "sla_met": _share(timer["met"], timer["measured"]),
                "sla_measured": timer["measured"],
                "csat_responses": survey["answered"],
                "csat_average": _round(survey["average"]),
                "csat_satisfied": _share(survey["satisfied"], survey["answered"]),
            }
        )
    return result


# --- volume, when customers write, how they feel ---------------------------------------------


def _inbound_counts(report: ReportFilter, *, by_account: bool) -> list[dict[str, Any]]:
    """The period's inbound posts counted per day (TIME_ZONE) and platform (and account), with
    their sentiments: volume and sentiment read these few rows, so the KPIs scan the posts
    once (an index-only scan on Postgres: the account is kept on the post)."""
    keys = ["day", "platform", *(["account_id"] if by_account else [])]
    hours = inbound_hours(report)
    if hours is not None:
        return _fold_hours(hours, keys)
    return list(
        inbound_posts(report)
        # The server's zone, not the reading agent's (their own is active in a request):
        # every supervisor reads the same days.
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
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


def _fold_hours(hours: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """The roll-up's hourly rows summed per `keys` (with `day` the local date), in the shape
    of the posts' GROUP BY."""
    moods = ("posts", "positive", "neutral", "negative", "untriaged")
    groups: dict[tuple, dict[str, Any]] = {}
    for row in hours:
        values = {**row, "day": row["hour"].date()}
        key = tuple(values[k] for k in keys)
        group = groups.setdefault(
            key, {**dict(zip(keys, key, strict=True)), **dict.fromkeys(moods, 0)}
        )
        for mood in moods:
            group[mood] += row[mood]
    return list(groups.values())


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
    if not sees_everything(report):
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
    labels = _labels(Platform.choices)
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
    hours = inbound_hours(report)
    if hours is not None:
        for row in hours:
            cells[row["hour"].weekday()][row["hour"].hour] += row["posts"]
        return {"weekdays": WEEKDAYS, "hours": list(range(24)), "cells": cells}
    # Counted per local hour (a few hundred groups Postgres hashes), then folded into the
    # week here: grouping by EXTRACT(ISODOW), EXTRACT(HOUR) made it sort every post.
    rows = (
        inbound_posts(report)
        .annotate(hour=TruncHour("created_at", tzinfo=timezone.get_default_timezone()))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        local = timezone.localtime(row["hour"], timezone.get_default_timezone())
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
    return _no_reply_share(report, conversation_hours(report))


def _no_reply_share(report: ReportFilter, hours: list[dict] | None) -> dict[str, Any]:
    """no_reply_share with the period's conversation roll-up rows already read (any
    grouping: only their sums are used; None when the roll-up cannot answer)."""
    if hours is not None:
        counts = {
            "total": sum(row["conversations"] for row in hours),
            "no_reply": sum(row["no_reply"] for row in hours),
        }
        return {
            "conversations": counts["total"],
            "no_reply_needed": counts["no_reply"],
            "share": _share(counts["no_reply"], counts["total"]),
        }
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
    hours = inbound_hours(report)
    total = (
        sum(row["posts"] for row in hours) if hours is not None else inbound_posts(report).count()
    )
    return _auto_responses(total, _auto_replied(report))


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
        "window_minutes": settings.SPIKE_WINDOW_MINUTES,
        "post_id": alert.post_id,
        "conversation_url": (
            f"/conversations/{alert.post.conversation_id}/" if alert.post_id else None
        ),
    }


def kpis(report: ReportFilter) -> dict[str, Any]:
    """Every KPI of the period: what the reports page shows and the CSV summary exports."""
    # Volume, sentiment and the auto-response rate share one scan of the period's inbound posts.
    inbound = _inbound_counts(report, by_account=True)
    # The conversation roll-up is read once, per assignee (what handling time needs); first
    # response and the no-reply share only sum it.
    hours = conversation_hours(report, "assignee_id")
    return {
        "filter": report.describe(),
        "first_response": _first_response(report, hours),
        "next_response": next_response(report),
        "resolution_by_intent": resolution_by_intent(report),
        "handling_time": _handling_time(report, hours),
        "volume": _volume(inbound),
        "no_reply": _no_reply_share(report, hours),
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

    A post is judged once answered or 15 minutes old. Posts younger than that and still
    unanswered are not judged yet (`not_yet_counted`, with `next_judged_at` the soonest of
    them turns 15 minutes); `late_waiting` are the missed ones still waiting for an answer
    now, already counted against the share. `share_if_missed` is the running figure should
    every post not yet counted miss too.
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
    answered_since = Post.objects.filter(
        conversation=OuterRef("conversation"),
        direction=Direction.OUTBOUND,
        created_at__gte=OuterRef("created_at"),
    )
    conversations = visible_conversations(user) if user else Conversation.objects.all()
    posts = Post.objects.filter(
        direction=Direction.INBOUND,
        created_at__gte=since,
        conversation__needs_reply=True,
        conversation__in=conversations.values("pk"),
    ).annotate(in_time=Exists(answered_in_time))
    judged = posts.filter(Q(in_time=True) | Q(created_at__lte=judged_before))
    late = Q(in_time=False, created_at__lte=judged_before)
    per_account = {
        row["conversation__account_id"]: row
        for row in posts.annotate(answered=Exists(answered_since))
        .values("conversation__account_id")
        .annotate(
            total=Count("pk", filter=Q(in_time=True) | Q(created_at__lte=judged_before)),
            in_time_count=Count("pk", filter=Q(in_time=True)),
            pending=Count("pk", filter=Q(in_time=False, created_at__gt=judged_before)),
            next_judged=Min("created_at", filter=Q(in_time=False, created_at__gt=judged_before)),
            late_waiting=Count(
                "pk",
                filter=late & Q(answered=False) & Q(conversation__status__in=ACTIVE_STATUSES),
            ),
        )
        .order_by()
    }
    empty = {"total": 0, "in_time_count": 0, "pending": 0, "next_judged": None, "late_waiting": 0}
    result = []
    for account in PlatformAccount.objects.filter(is_active=True).order_by("platform", "handle"):
        row = per_account.get(account.pk, empty)
        share = _share(row["in_time_count"], row["total"])
        missed = (
            judged.filter(conversation__account=account, in_time=False)
            .select_related("customer")
            .order_by("-created_at")[:missed_limit]
        )
        next_judged = row["next_judged"]
        result.append(
            {
                "account_id": account.pk,
                "account": f"@{account.handle}",
                "platform": account.get_platform_display(),
                "platform_code": account.platform,
                "posts": row["total"],
                "answered_in_time": row["in_time_count"],
                "share": share,
                "bar": VERY_RESPONSIVE_BAR,
                "meets_bar": share is not None and share >= VERY_RESPONSIVE_BAR,
                "not_yet_counted": row["pending"],
                "next_judged_at": (
                    (next_judged + timedelta(minutes=VERY_RESPONSIVE_MINUTES)).isoformat()
                    if next_judged
                    else None
                ),
                "late_waiting": row["late_waiting"],
                "share_if_missed": _share(row["in_time_count"], row["total"] + row["pending"]),
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


def with_waiting_since(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """The conversations, whose `waiting_since` column is the inbox's one definition
    (core.selectors.waiting_since, stored): the oldest unanswered customer post of the
    conversation's current customer turn, None when the brand owes nothing."""
    return conversations


def cockpit(user: AbstractBaseUser, *, now: datetime | None = None) -> dict[str, Any]:
    """The state of the queues right now, for the cockpit page and its live updates.

    Waiting and SLA states use the inbox's definitions (with_waiting_since, sla.selectors'
    with_sla at `now`), so both read the same figures at the same second; `next_change_at` is
    when the next running timer crosses a threshold, for the page to look again then.
    """
    now = now or timezone.now()
    active = (
        visible_conversations(user)
        .filter(status__in=ACTIVE_STATUSES)
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    )
    oldest_waiting = {
        (row["team_id"], row["account__platform"]): row["oldest"]
        for row in with_waiting_since(active)
        .values("team_id", "account__platform")
        .annotate(oldest=Min("waiting_since"))
        .order_by()
    }
    labels = _labels(Platform.choices)
    states = _labels(TimerState.choices)
    queues = []
    sla_rows = (
        with_sla(active, now=now)
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
    waiting = [q["oldest_waiting_since"] for q in queues if q["oldest_waiting_since"]]
    attention = (
        with_sla(active, now=now)
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
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    next_change = next_threshold_at(
        now=now, conversations=None if can_see_all_conversations(user) else active
    )
    return {
        "generated_at": now.isoformat(),
        "next_change_at": next_change.isoformat() if next_change else None,
        "queues": queues,
        "totals": {
            "depth": sum(q["depth"] for q in queues),
            "unassigned": sum(q["unassigned"] for q in queues),
            "at_risk": sum(q["at_risk"] for q in queues),
            "breached": sum(q["breached"] for q in queues),
            "oldest_waiting_since": min(waiting) if waiting else None,
        },
        "attention": [
            {
                "id": conversation.pk,
                "customer": f"@{conversation.customer.handle}",
                "platform": conversation.account.get_platform_display(),
                "team": conversation.team.name if conversation.team else "",
                # As the inbox and the conversation page call people: their name.
                "assignee": display_name(conversation.assignee),
                "state": conversation.sla_state,
                "state_label": states.get(conversation.sla_state, conversation.sla_state),
                "due_at": conversation.sla_due_at.isoformat() if conversation.sla_due_at else None,
                "url": f"/conversations/{conversation.pk}/",
            }
            for conversation in attention
        ],
        "agents": [
            {
                "agent": display_name(profile.user),
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
        "learning": [
            {
                "account": f"@{account.handle}",
                "account_id": account.pk,
                "alerts_from": alerts_from.isoformat() if alerts_from else None,
            }
            for account, alerts_from in volume_learning(now=now)
        ],
        "teams": list(Team.objects.filter(pk__in=team_ids).values("id", "name")),
    }


def first_inbound_at() -> datetime | None:
    """When the oldest inbound post was written: one read of the (direction, created_at)
    index's first entry."""
    return (
        Post.objects.filter(direction=Direction.INBOUND)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def posts_per_minute(user: AbstractBaseUser, *, now: datetime) -> dict[str, Any]:
    """Inbound posts per minute over the last 5 minutes, and the usual rate over the 7 days
    before them, or over as much of them as there is history. With less than a day of
    history there is no usual rate yet (`usual` None, `learning` true): a fresh install's
    first posts are not compared with a usual rate of zero."""
    window_start = now - timedelta(minutes=LIVE_RATE_MINUTES)
    first = first_inbound_at()
    usual_start = window_start - timedelta(days=USUAL_RATE_DAYS)
    if first is not None and first > usual_start:
        usual_start = first
    learning = first is None or window_start - usual_start < timedelta(days=1)
    counts = _in_scope(
        Post.objects.filter(
            direction=Direction.INBOUND, created_at__gte=usual_start, created_at__lt=now
        ),
        ReportFilter(start=usual_start, end=now, user=user),
    ).aggregate(
        now=Count("pk", filter=Q(created_at__gte=window_start)),
        usual=Count("pk", filter=Q(created_at__lt=window_start)),
    )
    usual_minutes = (window_start - usual_start).total_seconds() / 60
    return {
        "now": round(counts["now"] / LIVE_RATE_MINUTES, 2),
        "usual": None if learning else round(counts["usual"] / usual_minutes, 2),
        "learning": learning,
        "window_minutes": LIVE_RATE_MINUTES,
    }
