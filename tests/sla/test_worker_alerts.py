"""Against real PostgreSQL, Redis and a Celery worker running beat: a conversation crossing
its at-risk and breach thresholds produces exactly one alert each, live on a supervisor's
socket.

The test does not wait for real SLA minutes: it moves the timer's start into the past so a
threshold is already behind it, and lets the worker's beat sweep (every half second here)
find it.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from sla.consumers import SlaAlertConsumer
from sla.models import SlaTimer, TimerKind, TimerState
from sla.services import recompute_timers, start_response_clocks
from tests.factories import AgentFactory, PostFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ALERT_TIMEOUT = 25  # seconds; worker start-up is most of it


@pytest.fixture
def worker(tmp_path):
    """A Celery worker with embedded beat, on the test database, sweeping every 0.5 s."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SLA_SWEEP_SECONDS": "0.5",
        "INGESTION_POLL_SECONDS": "3600",
        "DB_CONN_MAX_AGE": "0",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "parley",
            "worker",
            "--beat",
            "--pool=solo",
            "--purge",
            "--loglevel=WARNING",
            f"--schedule={tmp_path / 'beat-schedule'}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    # Stop it before pytest-django empties the tables it is reading.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def make_old(conversation, by: timedelta) -> None:
    SlaTimer.objects.filter(conversation=conversation).update(started_at=timezone.now() - by)
    recompute_timers(conversation_id=conversation.pk, at=timezone.now())


def test_at_risk_and_breach_each_alert_once_on_the_supervisors_socket(default_team, worker):
    supervisor = AgentFactory(teams=[default_team])
    supervisor.user_permissions.add(Permission.objects.get(codename="receive_team_alerts"))
    post = PostFactory(conversation__team=default_team, conversation__account__is_active=False)
    conversation = post.conversation
    start_response_clocks(conversation=conversation, post=post)
    conversation.save()

    async def watch() -> list[dict]:
        communicator = WebsocketCommunicator(SlaAlertConsumer.as_asgi(), "/ws/sla/")
        communicator.scope["user"] = supervisor
        connected, _ = await communicator.connect()
        assert connected
        # 13 of 15 minutes gone: past the 80 % mark, not yet due.
        await database_sync_to_async(make_old)(conversation, timedelta(minutes=13))
        at_risk = await communicator.receive_json_from(timeout=ALERT_TIMEOUT)
        await database_sync_to_async(make_old)(conversation, timedelta(minutes=16))
        breached = await communicator.receive_json_from(timeout=ALERT_TIMEOUT)
        # Several more sweeps run meanwhile; none may repeat an alert.
        quiet = await communicator.receive_nothing(timeout=2.5)
        await communicator.disconnect()
        return [at_risk, breached, quiet]

    try:
        at_risk, breached, quiet = async_to_sync(watch)()
    except TimeoutError:
        pytest.fail(f"No alert in time; worker said:\n{_output_of(worker)}")

    assert [at_risk["event"], breached["event"]] == ["sla.at_risk", "sla.breached"]
    assert {at_risk["timer"], breached["timer"]} == {TimerKind.FIRST_RESPONSE}
    assert at_risk["conversation_id"] == breached["conversation_id"] == conversation.pk
    assert quiet is True
    first = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE)
    assert first.state == TimerState.BREACHED


def _output_of(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        return "(no output: the worker did not stop)"
    return output.decode(errors="replace")[-4000:]
