"""Inbox and API at scale, and the dashboard KPIs: server time and SQL queries of the pages
agents open, with 10 k, 100 k and 1 M posts stored. The open queue stays the same size while
the history grows, so a flat cost is the target; the baseline is the cost at the smallest
size, measured in the same run.

Server time is Django's own (the test client: middleware, view, queries, template), without
a network in between; each figure is the median of `repeat` requests after two warm-ups.
"""

from __future__ import annotations

import html
import re
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from . import data
from .common import checkpoint, ensure_fixtures, median_ms, reset_traffic

# The KPI figure is the slowest report endpoint (reports app) over 30 days; a build without
# the reports app gets the aggregates a 30-day dashboard needs through the ORM (kpi_queries).
KPI_DAYS = 30
# Twelve reports at three sizes: fewer repeats than the pages keep the run within budget.
KPI_REPEAT = 3
# The KPI growth is read from rounds alternating the smallest history (loaded again into a
# database of its own) and 1 M posts, so a busy moment of the shared machine falls on both
# sides of the ratio, as the webhook benchmark alternates with the bare app.
KPI_GROWTH_ROUNDS = 5


def _label(size: int) -> str:
    if size >= 1_000_000:
        return f"{size // 1_000_000}m"
    return f"{size // 1000}k" if size >= 1000 else str(size)


def _measure(client: Client, url: str, repeat: int) -> tuple[float, int]:
    def fetch():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response

    with CaptureQueriesContext(connection) as queries:
        fetch()
    # Counted now: every later request clears the connection's query log.
    count = len(queries.captured_queries)
    return median_ms(fetch, repeat=repeat), count


def kpi_queries() -> dict:
    """What a 30-day dashboard shows: volume per day and per intent, first response times,
    SLA breaches and resolutions."""
    from datetime import timedelta

    from django.db.models import Avg, Count, F, Q
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from core.models import Conversation, Direction, Post
    from sla.models import SlaTimer, TimerState

    since = timezone.now() - timedelta(days=KPI_DAYS)
    inbound = Post.objects.filter(direction=Direction.INBOUND, created_at__gte=since)
    conversations = Conversation.objects.filter(created_at__gte=since)
    return {
        "volume_per_day": list(
            inbound.annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(posts=Count("id"))
            .order_by("day")
        ),
        "volume_per_intent": list(inbound.values("intent").annotate(posts=Count("id"))),
        "response": conversations.aggregate(
            conversations=Count("id"),
            answered=Count("id", filter=Q(first_response_at__isnull=False)),
            resolved=Count("id", filter=Q(resolved_at__isnull=False)),
            first_response=Avg(F("first_response_at") - F("created_at")),
        ),
        "breaches": SlaTimer.objects.filter(
            started_at__gte=since, state=TimerState.BREACHED
        ).count(),
    }


def run(*, sizes: list[int], repeat: int) -> dict:
    from core.models import ACTIVE_STATUSES, Conversation

    team, agent, admin, account = ensure_fixtures()
    reset_traffic()
    context = _history_context(team, agent, account)
    agent_client, admin_client = Client(SERVER_NAME="127.0.0.1"), Client(SERVER_NAME="127.0.0.1")
    agent_client.force_login(agent)
    admin_client.force_login(admin)
    figures: dict = {}
    per_size = []
    stored = 0
    # Growth is read from the smallest size to 1 M posts (the largest in a default run; a
    # 10 M run reports its own figures at 10m beside it).
    growth_size = 1_000_000 if 1_000_000 in sizes else sizes[-1]
    kpi_growth: dict = {}
    for size in sizes:
        data.bulk_history(posts=size - stored, context=context)
        stored = size
        # What the load left dirty is written now, not by a checkpoint during the requests.
        checkpoint()
        conversation = (
            Conversation.objects.filter(status__in=ACTIVE_STATUSES).order_by("-id").first()
        )
        pages = {
            "inbox": (agent_client, "/inbox/"),
            "conversation": (agent_client, f"/conversations/{conversation.pk}/"),
            "api_conversations": (agent_client, "/api/conversations/"),
            "api_conversation": (agent_client, f"/api/conversations/{conversation.pk}/"),
            "api_teams": (agent_client, "/api/teams/"),
            "inbox_all_teams": (admin_client, "/inbox/"),
        }
        row = {"posts": size}
        for name, (client, url) in pages.items():
            ms, queries = _measure(client, url, repeat)
            row[f"{name}_ms"] = round(ms, 2)
            row[f"{name}_queries"] = queries
            figures[f"{name}_ms_at_{_label(size)}"] = round(ms, 2)
            figures[f"{name}_queries_at_{_label(size)}"] = queries
        kpi_ms, kpi_source, report_times = _measure_kpis(admin_client, repeat)
        row["kpi_ms"] = round(kpi_ms, 2)
        row["reports_ms"] = report_times
        figures[f"kpi_ms_at_{_label(size)}"] = round(kpi_ms, 2)
        per_size.append(row)
        shown = ", ".join(
            f"{key} {value}" for key, value in row.items() if key not in ("posts", "reports_ms")
        )
        print(f"at {size:,} posts: {shown}", flush=True)
        if size == growth_size and size != sizes[0] and report_times:
            slowest = max(report_times, key=report_times.get)
            kpi_growth = _kpi_growth_rounds(slowest, sizes[0], admin_client)

    first = per_size[0]
    last = next(row for row in per_size if row["posts"] == growth_size)
    figures.update(
        {
            f"{name}_growth_ratio": round(last[f"{name}_ms"] / first[f"{name}_ms"], 2)
            for name in ("inbox", "conversation", "api_conversations", "kpi")
        }
    )
    if kpi_growth:
        figures["kpi_growth_ratio_sequential"] = figures["kpi_growth_ratio"]
        figures["kpi_growth_ratio"] = kpi_growth["ratio"]
    return {
        "benchmark": "scale",
        "sizes": sizes,
        "open_conversations": data.ACTIVE_CONVERSATIONS,
        "baseline": f"the same page at {first['posts']:,} posts (growth ratio = largest/smallest)",
        "kpi_source": kpi_source,
        "kpi_growth": kpi_growth,
        "per_size": per_size,
        "figures": figures,
    }


def _history_context(team, agent, account) -> data.HistoryContext:
    from core.models import Intent, Platform, Sentiment

    return data.HistoryContext(
        account_id=account.pk,
        platform=Platform.TWITTER,
        team_id=team.pk,
        agent_id=agent.pk,
        intents=[value for value in Intent.values if value],
        sentiments=[value for value in Sentiment.values if value],
    )


@contextmanager
def _database(name: str) -> Iterator[None]:
    """Django's connection (and so the test client's requests) on database `name` for the
    block, then back on the benchmark's own."""
    own = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = own


def _kpi_growth_rounds(report: str, base_posts: int, client: Client) -> dict:
    """`report` over KPI_DAYS days on the history stored now and on a database holding only
    `base_posts` posts, alternately, KPI_GROWTH_ROUNDS times: the growth ratio is the median
    of the rounds' ratios. The base database is made for it (migrated, the same fixtures, the
    same loader) and dropped after."""
    from django.core.management import call_command

    base = f"{connection.settings_dict['NAME']}_kpi_base"
    quoted = connection.ops.quote_name(base)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cursor.execute(f"CREATE DATABASE {quoted}")
    try:
        with _database(base):
            call_command("migrate", verbosity=0)
            team, agent, admin, account = ensure_fixtures()
            data.bulk_history(posts=base_posts, context=_history_context(team, agent, account))
            checkpoint()
            base_client = Client(SERVER_NAME="127.0.0.1")
            base_client.force_login(admin)
        url = reverse("api-report", kwargs={"name": report}) + f"?{_kpi_period()}"
        rounds = []
        for _ in range(KPI_GROWTH_ROUNDS):
            with _database(base):
                small = _measure(base_client, url, KPI_REPEAT)[0]
            large = _measure(client, url, KPI_REPEAT)[0]
            rounds.append({"base_ms": round(small, 2), "ms": round(large, 2)})
        ratio = statistics.median(row["ms"] / row["base_ms"] for row in rounds)
        print(f"{report} growth, rounds alternating with {base_posts:,} posts: {rounds}")
        return {
            "report": report,
            "base_posts": base_posts,
            "rounds": rounds,
            "ratio": round(ratio, 2),
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")


def _kpi_period() -> str:
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    return f"start={today - timedelta(days=KPI_DAYS - 1)}&end={today}"


def _measure_kpis(client: Client, repeat: int) -> tuple[float, str, dict]:
    """The slowest of the report endpoints over the last KPI_DAYS days (each the median of a
    few requests), with each endpoint's time; without a reports app, the ORM stand-in."""
    try:
        from reports.api import PERIOD_REPORTS
    except ImportError:
        return median_ms(kpi_queries, repeat=repeat), "ORM aggregates in bench/scale.py", {}
    period = _kpi_period()
    times = {}
    for name in PERIOD_REPORTS:
        url = reverse("api-report", kwargs={"name": name}) + f"?{period}"
        times[name] = round(_measure(client, url, KPI_REPEAT)[0], 2)
    slowest = max(times, key=times.get)
    return times[slowest], f"GET /api/reports/<name>/ over {KPI_DAYS} days, slowest", times


# --- the open queue at scale -------------------------------------------------------------------

OPEN_QUEUE_TEAMS = 10
OPEN_QUEUE_AGENTS = 50


def open_queue(*, open_conversations: int, repeat: int) -> dict:
    """Run after `run` has loaded the history: the newest `open_conversations` conversations
    are reopened across OPEN_QUEUE_TEAMS teams and OPEN_QUEUE_AGENTS agents (half assigned,
    half still unanswered), and every inbox tab, the all-teams inbox, a conversation page and
    the API list with filters and with a search are measured, as an agent of one team and as
    a supervisor who sees every team. The baseline is `run`'s figures for the 500-deep queue
    on the same history."""
    from core.models import ACTIVE_STATUSES, Conversation

    stored = Conversation.objects.count()
    if stored < open_conversations:
        raise RuntimeError(
            f"{stored:,} conversations stored, {open_conversations:,} to open: run the scale "
            "benchmark first (`--only scale open_queue`)"
        )
    team_ids, agent_ids, agent = _open_queue_staff()
    _reopen_across(open_conversations, team_ids, agent_ids)
    _, _, admin, _ = ensure_fixtures()
    agent_client, admin_client = Client(SERVER_NAME="127.0.0.1"), Client(SERVER_NAME="127.0.0.1")
    agent_client.force_login(agent)
    admin_client.force_login(admin)
    conversation = (
        Conversation.objects.filter(status__in=ACTIVE_STATUSES, team_id=team_ids[0])
        .order_by("-id")
        .first()
    )
    live_rows = f"/inbox/rows/?view=team&ids={conversation.pk}"
    live_rows_all = f"/inbox/rows/?view=all&ids={conversation.pk}"
    pages = {
        "inbox": (agent_client, "/inbox/"),
        "inbox_mine": (agent_client, "/inbox/?view=mine"),
        "inbox_unassigned": (agent_client, "/inbox/?view=unassigned"),
        "inbox_filtered": (agent_client, "/inbox/?priority=2&intent=complaint"),
        "inbox_all_teams": (admin_client, "/inbox/?view=all"),
        "conversation": (agent_client, f"/conversations/{conversation.pk}/"),
        "api_conversations": (agent_client, "/api/conversations/?status=open&priority=2"),
        "search": (admin_client, "/api/conversations/?q=order"),
        "inbox_search": (admin_client, "/inbox/?view=all&q=order"),
        # What each watching browser asks after a push names a changed conversation: its
        # rows with the view badges, in one request (live_refresh), and each alone.
        "live_refresh": (agent_client, f"{live_rows}&counts=1"),
        "live_refresh_all_teams": (admin_client, f"{live_rows_all}&counts=1"),
        "live_rows": (agent_client, live_rows),
        "live_counts": (agent_client, "/inbox/counts/"),
        # "Show more" under the team queue: the second page, and the one 1,000 rows deep.
        "show_more": (agent_client, _show_more_url(agent_client, clicks=1)),
        "show_more_deep": (agent_client, _show_more_url(agent_client, clicks=20)),
    }
    row: dict = {}
    for name, (client, url) in pages.items():
        ms, queries = _measure(client, url, repeat)
        row[f"{name}_ms"] = round(ms, 2)
        row[f"{name}_queries"] = queries
    label = f"{_label(open_conversations)}_open"
    inbox_tabs = ("inbox", "inbox_mine", "inbox_unassigned", "inbox_filtered")
    figures = {
        f"inbox_ms_at_{label}": max(row[f"{tab}_ms"] for tab in inbox_tabs),
        f"inbox_all_teams_ms_at_{label}": row["inbox_all_teams_ms"],
        f"inbox_queries_at_{label}": max(
            row[f"{tab}_queries"] for tab in (*inbox_tabs, "inbox_all_teams")
        ),
        f"search_ms_at_{label}": max(row["search_ms"], row["inbox_search_ms"]),
        f"conversation_ms_at_{label}": row["conversation_ms"],
        # Server time per watching browser per batch of changes (the live inbox's request).
        f"live_refresh_ms_at_{label}": max(
            row["live_refresh_ms"], row["live_refresh_all_teams_ms"]
        ),
        f"show_more_ms_at_{label}": max(row["show_more_ms"], row["show_more_deep_ms"]),
    }
    print(f"with {open_conversations:,} open: {row}", flush=True)
    return {
        "benchmark": "open_queue",
        "open_conversations": open_conversations,
        "teams": OPEN_QUEUE_TEAMS,
        "agents": OPEN_QUEUE_AGENTS,
        "baseline": f"the same pages with {data.ACTIVE_CONVERSATIONS} open (scale benchmark)",
        "pages": row,
        "figures": figures,
    }


def _show_more_url(client: Client, *, clicks: int) -> str:
    """What the team queue's "Show more" asks after `clicks` clicks: the page after the
    last row of the inbox page, then after each page it brought."""
    page = client.get("/inbox/").content.decode()
    after = html.unescape(re.findall(r'data-sort-key="([^"]*)"', page)[-1])
    for _ in range(clicks - 1):
        after = client.get("/inbox/rows/", {"view": "team", "after": after}).json()["next"]
    return "/inbox/rows/?" + urlencode({"view": "team", "after": after})


def _open_queue_staff():
    """The teams and agents of a 200-seat care team's slice: OPEN_QUEUE_TEAMS teams, each
    with OPEN_QUEUE_AGENTS / OPEN_QUEUE_TEAMS online agents; returns their ids and the agent
    measured (the first team's first agent)."""
    from django.contrib.auth import get_user_model

    from core.models import AgentProfile, Team

    users = get_user_model()
    team_ids, agent_ids = [], []
    per_team = OPEN_QUEUE_AGENTS // OPEN_QUEUE_TEAMS
    for number in range(OPEN_QUEUE_TEAMS):
        team, _ = Team.objects.get_or_create(
            slug=f"queue-{number}", defaults={"name": f"Queue {number}"}
        )
        team_ids.append(team.pk)
        for seat in range(per_team):
            user, _ = users.objects.get_or_create(username=f"queue-{number}-agent-{seat}")
            profile, _ = AgentProfile.objects.get_or_create(
                user=user, defaults={"is_online": True, "capacity": 10_000}
            )
            profile.teams.add(team)
            agent_ids.append(user.pk)
    return team_ids, agent_ids, users.objects.get(pk=agent_ids[0])


def _reopen_across(open_conversations: int, team_ids: list[int], agent_ids: list[int]) -> None:
    """Make the newest `open_conversations` the open queue, round-robin over the teams; every
    other one assigned to an agent of its team, the rest new and unanswered."""
    per_team = len(agent_ids) // len(team_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE helpdesk_conversation SET status = 'resolved' WHERE status <> 'resolved'"
        )
        cursor.execute(
            """
            WITH newest AS (
                SELECT id, row_number() OVER (ORDER BY created_at DESC) AS n
                FROM helpdesk_conversation ORDER BY created_at DESC LIMIT %(open)s
            )
            UPDATE helpdesk_conversation c
            SET status = CASE WHEN newest.n %% 2 = 0 THEN 'open' ELSE 'new' END,
                resolved_at = NULL,
                team_id = (%(teams)s::bigint[])[1 + newest.n %% %(team_count)s],
                first_response_at = CASE WHEN newest.n %% 2 = 0 THEN c.first_response_at END,
                assignee_id = CASE WHEN newest.n %% 2 = 0
                    THEN (%(agents)s::bigint[])[
                        1 + (newest.n %% %(team_count)s) * %(per_team)s
                        + (newest.n / %(team_count)s) %% %(per_team)s]
                END
            FROM newest WHERE c.id = newest.id
            """,
            {
                "open": open_conversations,
                "teams": team_ids,
                "team_count": len(team_ids),
                "agents": agent_ids,
                "per_team": per_team,
            },
        )
        cursor.execute(
            """
            UPDATE sla_slatimer t SET stopped_at = NULL, business_seconds = 0
            FROM helpdesk_conversation c
            WHERE t.conversation_id = c.id AND c.status = 'new'
            """
        )
        cursor.execute("VACUUM ANALYZE helpdesk_conversation")
