"""A draining task (one run takes every row waiting) is sent once while a message of it
waits: a storm of one-post webhook deliveries costs a task per batch, not per delivery."""

import threading

import pytest
from celery import current_app
from kombu.exceptions import OperationalError

from ingestion.tasks import deliver_reply, process_webhook_delivery
from reliability import services as reliability_services
from reliability.services import (
    drain_started,
    enqueue_on_commit_in_background,
    queue_drain,
    wait_for_background_publishes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The messages sent to the broker, by task name and arguments (no worker runs them)."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    messages = []
    monkeypatch.setattr(
        current_app,
        "send_task",
        lambda name, args, **options: messages.append((name, tuple(args))),
    )
    monkeypatch.setattr(
        process_webhook_delivery,
        "delay",
        lambda *args: messages.append((process_webhook_delivery.name, args)),
    )
    return messages


def queue_committed(task, *object_ids, capture) -> None:
    """As the webhook view queues the deliveries it committed: after commit, in the
    publisher thread."""
    with capture(execute=True):
        for object_id in object_ids:
            enqueue_on_commit_in_background(task, object_id)
    wait_for_background_publishes()


def test_deliveries_committed_while_a_message_waits_queue_no_other(
    sent, django_capture_on_commit_callbacks
):
    queue_committed(process_webhook_delivery, 1, 2, 3, capture=django_capture_on_commit_callbacks)

    assert [name for name, _ in sent] == [process_webhook_delivery.name]


def test_once_the_task_has_started_the_next_delivery_queues_a_message(
    sent, django_capture_on_commit_callbacks
):
    queue_committed(process_webhook_delivery, 1, 2, capture=django_capture_on_commit_callbacks)
    # The worker takes the message: from here on it may not see what commits next.
    drain_started(process_webhook_delivery)
    queue_committed(process_webhook_delivery, 3, 4, capture=django_capture_on_commit_callbacks)

    assert [name for name, _ in sent] == [process_webhook_delivery.name] * 2


def test_a_refused_message_is_not_taken_as_waiting(
    monkeypatch, sent, django_capture_on_commit_callbacks
):
    def refuse(name, args, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(current_app, "send_task", refuse)
    queue_committed(process_webhook_delivery, 1, capture=django_capture_on_commit_callbacks)
    monkeypatch.setattr(
        current_app, "send_task", lambda name, args, **options: sent.append((name, tuple(args)))
    )
    queue_committed(process_webhook_delivery, 2, capture=django_capture_on_commit_callbacks)

    assert sent == [(process_webhook_delivery.name, (2,))]


def test_other_tasks_are_sent_for_every_row(sent, django_capture_on_commit_callbacks):
    queue_committed(deliver_reply, 1, 2, capture=django_capture_on_commit_callbacks)

    assert sent == [(deliver_reply.name, (1,)), (deliver_reply.name, (2,))]


def test_a_task_queued_again_for_what_it_left_waits_like_any_message(sent):
    assert queue_drain(process_webhook_delivery, 7)
    assert queue_drain(process_webhook_delivery, 8)

    assert sent == [(process_webhook_delivery.name, (7,))]


def test_the_publisher_looks_at_the_mark_once_for_the_sends_handed_over_together(
    monkeypatch, sent, django_capture_on_commit_callbacks
):
    looks = []
    take = reliability_services._take_drain_slot
    monkeypatch.setattr(
        reliability_services, "_take_drain_slot", lambda name: looks.append(name) or take(name)
    )
    busy = threading.Event()
    # The publisher thread is busy while three deliveries are committed and handed over.
    reliability_services._publisher.submit(busy.wait, 10)
    with django_capture_on_commit_callbacks(execute=True):
        for delivery_id in (1, 2, 3):
            enqueue_on_commit_in_background(process_webhook_delivery, delivery_id)
    busy.set()
    wait_for_background_publishes()

    # The first, still waiting, looks after all three commits and stands for all three.
    assert looks == [process_webhook_delivery.name]
    assert sent == [(process_webhook_delivery.name, (1,))]


def test_the_publisher_looks_at_the_mark_no_more_often_than_its_spacing(
    monkeypatch, sent, django_capture_on_commit_callbacks
):
    pauses = []
    monkeypatch.setattr(reliability_services, "DRAIN_LOOK_SPACING_SECONDS", 60.0)
    monkeypatch.setattr(reliability_services, "_last_drain_look", {})
    monkeypatch.setattr(reliability_services, "_pause", pauses.append)

    queue_committed(process_webhook_delivery, 1, capture=django_capture_on_commit_callbacks)
    queue_committed(process_webhook_delivery, 2, capture=django_capture_on_commit_callbacks)
    drain_started(process_webhook_delivery)
    queue_committed(process_webhook_delivery, 3, capture=django_capture_on_commit_callbacks)

    # The first look is at once; each later one waits out the spacing, then still looks
    # after its commit: 2 finds the mark of 1's message, 3 finds it cleared and is sent.
    assert len(pauses) == 2
    assert all(55 < pause <= 60 for pause in pauses)
    assert sent == [(process_webhook_delivery.name, (1,)), (process_webhook_delivery.name, (3,))]
