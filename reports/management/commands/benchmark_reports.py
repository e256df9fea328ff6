"""Time every report query on a large synthetic history, in the configured database.

    .venv/bin/python manage.py benchmark_reports --conversations 20000

Builds the history inside a transaction and rolls it back at the end, so it can run against a
development database without leaving anything behind. Prints each query's time (best of
`--repeat`) and, on Postgres, the plan of the heaviest ones so index use can be checked.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from core.models import (
    Conversation,
    Customer,
    Direction,
    Intent,
    Platform,
    Post,
    Sentiment,
    Team,
)
from core.turns import rebuild_customer_turns
from ingestion.models import PlatformAccount
from reports import exports, selectors, services
from reports.selectors import ReportFilter


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the dashboards' report queries on a synthetic history (rolled back after)."

    def add_arguments(self, parser):
        parser.add_argument("--conversations", type=int, default=20000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, conversations: int, days: int, repeat: int, seed: int, **options):
        try:
            with transaction.atomic():
                self._run(conversations=conversations, days=days, repeat=repeat, seed=seed)
                raise Rollback
        except Rollback:
            self.stdout.write("History rolled back.")

    def _run(self, *, conversations: int, days: int, repeat: int, seed: int) -> None:
        rng = random.Random(seed)
        started = time.perf_counter()
        posts = self._build_history(rng, conversations=conversations, days=days)
        self.stdout.write(
            f"{connection.vendor}: {conversations} conversations, {posts} posts over {days} days "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        supervisor = get_user_model().objects.create(
            username="benchmark-supervisor", is_superuser=True
        )
        now = timezone.now()
        year = ReportFilter(start=now - timedelta(days=days), end=now, user=supervisor)
        week = ReportFilter(start=now - timedelta(days=7), end=now, user=supervisor)
        cases = [
            ("first response (year)", lambda: selectors.first_response(year)),
            ("next response (year)", lambda: selectors.next_response(year)),
            ("resolution by intent (year)", lambda: selectors.resolution_by_intent(year)),
            ("handling time (year)", lambda: selectors.handling_time(year)),
            ("volume by channel (year)", lambda: selectors.volume_by_channel(year)),
            ("heatmap (year)", lambda: selectors.heatmap(year)),
            ("sentiment trend (year)", lambda: selectors.sentiment_trend(year)),
            ("all KPIs (week)", lambda: selectors.kpis(week)),
            ("very responsive (7 days)", lambda: selectors.very_responsive(user=supervisor)),
            ("cockpit", lambda: selectors.cockpit(supervisor)),
            ("spike detection", lambda: services.detect_spikes(now=now)),
            (
                "conversations CSV (year)",
                lambda: sum(1 for _ in exports.export_lines("conversations", year)),
            ),
        ]
        self.stdout.write(f"{'query':32} best of {repeat}")
        for name, run in cases:
            best = min(_timed(run) for _ in range(repeat))
            self.stdout.write(f"{name:32} {best * 1000:8.1f} ms")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE helpdesk_post; ANALYZE helpdesk_conversation;")
            query = selectors.inbound_posts(week).values("platform")
            self.stdout.write("Plan of a week's inbound posts:")
            self.stdout.write(query.explain())

    def _build_history(self, rng: random.Random, *, conversations: int, days: int) -> int:
        team = Team.objects.create(name="Benchmark team", slug="benchmark-team")
        accounts = [
            PlatformAccount.objects.create(platform=platform, handle=f"bench_{platform}")
            for platform in (Platform.TWITTER, Platform.FACEBOOK, Platform.INSTAGRAM)
        ]
        customers = Customer.objects.bulk_create(
            Customer(platform=Platform.TWITTER, external_id=f"bench-{i}", handle=f"bench{i}")
            for i in range(max(1, conversations // 4))
        )
        now = timezone.now()
        intents = [choice for choice, _ in Intent.choices if choice]
        sentiments = [Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE]
        rows = []
        for _ in range(conversations):
            created = now - timedelta(seconds=rng.uniform(0, days * 86400))
            first = created + timedelta(seconds=rng.expovariate(1 / 900))
            resolved = first + timedelta(seconds=rng.expovariate(1 / 7200))
            rows.append(
                Conversation(
                    customer=rng.choice(customers),
                    account=rng.choice(accounts),
                    team=team,
                    status="resolved" if resolved < now else "open",
                    intent=rng.choice(intents),
                    last_inbound_at=created,
                    first_response_at=first if first < now else None,
                    resolved_at=resolved if resolved < now else None,
                )
            )
        made = Conversation.objects.bulk_create(rows, batch_size=2000)
        # created_at is auto_now_add; give each conversation its history's instant.
        for conversation, row in zip(made, rows, strict=True):
            conversation.created_at = row.last_inbound_at
        Conversation.objects.bulk_update(made, ["created_at"], batch_size=2000)
        posts = []
        for conversation in made:
            moments = [conversation.created_at]
            if conversation.first_response_at:
                moments.append(conversation.first_response_at)
                moments.append(conversation.first_response_at + timedelta(minutes=5))
                moments.append(conversation.first_response_at + timedelta(minutes=12))
            for index, moment in enumerate(moments):
                inbound = index % 2 == 0
                posts.append(
                    Post(
                        conversation=conversation,
                        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                        platform=conversation.account.platform,
                        external_id=f"bench-{conversation.pk}-{index}",
                        customer=conversation.customer if inbound else None,
                        text="benchmark",
                        created_at=moment,
                        sentiment=rng.choice(sentiments) if inbound else "",
                    )
                )
        Post.objects.bulk_create(posts, batch_size=5000)
        # bulk_create skips save() and so the customer turns it keeps: recompute them.
        rebuild_customer_turns()
        return len(posts)


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started
