"""Timers on conversations: started by inbound posts, stopped by replies, paused while the
customer owes an answer, moved when a policy changes."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.models import ConversationStatus, Direction, Post
from helpdesk import services
from helpdesk.services import send_reply
from ingestion.connectors import InboundAuthor
from ingestion.services import ingest_item
from sla.models import ScheduleKind, SlaTimer, TimerKind, TimerState
from sla.services import recompute_timers
from tests.factories import InboundItemFactory
from tests.sla.factories import ServiceWindowFactory, SlaPolicyFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def office_hours(demo_account):
    """The demo platform answers 08:00-20:00 London time."""
    return ServiceWindowFactory(kind=ScheduleKind.DAILY, opens_at=time(8), closes_at=time(20))


@pytest.fixture
def receive(demo_account, default_team, django_capture_on_commit_callbacks):
    """Deliver a customer post at the given instant and run its processing."""

    # A plain question: the triage model reads "where is my order?" as a complaint, which
    # the 24-hour complaints policy would time instead of the 60-minute default.
    def deliver(at: datetime, text: str = "@brand do you ship to Canada?", **author) -> Post:
        author = InboundAuthor(external_id="cust-1", handle="maria", **author)
        item = InboundItemFactory(text=text, created_at=at, author=author)
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            post = ingest_item(account=demo_account, item=item).post
        post.refresh_from_db()
        return post

    return deliver


def reply(conversation, agent, at: datetime) -> Post:
    with time_machine.travel(at, tick=False):
        return send_reply(conversation_id=conversation.pk, agent=agent, text="On it!")


def timer(conversation, kind: str) -> SlaTimer:
    return SlaTimer.objects.get(conversation=conversation, kind=kind)


def change_status(conversation, status: str, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        services.change_status(conversation_id=conversation.pk, status=status)


def test_a_post_at_1955_with_a_15_minute_target_is_due_at_0810_next_day(office_hours, receive):
    post = receive(london(2026, 6, 10, 19, 55))

    first = timer(post.conversation, TimerKind.FIRST_RESPONSE)
    post.conversation.refresh_from_db()
    assert first.due_at == london(2026, 6, 11, 8, 10)
    assert first.target_seconds == 15 * 60
    assert post.conversation.first_response_due_at == london(2026, 6, 11, 8, 10)


def test_replying_marks_the_first_response_met_with_the_business_time_taken(
    office_hours, receive, agent
):
    post = receive(london(2026, 6, 10, 19, 55))

    reply(post.conversation, agent, london(2026, 6, 11, 8, 5))

    first = timer(post.conversation, TimerKind.FIRST_RESPONSE)
    assert first.state == TimerState.MET
    # 19:55-20:00 on the evening plus 08:00-08:05 the next morning.
    assert first.business_seconds == 10 * 60
    assert first.due_at is None


def test_replying_after_the_due_instant_marks_the_first_response_breached(
    office_hours, receive, agent
):
    post = receive(london(2026, 6, 10, 19, 55))

    reply(post.conversation, agent, london(2026, 6, 11, 8, 30))

    first = timer(post.conversation, TimerKind.FIRST_RESPONSE)
    assert first.state == TimerState.BREACHED
    assert first.business_seconds == 35 * 60


def test_only_the_first_reply_counts_as_the_first_response(receive, agent):
    post = receive(london(2026, 6, 10, 10))
    reply(post.conversation, agent, london(2026, 6, 10, 10, 5))

    reply(post.conversation, agent, london(2026, 6, 10, 10, 20))

    assert timer(post.conversation, TimerKind.FIRST_RESPONSE).business_seconds == 5 * 60


def test_pending_customer_pauses_the_resolution_clock_and_resumes_it_exactly(receive):
    post = receive(london(2026, 6, 10, 10))
    conversation = post.conversation

    change_status(conversation, ConversationStatus.PENDING, london(2026, 6, 10, 10, 10))
    paused = timer(conversation, TimerKind.RESOLUTION)
    change_status(conversation, ConversationStatus.OPEN, london(2026, 6, 10, 13))
    resumed = timer(conversation, TimerKind.RESOLUTION)
    change_status(conversation, ConversationStatus.RESOLVED, london(2026, 6, 10, 13, 20))
    resolved = timer(conversation, TimerKind.RESOLUTION)

    assert paused.due_at is None
    # 60-minute target, 10 used before the pause: 50 left from 13:00.
    assert resumed.due_at == london(2026, 6, 10, 13, 50)
    assert resolved.state == TimerState.MET
    assert resolved.business_seconds == 30 * 60


def test_a_later_customer_message_starts_the_next_response_clock(receive, agent):
    post = receive(london(2026, 6, 10, 10))
    reply(post.conversation, agent, london(2026, 6, 10, 10, 5))

    receive(london(2026, 6, 10, 11))
    running = timer(post.conversation, TimerKind.NEXT_RESPONSE)
    reply(post.conversation, agent, london(2026, 6, 10, 11, 7))
    answered = timer(post.conversation, TimerKind.NEXT_RESPONSE)

    assert running.due_at == london(2026, 6, 10, 11, 15)
    assert answered.state == TimerState.MET
    assert answered.business_seconds == 7 * 60


def test_a_second_message_before_the_answer_does_not_restart_the_next_response_clock(
    receive, agent
):
    post = receive(london(2026, 6, 10, 10))
    reply(post.conversation, agent, london(2026, 6, 10, 10, 5))
    receive(london(2026, 6, 10, 11))

    receive(london(2026, 6, 10, 11, 10))

    next_response = timer(post.conversation, TimerKind.NEXT_RESPONSE)
    assert next_response.due_at == london(2026, 6, 10, 11, 15)
    assert next_response.cycle == 1


def test_complaints_get_the_seeded_24_hour_resolution_target(receive):
    post = receive(london(2026, 6, 10, 10), text="@brand your app is down again #outage")

    resolution = timer(post.conversation, TimerKind.RESOLUTION)

    assert resolution.target_seconds == 24 * 60 * 60
    assert resolution.policy.name == "Complaints: resolved within 24 hours"


def test_a_customer_tier_policy_applies_to_influential_customers_only(receive):
    SlaPolicyFactory(name="Influencers", min_followers=10_000, first_response_minutes=5)

    influencer_post = receive(london(2026, 6, 10, 10), follower_count=50_000)

    first = timer(influencer_post.conversation, TimerKind.FIRST_RESPONSE)
    assert first.policy.name == "Influencers"
    assert first.due_at == london(2026, 6, 10, 10, 5)


def test_editing_the_policy_moves_a_running_timer(receive):
    post = receive(london(2026, 6, 10, 10))
    policy = timer(post.conversation, TimerKind.FIRST_RESPONSE).policy

    policy.first_response_minutes = 30
    policy.save()
    recompute_timers(conversation_id=post.conversation_id, at=london(2026, 6, 10, 10, 20))

    first = timer(post.conversation, TimerKind.FIRST_RESPONSE)
    post.conversation.refresh_from_db()
    assert first.due_at == london(2026, 6, 10, 10, 30)
    assert post.conversation.first_response_due_at == london(2026, 6, 10, 10, 30)


def test_a_post_out_of_hours_gets_the_auto_reply_with_when_the_team_is_back(office_hours, receive):
    office_hours.out_of_hours_reply = "Hi {{ customer.handle }}, we're back {{ back_at }}."
    office_hours.save()

    post = receive(london(2026, 6, 10, 22))

    auto_reply = Post.objects.get(conversation=post.conversation, direction=Direction.OUTBOUND)
    assert auto_reply.text == "Hi @maria, we're back Thursday 08:00 BST."
    assert auto_reply.in_reply_to == post.external_id
    post.conversation.refresh_from_db()
    assert post.conversation.first_response_at is None


def test_a_post_in_hours_gets_no_auto_reply(office_hours, receive):
    office_hours.out_of_hours_reply = "Hi {{ customer.handle }}, we're back {{ back_at }}."
    office_hours.save()

    post = receive(london(2026, 6, 10, 12))

    assert not Post.objects.filter(
        conversation=post.conversation, direction=Direction.OUTBOUND
    ).exists()


def test_an_accounts_own_window_wins_over_its_platforms(office_hours, receive, demo_account):
    ServiceWindowFactory(
        account=demo_account,
        platform="",
        kind=ScheduleKind.DAILY,
        opens_at=time(9),
        closes_at=time(17),
    )

    post = receive(london(2026, 6, 10, 16, 55))

    first = timer(post.conversation, TimerKind.FIRST_RESPONSE)
    assert first.due_at == london(2026, 6, 11, 9, 10)
    assert first.due_at - first.started_at > 15 * MINUTE


def test_reopening_a_resolved_conversation_starts_a_new_resolution_cycle(receive):
    post = receive(london(2026, 6, 10, 10))
    change_status(post.conversation, ConversationStatus.RESOLVED, london(2026, 6, 10, 10, 30))

    change_status(post.conversation, ConversationStatus.OPEN, london(2026, 6, 10, 14))

    resolution = timer(post.conversation, TimerKind.RESOLUTION)
    assert resolution.cycle == 2
    assert resolution.state == TimerState.OK
    assert resolution.due_at == london(2026, 6, 10, 15)


def test_a_window_left_without_hours_counts_around_the_clock_instead_of_failing(receive):
    ServiceWindowFactory(kind=ScheduleKind.WEEKLY)

    post = receive(london(2026, 6, 10, 10))

    assert timer(post.conversation, TimerKind.FIRST_RESPONSE).due_at == london(2026, 6, 10, 10, 15)
