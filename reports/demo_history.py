"""Weeks of made-up but realistic history for the demo, so every report has something a
supervisor can read on the first `make run`: volumes that follow the weekday and the hour,
replies by several agents, SLA targets met and missed, CSAT answers and one spike.

Written with bulk inserts (a few statements per thousand rows) and the customer turns rebuilt
in one statement, so 60 days take seconds on SQLite. The history lives on three accounts of
its own (X, Facebook, Instagram), switched off for polling: the live demo account keeps its
own volume, whose usual level spike detection learns as it goes.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone

from core import roles
from core.models import (
    AgentProfile,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Intent,
    Platform,
    Post,
    Priority,
    Sentiment,
    Team,
)
from core.turns import record_customer_turns_of
from ingestion.models import PlatformAccount
from sla.models import SlaTimer, TimerKind, TimerState
from triage.models import TriageFeedback

from .models import CsatSurvey, SpikeAlert, SpikeKind

HISTORY_ACCOUNTS = [
    (Platform.TWITTER, "parley_care", "Parley care on X (demo history)", 0.45),
    (Platform.FACEBOOK, "parley", "Parley on Facebook (demo history)", 0.35),
    (Platform.INSTAGRAM, "parley.shop", "Parley on Instagram (demo history)", 0.20),
]
HISTORY_AGENTS = [("alex", "Alex"), ("bea", "Bea"), ("chen", "Chen"), ("dev", "Dev")]
# Conversations a weekday; weekends see about half.
WEEKDAY_CONVERSATIONS = 90
WEEKEND_SHARE = 0.55
# The share of a day's conversations starting in each hour (local time): a morning peak and
# an evening one, quiet nights.
HOURLY_SHAPE = [
    1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 8, 7, 7, 7, 8, 9, 10, 9, 7, 4, 2,
]  # fmt: skip
INTENTS = [
    (Intent.QUESTION, 0.38),
    (Intent.COMPLAINT, 0.24),
    (Intent.REQUEST, 0.14),
    (Intent.COMPLIMENT, 0.1),
    (Intent.FEEDBACK, 0.07),
    (Intent.SPAM, 0.04),
    (Intent.OTHER, 0.03),
]
TEXTS = {
    Intent.QUESTION: "@{brand} do you deliver on Sundays?",
    Intent.COMPLAINT: "@{brand} my order is two weeks late and nobody answers",
    Intent.REQUEST: "@{brand} please change the address on my order",
    Intent.COMPLIMENT: "@{brand} the new app is great, thanks!",
    Intent.FEEDBACK: "@{brand} the checkout could be simpler",
    Intent.SPAM: "@{brand} follow me for free crypto",
    Intent.OTHER: "@{brand} hello",
}
REPLY = "Thanks for writing to us, we're on it."
FIRST_RESPONSE_TARGET = timedelta(minutes=15)
BATCH = 2000


@dataclass(frozen=True)
class HistorySummary:
    days: int
    conversations: int
    posts: int
    created: bool


def _pick(rng: random.Random, weighted: list[tuple]) -> object:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


@contextlib.contextmanager
def _history_instants(*fields: models.DateTimeField) -> Iterator[None]:
    """Let bulk_create keep the history's own instants in auto_now(_add) fields, which it
    would otherwise overwrite with the present."""
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _agents(teams: list[Team]) -> list:
    User = get_user_model()
    agents = []
    group = Group.objects.filter(name=roles.AGENT).first()
    for username, first_name in HISTORY_AGENTS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first_name}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            if group is not None:
                user.groups.add(group)
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        profile.teams.add(*teams)
        agents.append(user)
    return agents


def seed_history(*, days: int, now: datetime | None = None, seed: int = 20) -> HistorySummary:
    """Write the `days` days before today (local time) as history, up to an hour before the
    start of the current hour, once: a database that has it already is left alone."""
    now = now or timezone.now()
    accounts = []
    for platform, handle, name, _ in HISTORY_ACCOUNTS:
        account, _ = PlatformAccount.objects.get_or_create(
            platform=platform,
            handle=handle,
            defaults={"display_name": name, "is_active": False},
        )
        accounts.append(account)
    if days <= 0 or Conversation.objects.filter(account__in=accounts).exists():
        return HistorySummary(days=days, conversations=0, posts=0, created=False)
    teams = list(Team.objects.order_by("-is_default", "name"))
    with transaction.atomic():
        agents = _agents(teams)
        conversations, posts = _write(
            rng=random.Random(seed),
            accounts=accounts,
            agents=agents,
            teams=teams,
            first_day=timezone.localtime(now).date() - timedelta(days=days),
            days=days,
            end=now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
        )
    return HistorySummary(days=days, conversations=conversations, posts=posts, created=True)


def _write(*, rng, accounts, agents, teams, first_day, days, end) -> tuple[int, int]:
    tz = timezone.get_current_timezone()
    weights = [share for *_, share in HISTORY_ACCOUNTS]
    customers = {
        account.pk: Customer.objects.bulk_create(
            Customer(
                platform=account.platform,
                external_id=f"demo-history-{account.platform}-{n}",
                handle=f"{account.platform}_fan{n}",
                display_name=f"Customer {n}",
                follower_count=int(rng.paretovariate(1.2) * 50),
            )
            for n in range(300)
        )
        for account in accounts
    }
    spike_day = max(0, days - 12)
    plans = []
    # Days counted from today's date, not from `end`'s: in the first hour of a day `end` is
    # yesterday, and the history left yesterday empty and began a day early.
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        volume = WEEKDAY_CONVERSATIONS * (WEEKEND_SHARE if day.weekday() >= 5 else 1)
        volume *= rng.uniform(0.85, 1.15)
        for hour, share in enumerate(HOURLY_SHAPE):
            expected = volume * share / sum(HOURLY_SHAPE)
            spike = offset == spike_day and hour == 19
            count = _poisson(rng, expected * (8 if spike else 1))
            for _ in range(count):
                instant = datetime(day.year, day.month, day.day, hour, tzinfo=tz) + timedelta(
                    seconds=rng.uniform(0, 3600)
                )
                if instant < end:
                    plans.append((instant, spike))
    plans.sort(key=lambda plan: plan[0])

    rows = []
    for instant, spike in plans:
        account = rng.choices(accounts, weights)[0]
        intent = Intent.COMPLAINT if spike and rng.random() < 0.8 else _pick(rng, INTENTS)
        needs_reply = intent != Intent.SPAM
        negative = intent == Intent.COMPLAINT
        sentiment = (
            Sentiment.NEGATIVE
            if negative
            else Sentiment.POSITIVE
            if intent == Intent.COMPLIMENT
            else Sentiment.NEUTRAL
        )
        # Lognormal reply times around 7 minutes: most within the 15-minute target, a tail
        # that misses it; slower in the evening peak.
        slow = 1.6 if instant.hour >= 18 or spike else 1.0
        first_reply = (
            timedelta(seconds=min(rng.lognormvariate(math.log(420), 0.8) * slow, 6 * 3600))
            if needs_reply and rng.random() < 0.96
            else None
        )
        follow_up = first_reply is not None and rng.random() < 0.3
        handled = timedelta(minutes=rng.lognormvariate(math.log(40), 0.9))
        resolved = (
            instant + (first_reply or timedelta(0)) + handled
            if (first_reply or not needs_reply) and rng.random() < 0.9
            else None
        )
        if resolved is not None and resolved > end:
            resolved = None
        team = teams[0] if teams else None
        if negative and len(teams) > 1 and rng.random() < 0.3:
            team = teams[1]
        rows.append(
            {
                "account": account,
                "customer": rng.choice(customers[account.pk]),
                "instant": instant,
                "intent": intent,
                "sentiment": sentiment,
                "priority": Priority.HIGH if negative and rng.random() < 0.3 else Priority.NORMAL,
                "needs_reply": needs_reply,
                "first_reply": first_reply,
                "follow_up": follow_up,
                "resolved": resolved,
                "agent": rng.choice(agents) if first_reply else None,
                "team": team,
                # Nothing of the history is still open: it would fill today's inbox.
                "closed_at": resolved or min(end, instant + timedelta(hours=rng.uniform(2, 30))),
                "csat": rng.random() < 0.5 if resolved else False,
                "score": _pick(rng, [(5, 0.45), (4, 0.25), (3, 0.12), (2, 0.08), (1, 0.1)]),
                "answers_csat": rng.random() < 0.55,
            }
        )

    conversation_fields = [Conversation._meta.get_field(n) for n in ("created_at", "updated_at")]
    with _history_instants(*conversation_fields):
        conversations = Conversation.objects.bulk_create(
            (
                Conversation(
                    customer=row["customer"],
                    account=row["account"],
                    status=ConversationStatus.RESOLVED
                    if row["resolved"]
                    else ConversationStatus.CLOSED,
                    team=row["team"],
                    assignee=row["agent"],
                    priority=row["priority"],
                    intent=row["intent"],
                    sentiment=row["sentiment"],
                    needs_reply=row["needs_reply"],
                    created_at=row["instant"],
                    updated_at=row["closed_at"],
                    last_inbound_at=row["instant"],
                    first_response_due_at=row["instant"] + FIRST_RESPONSE_TARGET,
                    first_response_at=row["instant"] + row["first_reply"]
                    if row["first_reply"]
                    else None,
                    resolved_at=row["closed_at"],
                )
                for row in rows
            ),
            batch_size=BATCH,
        )
    posts, timers, surveys = [], [], []
    for n, (row, conversation) in enumerate(zip(rows, conversations, strict=True)):
        account = row["account"]
        text = TEXTS[row["intent"]].format(brand=account.handle)

        def post(direction, at, body, *, n=n, conversation=conversation, row=row, account=account):
            posts.append(
                Post(
                    conversation=conversation,
                    account=account,
                    direction=direction,
                    platform=account.platform,
                    external_id=f"demo-history-{n}-{len(posts)}",
                    customer=row["customer"] if direction == Direction.INBOUND else None,
                    agent=row["agent"] if direction == Direction.OUTBOUND else None,
                    text=body,
                    created_at=at,
                    received_at=at,
                    intent=row["intent"] if direction == Direction.INBOUND else "",
                    sentiment=row["sentiment"] if direction == Direction.INBOUND else "",
                    priority=row["priority"],
                    delivery_status="sent" if direction == Direction.OUTBOUND else "received",
                )
            )

        post(Direction.INBOUND, row["instant"], text)
        if row["first_reply"]:
            answered = row["instant"] + row["first_reply"]
            post(Direction.OUTBOUND, answered, REPLY)
            if row["follow_up"]:
                again = answered + timedelta(minutes=rng.uniform(2, 60))
                post(Direction.INBOUND, again, f"@{account.handle} any news?")
                post(Direction.OUTBOUND, again + timedelta(minutes=rng.uniform(1, 25)), REPLY)
        if row["needs_reply"]:
            met = row["first_reply"] is not None and row["first_reply"] <= FIRST_RESPONSE_TARGET
            stopped = row["instant"] + row["first_reply"] if row["first_reply"] else None
            timers.append(
                SlaTimer(
                    conversation=conversation,
                    kind=TimerKind.FIRST_RESPONSE,
                    state=TimerState.MET if met else TimerState.BREACHED,
                    target_seconds=int(FIRST_RESPONSE_TARGET.total_seconds()),
                    started_at=row["instant"],
                    stopped_at=stopped or row["closed_at"],
                    business_seconds=row["first_reply"].total_seconds()
                    if row["first_reply"]
                    else None,
                )
            )
        if row["csat"]:
            surveys.append(
                CsatSurvey(
                    conversation=conversation,
                    resolved_at=row["resolved"],
                    sent_at=row["resolved"] + timedelta(minutes=1),
                    score=row["score"] if row["answers_csat"] else None,
                    responded_at=row["resolved"] + timedelta(minutes=30)
                    if row["answers_csat"]
                    else None,
                )
            )
    post_fields = [Post._meta.get_field("received_at")]
    with _history_instants(*post_fields):
        Post.objects.bulk_create(posts, batch_size=BATCH)
    _agents_review_triage(rng, [p for p in posts if p.direction == Direction.INBOUND], agents)
    timer_fields = [SlaTimer._meta.get_field("updated_at")]
    with _history_instants(*timer_fields):
        for timer in timers:
            timer.updated_at = timer.stopped_at
        SlaTimer.objects.bulk_create(timers, batch_size=BATCH)
    with _history_instants(CsatSurvey._meta.get_field("sent_at")):
        CsatSurvey.objects.bulk_create(surveys, batch_size=BATCH)
    record_customer_turns_of([conversation.pk for conversation in conversations])
    spikes = [plan for plan in plans if plan[1]]
    if spikes:
        first, last = spikes[0][0], spikes[-1][0]
        SpikeAlert.objects.create(
            account=accounts[0],
            kind=SpikeKind.NEGATIVE,
            started_at=first,
            detected_at=first + timedelta(minutes=5),
            ended_at=last,
            window_posts=len(spikes) // 6,
            negative_posts=len(spikes) // 8,
            baseline_posts=1.5,
            peak_posts=len(spikes) // 5,
        )
    return len(conversations), len(posts)


def _agents_review_triage(rng: random.Random, inbound: list[Post], agents: list) -> None:
    """Agents' verdicts on some posts' tags, mostly agreeing with the model: the triage
    accuracy chart's history."""
    intents = [intent for intent, _ in INTENTS]
    verdicts = []
    for post in inbound:
        if rng.random() > 0.08:
            continue
        agreed = rng.random() < 0.85
        predicted = post.intent if agreed else rng.choice([i for i in intents if i != post.intent])
        verdicts.append(
            TriageFeedback(
                post=post,
                field=TriageFeedback.Field.INTENT,
                predicted=predicted,
                label=post.intent,
                model_version="demo-history",
                agent=rng.choice(agents),
                created_at=post.created_at + timedelta(minutes=rng.uniform(5, 120)),
            )
        )
    with _history_instants(TriageFeedback._meta.get_field("created_at")):
        TriageFeedback.objects.bulk_create(verdicts, batch_size=BATCH)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of an hour's conversations."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
