"""Webhook intake over real HTTP: signed deliveries of one event each, as X's Account Activity
API and Meta push them, sent over loopback to Parley served by uvicorn as `serve` runs it.

Each delivery is checked (size, signature, JSON), stored and queued to Redis, then answered:
that is all a platform waits for. Two loads: at saturation (a fixed number of connections
sending as fast as answers come) and at a fixed offered rate (requests scheduled on a clock;
latency counts from the scheduled time, so a slow answer delays the ones behind it as it
would a platform's). The baseline is a bare ASGI app that reads the body and answers 200
(bench/bare_asgi.py), served by the same code and settings (bench/bare_serving.py: each web
process on a listening socket of its own), under the same load generator.

The load generator is this process, on the same two cores as the server: both figures pay
for it alike, which is why the ratio is the figure to compare.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import hmac
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import zip_longest
from pathlib import Path

from . import data
from .common import (
    BRAND_ID,
    checkpoint,
    children_of,
    connection_owners,
    free_port,
    listening_pids,
    parley_server,
    peak_rss_mb,
    percentile,
    reset_traffic,
    serving,
)

X_SECRET = "bench-x-consumer-secret"
META_SECRET = "bench-meta-app-secret"
PAGE_ID = "1600000000"
CONNECTIONS = 32
# A bound on one request, not a target.
REQUEST_TIMEOUT_SECONDS = 30.0


def x_requests(count: int, *, id_base: int) -> list[bytes]:
    """`count` Account Activity deliveries of one tweet each, signed as X signs them."""
    bodies = [
        json.dumps(delivery).encode()
        for delivery in data.storm_payloads(
            brand_id=BRAND_ID, count=count, per_delivery=1, id_base=id_base
        )
    ]
    return [
        _request(
            "/webhooks/x/",
            body,
            "X-Twitter-Webhooks-Signature",
            "sha256="
            + base64.b64encode(hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()).decode(),
        )
        for body in bodies
    ]


def meta_requests(count: int, *, id_base: int) -> list[bytes]:
    """`count` Messenger deliveries of one entry (one message) each, signed as Meta signs."""
    requests = []
    for index in range(count):
        at_ms = int(time.time() * 1000)
        body = json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": PAGE_ID,
                        "time": at_ms,
                        "messaging": [
                            {
                                "sender": {"id": str(4_000_000_000 + index % 5000)},
                                "recipient": {"id": PAGE_ID},
                                "timestamp": at_ms,
                                "message": {
                                    "mid": f"m_bench_{id_base + index}",
                                    "text": "Hi, my order never arrived. Can you check?",
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
        requests.append(_request("/webhooks/meta/", body, "X-Hub-Signature-256", signature))
    return requests


def _request(path: str, body: bytes, header: str, signature: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{header}: {signature}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Load:
    sent: int
    accepted: int
    seconds: float
    latencies_ms: list[float]
    # Requests each web process answered, most first (empty when not asked for).
    per_process: list[int] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


# A response's Content-Length, read from its head in one search.
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


async def _exchange(reader, writer, request: bytes) -> int:
    """Send one request on a kept-alive connection; the response's status code. The head is
    read in one call: reading it line by line cost the load generator, which shares the
    machine with the server, a few microseconds per header line, more for Parley's answers
    (security headers, a request id) than for the bare app's."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = CONTENT_LENGTH.search(head)
    if length:
        await reader.readexactly(int(length.group(1)))
    return int(head.split(b" ", 2)[1])


async def _run(
    port: int, requests: list[bytes], *, rate: float | None, server: Server | None = None
) -> Load:
    """Send `requests` over CONNECTIONS kept-alive connections, all opened at once: as fast
    as answers come (rate None), or each at its slot on a clock of `rate` per second. With
    `server`, count the requests each of its web processes answered."""
    # The load generator's own full garbage collections (tens of thousands of prepared
    # requests) paused its clock for 110 to 170 ms and were counted as the server's latency.
    gc.collect()
    gc.disable()
    try:
        return await _send_all(port, requests, rate=rate, server=server)
    finally:
        gc.enable()


async def _send_all(port: int, requests: list[bytes], *, rate: float | None, server) -> Load:
    queue: asyncio.Queue = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    accepted = 0
    streams = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(CONNECTIONS))
    )
    owners = await _owners(port, server, streams) if server else {}
    sent_by_process: dict[int, int] = dict.fromkeys(server.web_pids() if server else [], 0)
    started = time.perf_counter()

    async def connection(reader, writer) -> None:
        nonlocal accepted
        owner = owners.get(writer.get_extra_info("sockname")[1])
        try:
            while True:
                try:
                    request = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                index = len(requests) - queue.qsize() - 1
                due = started + index / rate if rate else time.perf_counter()
                if rate and (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                status = await asyncio.wait_for(
                    _exchange(reader, writer, request), REQUEST_TIMEOUT_SECONDS
                )
                latencies.append((time.perf_counter() - due) * 1000)
                accepted += status == 200
                if owner is not None:
                    sent_by_process[owner] = sent_by_process.get(owner, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(reader, writer) for reader, writer in streams))
    return Load(
        len(requests),
        accepted,
        time.perf_counter() - started,
        latencies,
        sorted(sent_by_process.values(), reverse=True),
    )


async def _owners(port: int, server: Server, streams) -> dict[int, int]:
    """The web process serving each connection, by the client's port; waits (a little) for
    the processes to accept them all."""
    clients = {writer.get_extra_info("sockname")[1] for _, writer in streams}
    deadline = time.monotonic() + 5
    while True:
        owners = connection_owners(port, server.web_pids())
        if clients <= owners.keys() or time.monotonic() > deadline:
            return owners
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def web_pids(self) -> list[int]:
        """The supervisor's children that listen on the port: its web processes."""
        children = children_of(self.pid)
        listening = listening_pids(self.port, children)
        return [pid for pid in children if pid in listening]


@contextmanager
def _served(*, bare: bool, processes: int) -> Iterator[Server]:
    """Parley as `manage.py serve --no-schedule` runs it (`processes` web processes, each
    with its pooled database connections and group commit), or, `bare`, the baseline app by
    the same serving code (bench/bare_serving.py)."""
    port = free_port()
    env = {"X_CONSUMER_SECRET": X_SECRET, "META_APP_SECRET": META_SECRET}
    if bare:
        command = [sys.executable, "-m", "bench.bare_serving", str(port), str(processes)]
        server = serving(
            command,
            port=port,
            processes=processes,
            name="serve-bare",
            env={**env, "WEB_CONCURRENCY": str(processes)},
        )
    else:
        server = parley_server(port, processes=processes, env=env, name="serve-webhooks")
    with server as process:
        yield Server(port, process.pid)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server: its supervisor and its web processes, from /proc."""
    total = 0
    for process in [pid, *children_of(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _timed_cpu(pid: int, action) -> tuple[Load, float]:
    """`action`'s Load, and the server's CPU milliseconds per request it sent: the figure
    that moves least with what else the machine runs."""
    before = _cpu_seconds(pid)
    load = action()
    return load, (_cpu_seconds(pid) - before) * 1000 / max(1, load.sent)


def _web_rss_mb(pid: int) -> float | None:
    """The largest peak RSS among the server's web processes (the supervisor's children)."""
    return max(filter(None, map(peak_rss_mb, [pid, *children_of(pid)])), default=None)


# Rounds of Parley then the bare app, one after the other with both servers up: the machine's
# speed drifts from one second to the next (the bare app's rate alone moved from 9,800 to 27,500/s
# between runs), and a ratio of two loads run a minute apart measured the drift as much as
# Parley.
ROUNDS = 3


def run(*, deliveries: int, offered_rate: int) -> dict:
    """`deliveries` per round and per server. Needs no worker: the queued tasks are purged
    afterwards (the ingest benchmark measures processing)."""
    from parley.celery import app as celery_app
    from parley.management.commands.serve import web_processes

    reset_traffic()
    checkpoint()
    # As a deployment on this machine would run: one web process per core.
    processes = web_processes()
    half = deliveries // 2
    rounds: list[tuple[Load, float, Load, float]] = []
    with (
        _served(bare=False, processes=processes) as server,
        _served(bare=True, processes=processes) as bare_server,
    ):
        # Warm up Django's first request (URL resolver, connections) outside the clock.
        for warmed in (server, bare_server):
            warm_up = x_requests(20, id_base=1_700_000_000_000_000_000)
            asyncio.run(_run(warmed.port, warm_up, rate=None))
        for round_number in range(ROUNDS):
            id_base = 1_800_000_000_000_000_000 + round_number * 10_000_000
            mixed = x_requests(half, id_base=id_base) + meta_requests(
                deliveries - half, id_base=round_number * 10_000_000
            )
            load, cpu_ms = _timed_cpu(server.pid, partial(_saturate, server, mixed))
            bare_requests = x_requests(deliveries, id_base=id_base)
            bare_load, bare_cpu_ms = _timed_cpu(
                bare_server.pid, partial(_saturate, bare_server, bare_requests)
            )
            rounds.append((load, cpu_ms, bare_load, bare_cpu_ms))
        offered = x_requests(
            max(1, offered_rate * 5), id_base=1_850_000_000_000_000_000
        )  # five seconds' worth
        offered_load = asyncio.run(_run(server.port, offered, rate=offered_rate))
        web_rss = _web_rss_mb(server.pid)
    celery_app.control.purge()
    reset_traffic()
    saturation = _together([parley for parley, _, _, _ in rounds])
    bare = _together([bare_load for _, _, bare_load, _ in rounds])
    return {
        "benchmark": "webhooks",
        "webhook_deliveries": deliveries * ROUNDS,
        "webhook_rounds": ROUNDS,
        "webhook_connections": CONNECTIONS,
        "webhook_web_processes": processes,
        "webhook_deliveries_per_s": round(saturation.per_second, 1),
        "webhook_p50_ms_at_saturation": round(percentile(saturation.latencies_ms, 0.5), 2),
        "webhook_p99_ms_at_saturation": round(percentile(saturation.latencies_ms, 0.99), 2),
        # Deliveries each web process answered at saturation, most first: how evenly the
        # connections, all opened at once, were shared.
        "webhook_deliveries_per_process": saturation.per_process,
        "webhook_offered_per_s": offered_rate,
        "webhook_p50_ms": round(percentile(offered_load.latencies_ms, 0.5), 2),
        "webhook_p99_ms": round(percentile(offered_load.latencies_ms, 0.99), 2),
        "webhook_rejected": (saturation.sent - saturation.accepted)
        + (offered_load.sent - offered_load.accepted),
        "baseline": "bare ASGI app answering 200 (bench/bare_asgi.py), served by serve's code, "
        "in rounds alternating with Parley's",
        "bare_asgi_per_s": round(bare.per_second, 1),
        "webhook_ratio_to_bare_asgi": round(saturation.per_second / bare.per_second, 4),
        "webhook_ratio_per_round": [
            round(parley.per_second / bare_load.per_second, 4) for parley, _, bare_load, _ in rounds
        ],
        "bare_asgi_requests_per_process": bare.per_process,
        # Server CPU (all its processes) per request at saturation: what the load on the
        # machine changes least.
        "webhook_server_cpu_ms_per_delivery": round(
            sum(cpu_ms for _, cpu_ms, _, _ in rounds) / ROUNDS, 3
        ),
        "bare_asgi_server_cpu_ms_per_request": round(
            sum(bare_cpu_ms for _, _, _, bare_cpu_ms in rounds) / ROUNDS, 3
        ),
        "web_rss_mb": web_rss,
    }


def _saturate(server: Server, requests: list[bytes]) -> Load:
    return asyncio.run(_run(server.port, requests, rate=None, server=server))


def _together(loads: list[Load]) -> Load:
    """Loads run one after the other, as one: their requests over their summed time (the
    per-process counts, most first in each, summed rank by rank)."""
    ranked = zip_longest(*(load.per_process for load in loads), fillvalue=0)
    per_process = [sum(counts) for counts in ranked]
    return Load(
        sum(load.sent for load in loads),
        sum(load.accepted for load in loads),
        sum(load.seconds for load in loads),
        [latency for load in loads for latency in load.latencies_ms],
        per_process,
    )
