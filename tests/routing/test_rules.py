import pytest

from core.models import ConversationStatus, Intent, Priority
from ingestion.connectors import InboundAuthor
from ingestion.services import ingest_item
from routing.models import RoutingRule
from tests.factories import InboundItemFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest(demo_account, default_team, django_capture_on_commit_callbacks):
    """Ingest one post through the whole pipeline and return its conversation."""

    def run(text: str, *, author: InboundAuthor | None = None):
        item = InboundItemFactory(text=text, **({"author": author} if author else {}))
        with django_capture_on_commit_callbacks(execute=True):
            post = ingest_item(account=demo_account, item=item).post
        post.conversation.refresh_from_db()
        return post.conversation

    return run


def test_unmatched_conversation_goes_to_the_default_queue(ingest, default_team):
    RoutingRule.objects.create(name="Billing", keywords="invoice, charged", team=TeamFactory())

    conversation = ingest("@brand what time do you open?")

    assert conversation.team == default_team
    assert conversation.routed_by is None


def test_first_matching_rule_by_position_wins(ingest):
    billing, outages = TeamFactory(name="Billing"), TeamFactory(name="Outages")
    RoutingRule.objects.create(name="Billing", position=20, keywords="charged", team=billing)
    first = RoutingRule.objects.create(name="Outages", position=10, reason="outage", team=outages)

    conversation = ingest("@brand app is down and I was charged twice #outage")

    assert conversation.team == outages
    assert conversation.routed_by == first


def test_influencer_goes_to_the_specialist_team(ingest):
    specialists = TeamFactory(name="Specialists")
    RoutingRule.objects.create(name="VIP", influencers_only=True, team=specialists)
    star = InboundAuthor("u-star", "gadgetguru", "Gadget Guru", follower_count=250_000)

    assert ingest("@brand nice update", author=star).team == specialists
    assert ingest("@brand nice update").team != specialists


def test_rule_actions_set_priority_and_tags(ingest):
    RoutingRule.objects.create(
        name="Legal",
        keywords="court, lawyer",
        set_priority=Priority.URGENT,
        add_tags="legal, escalate",
        team=TeamFactory(),
    )

    conversation = ingest("@brand see you in court")

    assert conversation.priority == Priority.URGENT
    assert sorted(conversation.tags.values_list("name", flat=True)) == ["escalate", "legal"]


def test_no_reply_needed_closes_spam_without_an_sla_clock(ingest):
    RoutingRule.objects.create(name="Spam", intent=Intent.SPAM, no_reply_needed=True)

    conversation = ingest("WIN a FREE iPhone!!! click here")

    assert conversation.needs_reply is False
    assert conversation.status == ConversationStatus.RESOLVED
    assert conversation.first_response_due_at is None


def test_inactive_rules_are_skipped(ingest, default_team):
    RoutingRule.objects.create(name="Off", is_active=False, keywords="order", team=TeamFactory())

    assert ingest("@brand where is my order").team == default_team


def test_a_routed_conversation_stays_in_its_queue(ingest, default_team):
    RoutingRule.objects.create(name="Outages", reason="outage", team=TeamFactory())
    first = ingest("@brand where is my order")

    later = ingest("@brand and now the site is down #outage")

    assert later.pk == first.pk
    assert later.team == default_team
