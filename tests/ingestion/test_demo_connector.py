from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Post
from ingestion.connectors.demo import DemoConnector
from ingestion.services import poll_account


def test_first_poll_yields_a_small_burst():
    result = DemoConnector(brand_handle="acme", posts_per_minute=6).fetch_since({})

    assert len(result.items) == 3
    assert all("@acme" in item.text or "acme" in item.text for item in result.items)


def test_poll_yields_posts_at_the_configured_rate():
    connector = DemoConnector(brand_handle="acme", posts_per_minute=6)
    two_minutes_ago = (timezone.now() - timedelta(minutes=2)).isoformat()

    result = connector.fetch_since({"seq": 10, "last_at": two_minutes_ago, "recent": []})

    assert len(result.items) == 12
    assert result.cursor["seq"] == 22
    assert len({item.external_id for item in result.items}) == 12


def test_some_posts_follow_up_on_earlier_ones():
    connector = DemoConnector(brand_handle="acme", posts_per_minute=60)
    an_hour_ago = (timezone.now() - timedelta(minutes=3)).isoformat()

    items = connector.fetch_since({"seq": 0, "last_at": an_hour_ago}).items

    follow_ups = [item for item in items if item.in_reply_to]
    earlier = {item.external_id: item.author for item in items}
    assert follow_ups, "a few minutes of demo traffic holds follow-ups"
    assert all(earlier[f.in_reply_to] == f.author for f in follow_ups)


@pytest.mark.django_db
def test_polling_twice_moves_the_cursor_and_stores_each_post_once(demo_account, default_team):
    first = poll_account(account_id=demo_account.pk)
    demo_account.refresh_from_db()
    cursor_after_first = demo_account.poll_cursor
    second = poll_account(account_id=demo_account.pk)

    assert first == 3
    assert second == 0  # less than one post interval has passed
    assert cursor_after_first["seq"] == 3
    assert Post.objects.count() == 3
