"""The sweep and the exact sweeps at thresholds: at risk and breached, alerted once per
threshold crossing."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from core.models import Priority
from core.realtime import team_group
from sla import tasks
from sla.consumers import alert_groups_for
from sla.models import SlaTimer, TimerKind, TimerState
from sla.services import (
    ClockBatch,
    alert_team_group,
    alert_user_group,
    conversation_status_changed,
    escalate_timer,
    recompute_timers,
    start_response_clocks,
    sweep_timers,
)
from tests.factories import AgentFactory, PostFactory, TeamFactory
from tests.sla.factories import SlaPolicyFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def grant_supervisor(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="receive_team_alerts"))


@pytest.fixture
def conversation(default_team, agent, django_capture_on_commit_callbacks):
    """A conversation assigned to `agent`, first post received 13 minutes ago (15-minute
    first-response target, at risk at 80 %: 12 minutes)."""
    post = PostFactory(conversation__team=default_team, conversation__assignee=agent)
    conversation = post.conversation
    start_response_clocks(conversation=conversation, post=post)
    conversation.save()
    age(conversation, 13 * MINUTE)
    return conversation


def age(conversation, by: timedelta) -> None:
    """Move the conversation's clocks back in time, as if it were `by` old."""
    SlaTimer.objects.filter(conversation=conversation).update(started_at=timezone.now() - by)
    recompute_timers(conversation_id=conversation.pk, at=timezone.now())


def first_response(conversation) -> SlaTimer:
    return SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE)


FIRST_RECEIVE_SECONDS = 2


class Listener:
    """A channel subscribed to groups, as a connected socket would be."""

    def __init__(self, *groups: str) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

    def messages(self) -> list[dict]:
        """What the groups were sent since the last call."""

        async def drain() -> list[dict]:
            received = []
            # The messages were sent before this is called: the first receive waits longer
            # only for the layer itself (a fresh Redis connection on a loaded machine may
            # pass 50 ms; a fresh-clone run once read no alert); the rest are queued behind.
            wait = FIRST_RECEIVE_SECONDS
            while True:
                try:
                    received.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
                except TimeoutError:
                    return received
                wait = 0.05

        return async_to_sync(drain)()

    def alerts(self) -> list[dict]:
        return [message["alert"] for message in self.messages()]

    def changed_conversations(self) -> set[int]:
        """The conversations the inbox groups were told changed."""
        return {
            card["id"] for message in self.messages() for card in message.get("conversations", [])
        }


def test_crossing_at_risk_then_breach_alerts_once_each(
    conversation, agent, default_team, django_capture_on_commit_callbacks
):
    listener = Listener(alert_team_group(default_team.pk))

    with django_capture_on_commit_callbacks(execute=True):
        first_sweep = sweep_timers(now=timezone.now())
        sweep_timers(now=timezone.now())
    age(conversation, 16 * MINUTE)
    with django_capture_on_commit_callbacks(execute=True):
        second_sweep = sweep_timers(now=timezone.now())
        sweep_timers(now=timezone.now())

    alerts = listener.alerts()
    assert [alert["event"] for alert in alerts] == ["sla.at_risk", "sla.breached"]
    assert {alert["timer"] for alert in alerts} == {TimerKind.FIRST_RESPONSE}
    assert (first_sweep.at_risk, second_sweep.breached) == (1, 1)
    assert first_response(conversation).state == TimerState.BREACHED


def test_the_assignee_hears_the_alert_on_their_own_group(
    conversation, agent, django_capture_on_commit_callbacks
):
    listener = Listener(alert_user_group(agent.pk))

    with django_capture_on_commit_callbacks(execute=True):
        sweep_timers(now=timezone.now())

    [alert] = listener.alerts()
    assert alert["conversation_id"] == conversation.pk
    assert alert["assignee_id"] == agent.pk


def test_a_late_sweep_straight_past_the_due_instant_sends_only_the_breach_alert(
    conversation, default_team, django_capture_on_commit_callbacks
):
    listener = Listener(alert_team_group(default_team.pk))
    age(conversation, 20 * MINUTE)

    with django_capture_on_commit_callbacks(execute=True):
        sweep_timers(now=timezone.now())

    assert [alert["event"] for alert in listener.alerts()] == ["sla.breached"]


def test_a_timer_not_yet_at_risk_is_left_alone(conversation):
    age(conversation, 5 * MINUTE)

    result = sweep_timers(now=timezone.now())

    assert (result.at_risk, result.breached) == (0, 0)
    assert first_response(conversation).state == TimerState.OK


def test_a_paused_resolution_clock_is_not_escalated(conversation):
    conversation.status = "pending"
    conversation.save()
    conversation_status_changed(conversation=conversation, at=timezone.now())
    age(conversation, 3 * 60 * MINUTE)
    resolution = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.RESOLUTION)

    crossed = escalate_timer(timer_id=resolution.pk, now=timezone.now())

    assert crossed is None


def test_a_policy_can_raise_priority_and_move_the_conversation_on_breach(
    default_team, agent, django_capture_on_commit_callbacks
):
    escalations = TeamFactory(name="Escalations")
    SlaPolicyFactory(raise_priority_on_breach=True, reassign_team_on_breach=escalations)
    post = PostFactory(conversation__team=default_team, conversation__assignee=agent)
    start_response_clocks(conversation=post.conversation, post=post)
    age(post.conversation, 20 * MINUTE)
    old_team_inboxes = Listener(team_group(default_team.pk))

    with django_capture_on_commit_callbacks(execute=True):
        sweep_timers(now=timezone.now())

    post.conversation.refresh_from_db()
    assert post.conversation.priority == Priority.HIGH
    assert post.conversation.team == escalations
    assert post.conversation.assignee is None
    # The team it left hears of it, so its inboxes drop the row.
    assert post.conversation.pk in old_team_inboxes.changed_conversations()


def test_a_new_next_response_cycle_alerts_again(
    conversation, default_team, django_capture_on_commit_callbacks
):
    listener = Listener(alert_team_group(default_team.pk))
    conversation.first_response_at = timezone.now()
    conversation.save()
    later = PostFactory(conversation=conversation)
    for _ in range(2):
        start_response_clocks(conversation=conversation, post=later)
        age(conversation, 20 * MINUTE)
        with django_capture_on_commit_callbacks(execute=True):
            sweep_timers(now=timezone.now())
        SlaTimer.objects.filter(kind=TimerKind.NEXT_RESPONSE).update(stopped_at=timezone.now())

    next_response_alerts = [
        alert for alert in listener.alerts() if alert["timer"] == TimerKind.NEXT_RESPONSE
    ]
    assert [alert["alert_id"].split(":")[1] for alert in next_response_alerts] == ["1", "2"]


@pytest.fixture
def scheduled_sweeps(settings, monkeypatch):
    """The instants sweeps are queued for, as a worker would get them (the tasks are not run)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.clear()
    scheduled = []
    monkeypatch.setattr(tasks.sweep_sla_timers, "apply_async", lambda eta: scheduled.append(eta))
    return scheduled


def whole_second_after(instant):
    return instant.replace(microsecond=0) + timedelta(seconds=1 if instant.microsecond else 0)


def test_with_a_worker_each_threshold_gets_an_exact_sweep(
    default_team, scheduled_sweeps, django_capture_on_commit_callbacks
):
    post = PostFactory(conversation__team=default_team)

    with django_capture_on_commit_callbacks(execute=True):
        start_response_clocks(conversation=post.conversation, post=post)

    first = first_response(post.conversation)
    assert whole_second_after(first.at_risk_at) in scheduled_sweeps
    assert whole_second_after(first.due_at) in scheduled_sweeps


def test_thresholds_in_the_same_second_share_one_sweep(
    default_team, settings, scheduled_sweeps, django_capture_on_commit_callbacks
):
    posts = PostFactory.create_batch(5, conversation__team=default_team)
    clocks = ClockBatch()

    with django_capture_on_commit_callbacks(execute=True):
        for post in posts:
            start_response_clocks(conversation=post.conversation, post=post, batch=clocks)
        clocks.flush()
    # Another worker's batch in the same seconds adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        start_response_clocks(conversation=posts[0].conversation, post=posts[0])

    horizon = timezone.now() + timedelta(seconds=settings.SLA_EXACT_CHECK_HORIZON_SECONDS)
    thresholds = {
        whole_second_after(instant)
        for timer in SlaTimer.objects.all()
        for instant in (timer.at_risk_at, timer.due_at)
        if instant <= horizon
    }
    assert sorted(scheduled_sweeps) == sorted(thresholds)
    assert len(scheduled_sweeps) < 2 * len(posts)


def test_thresholds_beyond_the_horizon_are_left_to_the_sweep(
    default_team, settings, scheduled_sweeps, django_capture_on_commit_callbacks
):
    settings.SLA_EXACT_CHECK_HORIZON_SECONDS = 30 * 60
    post = PostFactory(conversation__team=default_team)

    with django_capture_on_commit_callbacks(execute=True):
        start_response_clocks(conversation=post.conversation, post=post)

    resolution = SlaTimer.objects.get(conversation=post.conversation, kind=TimerKind.RESOLUTION)
    # 60-minute target: at risk at 48 minutes and due at 60, both past the 30-minute horizon.
    assert whole_second_after(resolution.at_risk_at) not in scheduled_sweeps
    assert whole_second_after(resolution.due_at) not in scheduled_sweeps
    assert max(scheduled_sweeps) <= timezone.now() + timedelta(minutes=30)


def test_a_sweep_at_a_threshold_escalates_once(conversation):
    results = [tasks.sweep_sla_timers.apply().get() for _ in range(3)]

    nothing = {"at_risk": 0, "breached": 0}
    assert results == [{"at_risk": 1, "breached": 0}, nothing, nothing]


def test_a_supervisor_listens_to_their_teams_and_an_agent_only_to_their_own(default_team):
    supervisor = AgentFactory(teams=[default_team])
    grant_supervisor(supervisor)
    agent = AgentFactory(teams=[default_team])

    assert alert_groups_for(supervisor) == [
        alert_user_group(supervisor.pk),
        alert_team_group(default_team.pk),
    ]
    assert alert_groups_for(agent) == [alert_user_group(agent.pk)]


def test_a_batch_inserts_new_timers_and_updates_only_restarted_ones(
    conversation, django_assert_num_queries
):
    conversation.first_response_at = timezone.now()
    conversation.save()
    later = PostFactory(conversation=conversation)
    fresh = PostFactory(conversation__team=conversation.team)
    clocks = ClockBatch()
    start_response_clocks(conversation=conversation, post=later, batch=clocks)
    start_response_clocks(conversation=fresh.conversation, post=fresh, batch=clocks)

    # The new next-response, first-response and resolution timers in one insert.
    with django_assert_num_queries(1):
        clocks.flush()

    kinds = SlaTimer.objects.filter(conversation=fresh.conversation).values_list("kind", flat=True)
    assert sorted(kinds) == sorted([TimerKind.FIRST_RESPONSE, TimerKind.RESOLUTION])
    assert SlaTimer.objects.filter(conversation=conversation, kind=TimerKind.NEXT_RESPONSE).exists()
