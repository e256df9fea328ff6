"""A storm of one-event X deliveries at the real web server (`manage.py serve`, two web
processes as on a 2-core machine) on a real PostgreSQL and Redis: every delivery is answered
200 and stored once, while no web process holds more database connections than its pool
allows, and the one its webhook writer keeps; a worker then makes each one a post.

Under ASGI each request runs in a thread of its own; with persistent connections every one of
those threads kept a connection, until PostgreSQL refused clients and deliveries got 500.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from core.models import Post
from ingestion.models import WebhookDelivery
from ingestion.services import process_webhook_delivery
from parley.celery import app as celery_app
from tests.e2e.demo_server import free_port, stop
from tests.ingestion.conftest import payload
from tests.ingestion.test_webhooks import x_signature

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = 40
POOL_SIZE = 3
WEB_PROCESSES = 2
APPLICATION_NAME = "parley-storm-test"


def deliveries(count: int) -> list[bytes]:
    """`count` Account Activity deliveries of one tweet each, from different customers."""
    template = payload("x_account_activity_tweet.json")
    bodies = []
    for number in range(count):
        body = copy.deepcopy(template)
        tweet = body["tweet_create_events"][0]
        tweet["id"] = 1_900_000_000_000_000_000 + number
        tweet["id_str"] = str(tweet["id"])
        tweet["user"]["id_str"] = f"77{number:06d}"
        tweet["user"]["screen_name"] = f"storm_customer_{number}"
        bodies.append(json.dumps(body).encode())
    return bodies


def database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}?application_name={APPLICATION_NAME}"
    )


def server_connections() -> int:
    with psycopg.connect(
        host=connection.settings_dict["HOST"] or "127.0.0.1",
        port=connection.settings_dict["PORT"] or 5432,
        user=connection.settings_dict["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as watcher:
        return watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [APPLICATION_NAME],
        ).fetchone()[0]


def serve(port: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DB_POOL_MAX_SIZE": str(POOL_SIZE),
        "WEB_CONCURRENCY": str(WEB_PROCESSES),
        # As in production: the server stores and queues; a worker processes.
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-schedule"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2).close()
            return process
        except (urllib.error.URLError, OSError):
            if process.poll() is not None:
                break
            time.sleep(0.2)
    stop(process)
    raise AssertionError("manage.py serve did not answer /livez within 90 s")


def deliver(port: int, body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/x/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Twitter-Webhooks-Signature": x_signature(body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_storm_of_single_event_deliveries_is_stored_once_within_the_pool(
    x_account, default_team, tmp_path
):
    port = free_port()
    peak = 0
    storming = threading.Event()

    def watch() -> None:
        nonlocal peak
        while storming.is_set():
            peak = max(peak, server_connections())
            time.sleep(0.05)

    with (tmp_path / "serve.log").open("wb") as log:
        process = serve(port, log)
        try:
            storming.set()
            watcher = threading.Thread(target=watch)
            watcher.start()
            bodies = deliveries(DELIVERIES)
            with ThreadPoolExecutor(max_workers=DELIVERIES) as senders:
                statuses = list(senders.map(lambda body: deliver(port, body), bodies))
            storming.clear()
            watcher.join()
            # Forty deliveries can all be answered between two samples; the connections the
            # storm opened are still held (pooled, and the writer's own), so count them too.
            peak = max(peak, server_connections())
        finally:
            stop(process)
        # The queued tasks are this test's to run, not a later test's worker's.
        celery_app.control.purge()
    server_log = (tmp_path / "serve.log").read_text(errors="replace")

    assert statuses == [200] * DELIVERIES, server_log[-3000:]
    # Each web process: its pool, and the connection its webhook writer keeps (ingestion.intake).
    assert 0 < peak <= (POOL_SIZE + 1) * WEB_PROCESSES
    stored = list(WebhookDelivery.objects.values_list("pk", flat=True))
    assert len(stored) == DELIVERIES
    for delivery_id in stored:
        process_webhook_delivery(delivery_id=delivery_id)
    assert Post.objects.filter(external_id__startswith="19000000").count() == DELIVERIES
