"""Tasks that fail in a worker for a transient reason are retried with backoff; after the last
retry, or at once for any other error, they leave a dead letter an admin can see and replay."""

import pytest
import redis.exceptions
import requests
from celery.contrib.django.task import DjangoTask
from celery.exceptions import Retry
from django.db import InterfaceError, OperationalError
from django.test import override_settings
from django.urls import reverse

from core.models import Post
from ingestion.connectors.base import TransientError
from ingestion.tasks import process_inbound_post
from parley.celery import app as celery_app
from reliability.models import DeadLetter
from tests.factories import ConversationFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_request():
    """Run the task as a worker would (not eager, not called directly), then restore."""
    pushed = []

    def push(task, *, retries: int):
        task.push_request(retries=retries, is_eager=False, called_directly=False, id="t-1")
        pushed.append(task)

    yield push
    for task in pushed:
        task.pop_request()


@pytest.fixture
def broker_not_eager():
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = saved


def test_a_transient_error_in_a_worker_is_retried_with_backoff(
    worker_request, broker_not_eager, monkeypatch
):
    monkeypatch.setattr(process_inbound_post, "_orig_run", _database_gone)
    sent = []
    monkeypatch.setattr(
        process_inbound_post, "apply_async", lambda *a, **kw: sent.append(kw) or None
    )
    worker_request(process_inbound_post, retries=0)

    with pytest.raises(Retry):
        process_inbound_post(42)

    # Celery's full jitter: anywhere up to 2 s before the first retry.
    assert 0 <= sent[0]["countdown"] <= 2
    assert not DeadLetter.objects.exists()


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection unexpectedly"),
        InterfaceError("connection already closed"),
        redis.exceptions.ConnectionError("Error 111 connecting to redis:6379"),
        requests.Timeout("read timed out"),
        TransientError("X server error: 503"),  # what a connector raises for a 5xx
    ],
    ids=type,
)
def test_what_counts_as_transient(error, worker_request, broker_not_eager, monkeypatch):
    monkeypatch.setattr(process_inbound_post, "_orig_run", _raising(error))
    monkeypatch.setattr(process_inbound_post, "apply_async", lambda *a, **kw: None)
    worker_request(process_inbound_post, retries=0)

    with pytest.raises(Retry):
        process_inbound_post(42)


def test_an_error_that_would_recur_fails_at_once_into_a_dead_letter(
    worker_request, broker_not_eager, monkeypatch
):
    monkeypatch.setattr(process_inbound_post, "_orig_run", _raising(KeyError("triage_reasons")))
    sent = []
    monkeypatch.setattr(process_inbound_post, "apply_async", lambda *a, **kw: sent.append(kw))
    worker_request(process_inbound_post, retries=0)

    with pytest.raises(KeyError) as raised:
        process_inbound_post(42)
    process_inbound_post.on_failure(raised.value, "t-1", (42,), {}, None)

    assert sent == []  # not retried
    letter = DeadLetter.objects.get()
    assert (letter.retries, letter.args) == (0, [42])
    assert "triage_reasons" in letter.error


@override_settings(RELIABILITY_TASK_MAX_RETRIES=3)
def test_a_task_failing_its_last_retry_leaves_a_dead_letter(worker_request, monkeypatch):
    monkeypatch.setattr(process_inbound_post, "_orig_run", _database_gone)
    worker_request(process_inbound_post, retries=3)

    with pytest.raises(OperationalError) as raised:
        process_inbound_post(42)
    process_inbound_post.on_failure(raised.value, "t-1", (42,), {}, None)

    letter = DeadLetter.objects.get()
    assert letter.task_name == "ingestion.tasks.process_inbound_post"
    assert letter.args == [42]
    assert letter.retries == 3
    assert "database went away" in letter.error


def test_in_eager_mode_errors_reach_the_caller_once_and_leave_no_dead_letter(monkeypatch):
    calls = []
    monkeypatch.setattr(
        process_inbound_post, "_orig_run", lambda *a: calls.append(a) or _database_gone()
    )

    with pytest.raises(OperationalError):
        process_inbound_post.delay(42)

    assert calls == [(42,)]  # not run again inside the caller
    assert not DeadLetter.objects.exists()


def test_tasks_are_djangos_and_queue_on_commit(
    demo_account, default_team, django_capture_on_commit_callbacks
):
    post = PostFactory(conversation=ConversationFactory(account=demo_account), intent="")

    with django_capture_on_commit_callbacks() as after_commit:
        process_inbound_post.delay_on_commit(post.pk)
        assert Post.objects.get(pk=post.pk).intent == ""
    for callback in after_commit:
        callback()

    assert isinstance(process_inbound_post, DjangoTask)
    assert Post.objects.get(pk=post.pk).intent != ""


def test_an_admin_sees_dead_letters_and_replays_them(
    client, demo_account, default_team, django_capture_on_commit_callbacks
):
    post = PostFactory(conversation=ConversationFactory(account=demo_account), intent="")
    letter = DeadLetter.objects.create(
        task_name="ingestion.tasks.process_inbound_post",
        args=[post.pk],
        error="OperationalError('server closed the connection')",
        retries=5,
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:reliability_deadletter_changelist"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:reliability_deadletter_changelist"),
            {"action": "replay", "_selected_action": [letter.pk]},
            follow=True,
        )

    assert b"server closed the connection" in listing.content
    assert b"Queued 1 task(s) again." in response.content
    letter.refresh_from_db()
    assert letter.replayed_at is not None and letter.replay_count == 1
    assert Post.objects.get(pk=post.pk).intent != ""  # the replayed task ran (eager here)


def _database_gone(*args, **kwargs):
    raise OperationalError("database went away")


def _raising(error):
    def run(*args, **kwargs):
        raise error

    return run
