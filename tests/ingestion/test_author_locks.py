"""Which posts of a batch are stored now and which wait for their authors
(ingestion.store._split_by_author, ingestion.locks)."""

import pytest
from django.db import connection, transaction

from ingestion.connectors import InboundAuthor
from ingestion.locks import author_lock_key, lock_authors
from ingestion.store import _split_by_author
from tests.factories import InboundItemFactory


def _by(author: str, **fields):
    return InboundItemFactory(author=InboundAuthor(external_id=author, handle=author), **fields)


def test_posts_of_held_authors_are_stored_now_and_the_others_later():
    first, other, second = _by("ana"), _by("bo"), _by("ana")

    ready, later = _split_by_author([first, other, second], held={"ana"})

    assert ready == [first, second]
    assert later == [other]


def test_a_reply_to_a_post_left_for_later_waits_with_all_its_authors_posts():
    waiting = _by("bo")
    reply = _by("ana", in_reply_to=waiting.external_id)
    unrelated = _by("ana")
    answer_to_reply = _by("cy", in_reply_to=reply.external_id)
    alone = _by("dee")

    ready, later = _split_by_author(
        [waiting, unrelated, reply, answer_to_reply, alone], held={"ana", "cy", "dee"}
    )

    assert ready == [alone]
    assert later == [waiting, unrelated, reply, answer_to_reply]


def test_a_reply_to_a_post_stored_now_is_stored_with_it():
    post = _by("ana")
    reply = _by("bo", in_reply_to=post.external_id)

    assert _split_by_author([post, reply], held={"ana", "bo"}) == ([post, reply], [])


def test_authors_lock_keys_differ_by_platform_and_id():
    keys = {
        author_lock_key("twitter", "42"),
        author_lock_key("facebook", "42"),
        author_lock_key("twitter", "43"),
    }

    assert len(keys) == 3


def test_without_postgresql_every_author_counts_as_held(db):
    # SQLite writes one transaction at a time: nothing to wait for, nothing left for later.
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's locks: tests/ingestion/test_concurrent_ingest.py")
    with transaction.atomic():
        assert lock_authors(platform="twitter", external_ids=["a", "b"], wait=False) == {"a", "b"}
