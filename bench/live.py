"""Live latency: from the commit of a processed post to its card arriving on every one of N
agent WebSockets, through Parley served as production serves it (`manage.py serve`: uvicorn,
one web process per core) and channels-redis.

Each post goes through the real path (`ingest_item`: stored, triaged, routed, on the SLA
clock, in one transaction); the clock starts when it commits. The baseline
is a bare Redis pub/sub fan-out of the same size: N subscribers, one publish per post.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime

from django.db import transaction
from django.test import Client

from .common import ensure_fixtures, percentile, reset_traffic, wait_for_port

ARRIVAL_TIMEOUT_SECONDS = 10.0
PAUSE_BETWEEN_POSTS_SECONDS = 0.1


def _publish_post(index: int, started: dict) -> int:
    from ingestion.connectors import InboundAuthor, InboundItem
    from ingestion.models import PlatformAccount
    from ingestion.services import ingest_item

    account = PlatformAccount.objects.get(handle="brand")
    item = InboundItem(
        external_id=f"live-{os.getpid()}-{index}",
        author=InboundAuthor(external_id=f"live-author-{index}", handle=f"live_{index}"),
        text="@brand my order never arrived, can you help?",
        created_at=datetime.now(UTC),
    )
    marker = {}
    with transaction.atomic():
        # Registered first, so it runs first after the commit, before the broadcast.
        transaction.on_commit(lambda: marker.setdefault("at", time.perf_counter()))
        post = ingest_item(account=account, item=item).post
    started[post.conversation_id] = marker["at"]
    return post.conversation_id


async def _channels_run(port: int, cookie: str, sockets: int, posts: int) -> list[float]:
    import websockets

    arrivals: dict[int, list[float]] = defaultdict(list)
    started: dict[int, float] = {}
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}

    async def listen(connection) -> None:
        async for message in connection:
            card = json.loads(message)["conversation"]
            arrivals[card["id"]].append(time.perf_counter())

    connections = [
        await websockets.connect(f"ws://127.0.0.1:{port}/ws/inbox/", additional_headers=headers)
        for _ in range(sockets)
    ]
    listeners = [asyncio.create_task(listen(connection)) for connection in connections]
    await asyncio.sleep(0.5)
    latencies = []
    try:
        for index in range(posts):
            conversation_id = await asyncio.to_thread(_publish_post, index, started)
            deadline = time.perf_counter() + ARRIVAL_TIMEOUT_SECONDS
            while len(arrivals[conversation_id]) < sockets and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            if len(arrivals[conversation_id]) < sockets:
                raise RuntimeError(
                    f"Only {len(arrivals[conversation_id])} of {sockets} sockets got post {index}"
                )
            latencies += [(t - started[conversation_id]) * 1000 for t in arrivals[conversation_id]]
            await asyncio.sleep(PAUSE_BETWEEN_POSTS_SECONDS)
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(connection.close() for connection in connections))
    return latencies


async def _redis_run(url: str, sockets: int, posts: int) -> list[float]:
    import redis.asyncio as redis

    channel = f"bench-pubsub-{os.getpid()}"
    arrivals: dict[int, list[float]] = defaultdict(list)
    clients = [redis.from_url(url) for _ in range(sockets)]
    subscriptions = [client.pubsub() for client in clients]
    for subscription in subscriptions:
        await subscription.subscribe(channel)

    async def listen(subscription) -> None:
        async for message in subscription.listen():
            if message["type"] == "message":
                arrivals[int(message["data"])].append(time.perf_counter())

    listeners = [asyncio.create_task(listen(s)) for s in subscriptions]
    publisher = redis.from_url(url)
    await asyncio.sleep(0.5)
    latencies = []
    try:
        for index in range(posts):
            started = time.perf_counter()
            await publisher.publish(channel, index)
            deadline = started + ARRIVAL_TIMEOUT_SECONDS
            while len(arrivals[index]) < sockets and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            latencies += [(t - started) * 1000 for t in arrivals[index]]
            await asyncio.sleep(PAUSE_BETWEEN_POSTS_SECONDS)
    finally:
        for task in listeners:
            task.cancel()
        for subscription in subscriptions:
            await subscription.aclose()
        for client in [*clients, publisher]:
            await client.aclose()
    return latencies


def run(*, sockets: int, posts: int, port: int) -> dict:
    """Needs Parley served on `port` (the runner starts it: common.parley_server)."""
    from django.conf import settings

    _, agent, _, _ = ensure_fixtures()
    reset_traffic()
    client = Client()
    client.force_login(agent)
    cookie = client.cookies["sessionid"].value
    wait_for_port(port)
    channels = asyncio.run(_channels_run(port, cookie, sockets, posts))
    bare = asyncio.run(_redis_run(settings.REDIS_URL, sockets, posts))
    # The processing each post queued has no worker here; drop it with the rows.
    from parley.celery import app

    app.control.purge()
    reset_traffic()
    p95, bare_p95 = percentile(channels, 0.95), percentile(bare, 0.95)
    return {
        "benchmark": "live",
        "live_sockets": sockets,
        "live_posts": posts,
        "live_p50_ms": round(percentile(channels, 0.50), 2),
        "live_p95_ms": round(p95, 2),
        "live_p99_ms": round(percentile(channels, 0.99), 2),
        "baseline": "bare Redis pub/sub to the same number of subscribers",
        "pubsub_p50_ms": round(percentile(bare, 0.50), 2),
        "pubsub_p95_ms": round(bare_p95, 2),
        "pubsub_p99_ms": round(percentile(bare, 0.99), 2),
        "live_ratio_to_pubsub_p95": round(p95 / bare_p95, 2),
    }
