"""core.bulk: many rows inserted (insert_rows) or their fields written (update_rows) in one
statement, on SQLite and PostgreSQL alike, with what Django itself would have stored."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Value
from django.test.utils import CaptureQueriesContext

from core.bulk import _db_values, dumps_json, insert_rows, update_rows
from core.models import Conversation, Customer, Direction, Post, Priority
from ingestion.models import PlatformAccount
from sla.models import SlaTimer, TimerKind
from tests.factories import (
    ConversationFactory,
    PlatformAccountFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

# A payload as a platform sends it: nesting, non-ASCII text and an emoji, an id beyond 64
# bits, an escaped quote and backslash, JSON null.
PAYLOAD = {
    "id_str": "1877000000000000001",
    "text": 'Où est ma commande ? 😡 "vite" \\ merci',
    "entities": {"hashtags": [], "user_mentions": [{"screen_name": "brand", "indices": [0, 6]}]},
    "big_id": 2**70,
    "in_reply_to": None,
    "favorited": False,
    "score": 0.25,
}


def _inbound(conversation: Conversation, number: int, **fields) -> Post:
    return Post(
        conversation=conversation,
        account=conversation.account,
        direction=Direction.INBOUND,
        platform=conversation.account.platform,
        external_id=f"insert-{number}",
        customer=conversation.customer,
        text=f"@brand my order {number} never came",
        created_at=datetime(2026, 12, 3, 9, number, tzinfo=UTC),
        raw=PAYLOAD,
        **fields,
    )


def _stored(post: Post) -> dict:
    # What a reader of the row sees, but what differs by design between two inserts.
    row = Post.objects.filter(pk=post.pk).values().get()
    return {
        key: value
        for key, value in row.items()
        if key not in {"id", "external_id", "text", "idempotency_key", "received_at", "created_at"}
    }


def test_inserted_rows_hold_what_bulk_create_stores_and_get_their_ids_in_order():
    conversation = ConversationFactory()
    extra = {"intent": "complaint", "priority": Priority.HIGH, "triage_confidence": 0.8125}
    extra["triage_reasons"] = ["said “never came”", {"rule": "outage"}]
    by_bulk_create = Post.objects.bulk_create([_inbound(conversation, 0, **extra)])

    with CaptureQueriesContext(connection) as queries:
        inserted = insert_rows(_inbound(conversation, number, **extra) for number in (1, 2, 3))

    assert len(queries.captured_queries) == 1
    assert [post.external_id for post in inserted] == ["insert-1", "insert-2", "insert-3"]
    assert all(post.pk and not post._state.adding for post in inserted)
    assert [Post.objects.get(pk=post.pk).external_id for post in inserted] == [
        "insert-1",
        "insert-2",
        "insert-3",
    ]
    for post in inserted:
        assert _stored(post) == _stored(by_bulk_create[0])
    stored = Post.objects.get(pk=inserted[0].pk)
    assert stored.text == "@brand my order 1 never came"
    assert stored.raw == PAYLOAD
    assert stored.created_at == datetime(2026, 12, 3, 9, 1, tzinfo=UTC)
    assert stored.triage_reasons == ["said “never came”", {"rule": "outage"}]
    assert stored.agent_id is None and stored.liked_at is None
    assert Post.objects.get(pk=inserted[1].pk).idempotency_key != stored.idempotency_key


def test_nothing_to_insert_is_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows([]) == []
    assert not queries.captured_queries


def test_sla_timers_with_their_nulls_and_json_are_inserted():
    conversation = ConversationFactory()
    started = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    (timer,) = insert_rows(
        [
            SlaTimer(
                conversation=conversation,
                kind=TimerKind.FIRST_RESPONSE,
                target_seconds=900,
                started_at=started,
                due_at=started + timedelta(minutes=15),
                pauses=[["2026-12-03T08:05:00+00:00", None]],
            )
        ]
    )
    stored = SlaTimer.objects.get(pk=timer.pk)
    assert stored.due_at == started + timedelta(minutes=15)
    assert stored.stopped_at is None and stored.paused_since is None
    assert stored.pauses == [["2026-12-03T08:05:00+00:00", None]]
    assert stored.updated_at is not None and stored.cycle == 1


def test_a_field_that_prepares_its_own_values_still_does():
    # The platform credentials are encrypted by their field: never stored as given.
    (account,) = insert_rows([PlatformAccount(handle="brand", credentials={"token": "s3cret"})])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM ingestion_platformaccount WHERE id = %s", [account.pk]
        )
        (stored,) = cursor.fetchone()
    assert "s3cret" not in stored
    assert PlatformAccount.objects.get(pk=account.pk).credentials == {"token": "s3cret"}


def test_what_the_database_computes_is_read_back():
    # Customer.notes has a database default; Conversation.waiting_since is a generated column.
    (customer,) = insert_rows([Customer(platform="x", external_id="1", handle="ana")])
    assert customer.notes == "" == Customer.objects.get(pk=customer.pk).notes
    (conversation,) = insert_rows(
        [Conversation(customer=customer, account=PlatformAccountFactory())]
    )
    stored = Conversation.objects.get(pk=conversation.pk)
    assert conversation.waiting_since == stored.waiting_since
    assert isinstance(stored.waiting_since, datetime)


def test_an_expression_is_computed_by_the_database():
    conversation = ConversationFactory()
    (post,) = insert_rows([_inbound(conversation, 1, priority=Value(1) + Value(2))])
    assert Post.objects.get(pk=post.pk).priority == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (Post._meta.get_field("text"), "plain text"),
        (Post._meta.get_field("direction"), Direction.INBOUND),
        (Post._meta.get_field("conversation"), 12),
        (Post._meta.get_field("priority"), 3),
        (Post._meta.get_field("is_private"), True),
        (Post._meta.get_field("triage_confidence"), 0.5),
        (Post._meta.get_field("created_at"), datetime(2026, 12, 3, tzinfo=UTC)),
        (Post._meta.get_field("triage_confidence"), 1),
        (Post._meta.get_field("priority"), True),
        (Post._meta.get_field("priority"), Decimal("2")),
        (Post._meta.get_field("text"), None),
        (SlaTimer._meta.get_field("business_seconds"), Decimal("1.5")),
    ],
)
def test_values_are_sent_as_django_would_send_them(field, value):
    expected = field.get_db_prep_save(value, connection)
    (sent,) = _db_values(field, [value], connection)
    # Django marks an integer's width for PostgreSQL (psycopg's Int2, an int): the array's
    # cast to the column's type does the same.
    assert sent == expected and type(sent) in {type(expected), *type(expected).__bases__}


def test_a_naive_datetime_is_made_aware_as_django_does():
    field = Post._meta.get_field("created_at")
    naive = datetime(2026, 12, 3, 9, 30)
    with pytest.warns(RuntimeWarning):
        expected = field.get_db_prep_save(naive, connection)
    with pytest.warns(RuntimeWarning):
        (sent,) = _db_values(field, [naive], connection)
    assert sent == expected


@pytest.mark.parametrize(
    "value",
    [PAYLOAD, {"deep": [[[{"a": None}]]]}, ["é", 1, 2.5, True], "text", 2**64, {1: "one"}],
)
def test_json_is_written_as_the_standard_library_reads_it(value):
    assert json.loads(dumps_json(value)) == json.loads(json.dumps(value))


def test_json_refuses_what_the_standard_library_refuses():
    with pytest.raises(TypeError):
        dumps_json({"when": datetime(2026, 12, 3, tzinfo=UTC)})


def test_each_row_gets_its_own_values_in_one_statement():
    team = TeamFactory()
    posts = PostFactory.create_batch(3)
    untouched = PostFactory(text="leave me")
    for number, post in enumerate(posts):
        post.intent = ["question", "complaint", "compliment"][number]
        post.priority = number + 1
        post.triage_confidence = 0.5 + number / 10
        post.triage_reasons = [f"reason {number}", {"nested": number}]
    conversation = posts[0].conversation
    conversation.team = team
    conversation.first_response_due_at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    with CaptureQueriesContext(connection) as queries:
        written = update_rows(posts, ["intent", "priority", "triage_confidence", "triage_reasons"])
    assert written == 3
    assert len(queries.captured_queries) == 1
    update_rows([conversation], ["team", "first_response_due_at"])

    stored = {post.pk: post for post in Post.objects.all()}
    assert [stored[post.pk].intent for post in posts] == ["question", "complaint", "compliment"]
    assert [stored[post.pk].priority for post in posts] == [1, 2, 3]
    assert stored[posts[2].pk].triage_confidence == pytest.approx(0.7)
    assert stored[posts[1].pk].triage_reasons == ["reason 1", {"nested": 1}]
    assert stored[untouched.pk].intent == "" and stored[untouched.pk].text == "leave me"
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert conversation.team == team
    assert conversation.first_response_due_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_nulls_are_written_and_nothing_to_write_is_no_statement():
    conversation = ConversationFactory(team=TeamFactory())
    conversation.team = None
    update_rows([conversation], ["team"])
    assert Conversation.objects.get(pk=conversation.pk).team is None
    assert update_rows([], ["team"]) == 0
