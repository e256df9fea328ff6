"""The production shape of ingestion: a verified webhook delivery waits in Redis until a real
Celery worker process picks it up, stores its post, triages it and routes its conversation.

The worker is a separate process with its own database connection, so the test is
transactional (what it stores is committed) and the worker is pointed at pytest-django's test
database. It uses the suite's Redis database (REDIS_URL, db 15 under `make test`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from core.models import Intent, Platform, Post, Team
from ingestion.models import WebhookDelivery
from ingestion.tasks import process_webhook_delivery
from parley.celery import app as celery_app
from routing.models import RoutingRule
from tests.factories import PlatformAccountFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"
# A bound on waiting for the worker, not a speed target: it usually takes a few seconds.
WORKER_DEADLINE_SECONDS = 30


@pytest.fixture
def tasks_go_to_the_broker():
    """Send tasks to Redis instead of running them in the test process, for this test only."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


def worker_database_url() -> str:
    """A DATABASE_URL for the database this test runs in (pytest-django's `test_…`)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}{port}/{db['NAME']}"


def messages_waiting() -> int:
    with celery_app.connection_for_write() as broker:
        return broker.default_channel.queue_declare(queue=QUEUE).message_count


@contextmanager
def running_celery_worker(log_path: Path) -> Iterator[subprocess.Popen]:
    environment = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # No exact SLA checks (eta tasks): they would still wait in the queue this test
        # expects the worker to have emptied.
        "SLA_EXACT_CHECK_HORIZON_SECONDS": "0",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "parley",
        "worker",
        "--pool=solo",
        "-Q",
        QUEUE,
        "--concurrency=1",
        "--loglevel=INFO",
        "--hostname",
        f"pytest-{os.getpid()}@%h",
        # A lone test worker has no peers to synchronise with.
        "--without-mingle",
        "--without-gossip",
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield worker
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def wait_until_processed(external_id: str, worker: subprocess.Popen, log_path: Path) -> Post:
    deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        post = Post.objects.filter(external_id=external_id).select_related("conversation").first()
        if post is not None and post.intent and post.conversation.team_id is not None:
            return post
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(
        f"The worker did not store and process post {external_id} within "
        f"{WORKER_DEADLINE_SECONDS}s (exit code {worker.poll()}). Its log:\n"
        f"{log_path.read_text(errors='replace')}"
    )


def test_worker_stores_triages_and_routes_a_delivered_post(
    tasks_go_to_the_broker, default_team, tmp_path
):
    account = PlatformAccountFactory(platform=Platform.TWITTER, handle="acme", external_id="150")
    incidents = Team.objects.create(name="Incidents", slug="incidents")
    RoutingRule.objects.create(name="Complaints", intent=Intent.COMPLAINT, team=incidents)
    celery_app.control.purge()
    tweet = {
        "created_at": "Sat Jun 01 10:05:00 +0000 2024",
        "id_str": "1800000000000000002",
        "text": "@acme your app is down again, can't log in #outage",
        "in_reply_to_status_id_str": None,
        "user": {"id_str": "2244994945", "screen_name": "maria", "name": "Maria"},
    }
    body = {"for_user_id": account.external_id, "tweet_create_events": [tweet]}

    # What the webhook view does: keep the verified delivery, queue its processing.
    delivery = WebhookDelivery.objects.create(platform=Platform.TWITTER, body=body)
    process_webhook_delivery.delay(delivery.pk)

    # Waiting in Redis, not processed in this process.
    assert not Post.objects.exists()
    assert messages_waiting() == 1
    log_path = tmp_path / "worker.log"
    with running_celery_worker(log_path) as worker:
        post = wait_until_processed(tweet["id_str"], worker, log_path)

    conversation = post.conversation
    assert post.intent == Intent.COMPLAINT
    assert "outage" in post.triage_reasons
    assert conversation.team == incidents
    assert conversation.intent == Intent.COMPLAINT
    assert conversation.first_response_due_at is not None
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert messages_waiting() == 0
