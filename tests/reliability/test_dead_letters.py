"""Tasks that raise in a worker are retried with backoff; after the last retry they leave a
dead letter an admin can see and replay."""

import pytest
from celery.exceptions import Retry
from django.test import override_settings
from django.urls import reverse

from core.models import Post
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


def test_a_failing_task_in_a_worker_is_retried_with_backoff(
    worker_request, broker_not_eager, monkeypatch
):
    monkeypatch.setattr(process_inbound_post, "run", _boom)
    sent = []
    monkeypatch.setattr(
        process_inbound_post, "apply_async", lambda *a, **kw: sent.append(kw) or None
    )
    worker_request(process_inbound_post, retries=0)

    with pytest.raises(Retry):
        process_inbound_post(42)

    assert 1 <= sent[0]["countdown"] <= 2
    assert not DeadLetter.objects.exists()


@override_settings(RELIABILITY_TASK_MAX_RETRIES=3)
def test_a_task_failing_its_last_retry_leaves_a_dead_letter(worker_request, monkeypatch):
    monkeypatch.setattr(process_inbound_post, "run", _boom)
    worker_request(process_inbound_post, retries=3)

    with pytest.raises(RuntimeError) as raised:
        process_inbound_post(42)
    process_inbound_post.on_failure(raised.value, "t-1", (42,), {}, None)

    letter = DeadLetter.objects.get()
    assert letter.task_name == "ingestion.tasks.process_inbound_post"
    assert letter.args == [42]
    assert letter.retries == 3
    assert "database went away" in letter.error


def test_in_eager_mode_errors_reach_the_caller_and_leave_no_dead_letter(monkeypatch):
    monkeypatch.setattr(process_inbound_post, "run", _boom)

    with pytest.raises(RuntimeError):
        process_inbound_post.delay(42)

    assert not DeadLetter.objects.exists()


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


def _boom(*args, **kwargs):
    raise RuntimeError("database went away")
