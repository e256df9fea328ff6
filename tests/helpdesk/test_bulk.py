"""update_rows: many rows' fields in one statement, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.bulk import update_rows
from core.models import Conversation, Post
from tests.factories import ConversationFactory, PostFactory, TeamFactory

pytestmark = pytest.mark.django_db


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
