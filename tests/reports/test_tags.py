"""Reports per tag (issue 18 item 14): conversations of the period per tag, and resolved."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Tag
from reports.selectors import ReportFilter, by_tag
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def _tagged(*names, resolved=False):
    conversation = ConversationFactory(resolved_at=timezone.now() if resolved else None)
    conversation.tags.add(*(Tag.objects.get_or_create(name=name)[0] for name in names))
    return conversation


def _this_week() -> ReportFilter:
    now = timezone.now()
    return ReportFilter(start=now - timedelta(days=7), end=now + timedelta(minutes=1))


def test_counts_conversations_per_tag_most_used_first(django_assert_num_queries):
    _tagged("refund", "vip", resolved=True)
    _tagged("refund")
    _tagged("vip")
    _tagged("refund")
    ConversationFactory()  # untagged: not counted

    with django_assert_num_queries(1):
        rows = by_tag(_this_week())

    assert rows == [
        {"tag": "refund", "conversations": 3, "resolved": 1},
        {"tag": "vip", "conversations": 2, "resolved": 1},
    ]


def test_conversations_outside_the_period_are_left_out():
    _tagged("refund")
    now = timezone.now()

    assert by_tag(ReportFilter(start=now - timedelta(days=30), end=now - timedelta(days=8))) == []


def test_the_reports_page_shows_the_tags_table(client, supervisor):
    _tagged("refund")
    client.force_login(supervisor)

    page = client.get(reverse("dashboards:reports")).content.decode()

    assert 'id="tags-table"' in page
    assert "<tr><td>refund</td><td>1</td><td>0</td></tr>" in page
