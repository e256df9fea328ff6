"""A delivery's posts are processed together: what agents see is what they would see had the
posts come one by one."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from core.models import AssignmentStrategy, Conversation, Post
from ingestion.connectors import InboundAuthor
from ingestion.pipeline import process_inbound_posts
from ingestion.services import ingest_items
from parley.asgi import application
from sla.models import SlaTimer, TimerKind
from tests.factories import AgentFactory, InboundItemFactory

pytestmark = pytest.mark.django_db


def author(number: int) -> InboundAuthor:
    return InboundAuthor(external_id=f"cust-{number}", handle=f"customer{number}")


def store(account, items) -> list[int]:
    """Store a delivery's posts as the ingest task does: processed in the same transaction."""
    return [result.post.pk for result in ingest_items(account=account, items=items)]


def test_two_posts_of_a_new_conversation_start_its_clocks_once(demo_account, default_team):
    post_ids = store(
        demo_account,
        [
            InboundItemFactory(author=author(1), text="@brand where is my parcel?"),
            InboundItemFactory(
                author=author(1), text="@brand your app is down again, can't log in #outage"
            ),
        ],
    )

    conversation = Conversation.objects.get()
    assert conversation.team == default_team
    assert conversation.priority >= 3  # the outage post raised it; the first did not lower it
    kinds = sorted(
        SlaTimer.objects.filter(conversation=conversation).values_list("kind", flat=True)
    )
    assert kinds == sorted([TimerKind.FIRST_RESPONSE, TimerKind.RESOLUTION])
    assert conversation.first_response_due_at is not None
    assert conversation.last_inbound_at == max(
        Post.objects.filter(pk__in=post_ids).values_list("created_at", flat=True)
    )
    # Processing the same posts again (a retried task) changes nothing.
    assert process_inbound_posts(post_ids=post_ids) == 0
    assert SlaTimer.objects.count() == 2


def test_when_processing_fails_the_posts_are_stored_and_processed_apart(
    demo_account, default_team, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broken_rule(posts):
        raise RuntimeError("a routing rule that crashes")

    monkeypatch.setattr("ingestion.store.process_stored_posts", broken_rule)
    items = [InboundItemFactory(author=author(n)) for n in range(3)]

    with django_capture_on_commit_callbacks() as queued:
        results = ingest_items(account=demo_account, items=items)

    assert [result.created for result in results] == [True, True, True]
    assert set(Post.objects.values_list("intent", flat=True)) == {""}
    assert "Processing 3 new posts" in caplog.text
    for callback in queued:  # the processing task, run eagerly here
        callback()
    assert "" not in set(Post.objects.values_list("intent", flat=True))
    assert set(Conversation.objects.values_list("team", flat=True)) == {default_team.pk}


def test_round_robin_keeps_turning_within_a_batch(demo_account, default_team):
    default_team.assignment_strategy = AssignmentStrategy.ROUND_ROBIN
    default_team.save()
    ana, ben = AgentFactory(teams=[default_team]), AgentFactory(teams=[default_team])
    post_ids = store(demo_account, [InboundItemFactory(author=author(n)) for n in range(4)])

    process_inbound_posts(post_ids=post_ids)

    assignees = list(Conversation.objects.order_by("pk").values_list("assignee", flat=True))
    assert assignees == [ana.pk, ben.pk, ana.pk, ben.pk]


def test_agents_are_not_filled_beyond_capacity_by_one_batch(demo_account, default_team):
    default_team.assignment_strategy = AssignmentStrategy.LEAST_LOADED
    default_team.save()
    ana = AgentFactory(teams=[default_team])
    ana.agent_profile.capacity = 2
    ana.agent_profile.save()
    post_ids = store(demo_account, [InboundItemFactory(author=author(n)) for n in range(3)])

    process_inbound_posts(post_ids=post_ids)

    assert Conversation.objects.filter(assignee=ana).count() == 2
    assert Conversation.objects.filter(assignee=None).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_inbox_gets_a_card_per_conversation_of_the_batch(demo_account, agent):
    socket = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    socket.scope["user"] = agent
    assert (await socket.connect())[0]
    items = [InboundItemFactory(author=author(n), text=f"@brand question {n}?") for n in range(3)]

    # With eager tasks, storing queues the batch's processing, which runs at commit.
    results = await database_sync_to_async(ingest_items)(account=demo_account, items=items)

    frames = [await socket.receive_json_from(timeout=5) for _ in items]
    assert {frame["conversation"]["id"] for frame in frames} == {
        result.post.conversation_id for result in results
    }
    assert sorted(frame["conversation"]["excerpt"] for frame in frames) == [
        f"@brand question {n}?" for n in range(3)
    ]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


def test_when_classifying_fails_the_posts_are_still_stored(
    demo_account, default_team, monkeypatch, django_capture_on_commit_callbacks
):
    def broken_model(posts):
        raise ValueError("a model file that cannot be read")

    monkeypatch.setattr("ingestion.store.triage_arriving", broken_model)
    items = [InboundItemFactory(author=author(n)) for n in range(2)]

    with django_capture_on_commit_callbacks() as queued:
        results = ingest_items(account=demo_account, items=items)

    assert [result.created for result in results] == [True, True]
    assert set(Post.objects.values_list("intent", flat=True)) == {""}
    for callback in queued:
        callback()
    assert "" not in set(Post.objects.values_list("intent", flat=True))
