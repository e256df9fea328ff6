"""The production shape of processing: an ingested post waits in Redis until a real Celery
worker process picks it up, triages it and routes its conversation.

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

from helpdesk.celery import app as celery_app
from helpdesk.models import Intent, Post, Team
from ingestion.services import ingest_item
from routing.models import RoutingRule
from tests.factories import InboundItemFactory

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
        "helpdesk",
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


def wait_until_processed(post: Post, worker: subprocess.Popen, log_path: Path) -> Post:
    deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        post.refresh_from_db()
        post.conversation.refresh_from_db()
        if post.intent and post.conversation.team_id is not None:
            return post
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(
        f"The worker did not process post {post.pk} within {WORKER_DEADLINE_SECONDS}s "
        f"(exit code {worker.poll()}). Its log:\n{log_path.read_text(errors='replace')}"
    )


def test_worker_triages_and_routes_an_ingested_post(
    tasks_go_to_the_broker, demo_account, default_team, tmp_path
):
    incidents = Team.objects.create(name="Incidents", slug="incidents")
    RoutingRule.objects.create(name="Complaints", intent=Intent.COMPLAINT, team=incidents)
    celery_app.control.purge()
    item = InboundItemFactory(text="@brand your app is down again, can't log in #outage")

    post = ingest_item(account=demo_account, item=item).post

    # Stored and queued, not processed in this process.
    post.refresh_from_db()
    assert post.intent == ""
    assert messages_waiting() == 1

    log_path = tmp_path / "worker.log"
    with running_celery_worker(log_path) as worker:
        post = wait_until_processed(post, worker, log_path)

    conversation = post.conversation
    assert post.intent == Intent.COMPLAINT
    assert "outage" in post.triage_reasons
    assert conversation.team == incidents
    assert conversation.intent == Intent.COMPLAINT
    assert conversation.first_response_due_at is not None
    assert messages_waiting() == 0
