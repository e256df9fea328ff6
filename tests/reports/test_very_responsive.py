"""The "very responsive" tracker: answered within 15 minutes over 7 days, against 90 %."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from reports.selectors import very_responsive
from tests.factories import ConversationFactory, PlatformAccountFactory
from tests.reports.dataset import inbound, outbound


def post_answered_after(account, *, minutes_ago, answer_minutes=None, text="help"):
    now = timezone.now()
    conversation = ConversationFactory(account=account)
    post = inbound(conversation, now - timedelta(minutes=minutes_ago), text=text)
    if answer_minutes is not None:
        outbound(conversation, post.created_at + timedelta(minutes=answer_minutes))
    return post


def test_share_answered_within_15_minutes_with_the_posts_that_missed(db):
    fast = PlatformAccountFactory(handle="fast")
    slow = PlatformAccountFactory(handle="slow")
    for hours in range(1, 10):  # nine answered in 5 minutes over the week
        post_answered_after(fast, minutes_ago=hours * 600, answer_minutes=5)
    late = post_answered_after(fast, minutes_ago=300, answer_minutes=20, text="late one")
    post_answered_after(slow, minutes_ago=100, answer_minutes=14)
    never = post_answered_after(slow, minutes_ago=100, text="never answered")
    post_answered_after(slow, minutes_ago=8 * 24 * 60, text="older than a week")
    post_answered_after(slow, minutes_ago=5, text="too fresh to judge")

    rows = {row["account"]: row for row in very_responsive()}

    assert (rows["@fast"]["posts"], rows["@fast"]["answered_in_time"]) == (10, 9)
    assert rows["@fast"]["share"] == 0.9 and rows["@fast"]["meets_bar"] is True
    assert [p["post_id"] for p in rows["@fast"]["missed"]] == [late.pk]
    assert (rows["@slow"]["posts"], rows["@slow"]["share"]) == (2, 0.5)
    assert rows["@slow"]["meets_bar"] is False
    assert [p["text"] for p in rows["@slow"]["missed"]] == [never.text]


def test_the_page_shows_each_account_against_the_bar(client, supervisor):
    account = PlatformAccountFactory(handle="brand")
    post_answered_after(account, minutes_ago=60, text="where is my refund")
    client.force_login(supervisor)

    html = client.get(reverse("dashboards:responsiveness")).content.decode()

    assert "0 of 1 answered in time" in html
    assert "below the 90 % bar" in html
    assert "where is my refund" in html
