"""`__any`: membership in a list sent as one array, matching what `__in` matches."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Conversation, Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_any_matches_what_in_matches_on_ids_foreign_keys_and_text():
    posts = PostFactory.create_batch(4)
    wanted = posts[:3]
    ids = [post.pk for post in wanted]
    external_ids = {post.external_id for post in wanted}
    conversation_ids = [post.conversation_id for post in wanted]

    assert sorted(Post.objects.filter(pk__any=ids).values_list("pk", flat=True)) == ids
    assert (
        set(
            Post.objects.filter(external_id__any=external_ids).values_list("external_id", flat=True)
        )
        == external_ids
    )
    assert sorted(
        Conversation.objects.filter(pk__any=conversation_ids).values_list("pk", flat=True)
    ) == sorted(set(conversation_ids))
    assert sorted(
        Post.objects.filter(conversation_id__any=conversation_ids).values_list("pk", flat=True)
    ) == sorted(
        Post.objects.filter(conversation_id__in=conversation_ids).values_list("pk", flat=True)
    )


def test_an_empty_list_or_only_none_matches_nothing():
    PostFactory()

    assert not Post.objects.filter(pk__any=[]).exists()
    assert not Post.objects.filter(pk__any=[None]).exists()


@pytest.mark.postgres
def test_on_postgresql_the_list_is_one_parameter():
    posts = PostFactory.create_batch(60)

    with CaptureQueriesContext(connection) as queries:
        found = list(Post.objects.filter(pk__any=[post.pk for post in posts]))

    assert len(found) == 60
    assert "= ANY(" in queries.captured_queries[0]["sql"]
