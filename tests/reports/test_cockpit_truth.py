"""The cockpit tells the truth at a glance: waiting is measured from the oldest unanswered
post of the customer's current turn, breach counts at the due second (as the inbox's
countdown shows it), a fresh install learns its usual volume instead of crying spike, and
people read times and labels, not system values."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Conversation, Sentiment
from helpdesk.filters import ConversationFilter
from reports.models import SpikeAlert
from reports.selectors import cockpit, very_responsive, with_waiting_since
from reports.services import detect_spikes
from reports.volume import volume_learning
from sla.models import SlaTimer, TimerKind, TimerState
from tests.factories import AgentFactory, ConversationFactory, PlatformAccountFactory
from tests.reports.conftest import grant
from tests.reports.dataset import inbound, outbound


@pytest.fixture
def lead(default_team):
    user = AgentFactory(username="lead", teams=[default_team])
    grant(user, "receive_team_alerts", "view_all_conversations")
    return user


def conversation_with(team, account, *, minutes_ago: list[tuple[str, float]]):
    """A conversation whose posts are ("in"|"out", minutes ago), oldest first; a brand post
    is an agent's answer (the first one is the first response)."""
    now = timezone.now()
    conversation = ConversationFactory(team=team, account=account)
    for direction, minutes in minutes_ago:
        when = now - timedelta(minutes=minutes)
        if direction == "in":
            inbound(conversation, when)
            conversation.last_inbound_at = when
        else:
            outbound(conversation, when)
            conversation.first_response_at = conversation.first_response_at or when
    conversation.save()
    return conversation


def running_timer(conversation, *, state=TimerState.OK, due_in: timedelta, at_risk_in=None):
    now = timezone.now()
    return SlaTimer.objects.create(
        conversation=conversation,
        kind=TimerKind.FIRST_RESPONSE,
        state=state,
        target_seconds=900,
        started_at=now - timedelta(minutes=15) + due_in,
        at_risk_at=now + (at_risk_in if at_risk_in is not None else due_in - timedelta(minutes=3)),
        due_at=now + due_in,
    )


def test_oldest_waiting_counts_from_the_first_unanswered_post_not_the_latest(default_team, lead):
    account = PlatformAccountFactory()
    # Never answered: waiting since the first of its three posts, 15 minutes ago.
    never = conversation_with(default_team, account, minutes_ago=[("in", 15), ("in", 4), ("in", 2)])
    # Answered, then the customer wrote twice more: waiting since the first of those.
    again = conversation_with(
        default_team,
        account,
        minutes_ago=[("in", 60), ("out", 55), ("in", 9), ("in", 1)],
    )
    # Answered after the customer's last post: not waiting.
    conversation_with(default_team, account, minutes_ago=[("in", 90), ("out", 80)])

    waiting = dict(
        with_waiting_since(Conversation.objects.all()).values_list("pk", "waiting_since")
    )
    snapshot = cockpit(lead)

    now = timezone.now()
    assert 15 * 60 - 5 <= (now - waiting[never.pk]).total_seconds() <= 15 * 60 + 5
    assert 9 * 60 - 5 <= (now - waiting[again.pk]).total_seconds() <= 9 * 60 + 5
    assert list(waiting.values()).count(None) == 1
    (queue,) = snapshot["queues"]
    assert queue["oldest_waiting_since"] == waiting[never.pk].isoformat()
    assert 15 * 60 - 5 <= queue["oldest_waiting_seconds"] <= 15 * 60 + 5
    assert snapshot["totals"]["oldest_waiting_since"] == waiting[never.pk].isoformat()


def test_a_conversation_needing_no_reply_is_not_waiting(default_team, lead):
    spam = conversation_with(default_team, PlatformAccountFactory(), minutes_ago=[("in", 30)])
    Conversation.objects.filter(pk=spam.pk).update(needs_reply=False)

    assert cockpit(lead)["queues"][0]["oldest_waiting_since"] is None


def test_breach_counts_at_the_due_second_before_any_sweep_marks_it(default_team, lead):
    account = PlatformAccountFactory()
    overdue = conversation_with(default_team, account, minutes_ago=[("in", 16)])
    # Due a second ago: the inbox's countdown says "0:01 overdue", no sweep has run yet.
    running_timer(overdue, due_in=timedelta(seconds=-1))
    soon = conversation_with(default_team, account, minutes_ago=[("in", 13)])
    next_due = running_timer(soon, due_in=timedelta(minutes=2), at_risk_in=timedelta(seconds=-5))
    later = conversation_with(default_team, account, minutes_ago=[("in", 1)])
    next_at_risk = running_timer(later, due_in=timedelta(minutes=14))

    snapshot = cockpit(lead)
    inbox_breached = ConversationFilter({"sla": "breached"}, queryset=Conversation.objects.all()).qs

    assert SlaTimer.objects.get(conversation=overdue).state == TimerState.OK  # not swept
    assert snapshot["totals"]["breached"] == 1
    assert snapshot["totals"]["at_risk"] == 1
    assert [conversation.pk for conversation in inbox_breached] == [overdue.pk]
    assert [(row["id"], row["state_label"]) for row in snapshot["attention"]] == [
        (overdue.pk, "Breached"),
        (soon.pk, "At risk"),
    ]
    # The page looks again when the next threshold passes: the soonest of the next due
    # instant and the next at-risk instant.
    expected = min(next_due.due_at, next_at_risk.at_risk_at)
    assert snapshot["next_change_at"] == expected.isoformat()


def inbound_burst(account, *, count: int, minutes: float, end=None):
    end = end or timezone.now()
    conversation = ConversationFactory(account=account)
    step = timedelta(minutes=minutes) / count
    for i in range(count):
        inbound(conversation, end - step * (i + 1), sentiment=Sentiment.NEUTRAL)


def test_a_fresh_install_learns_the_usual_volume_instead_of_alerting(db):
    account = PlatformAccountFactory(handle="fresh")
    # The first posts ever: 25 in the last five minutes.
    inbound_burst(account, count=25, minutes=4.5)

    opened = detect_spikes()
    learning = volume_learning()

    assert opened == [] and not SpikeAlert.objects.exists()
    ((learning_account, alerts_from),) = learning
    assert learning_account == account
    # A whole baseline (24 h) after the first post, plus one window.
    assert timedelta(hours=24) <= alerts_from - timezone.now() <= timedelta(hours=24, minutes=6)


def test_no_alert_against_a_usual_volume_of_zero(db):
    account = PlatformAccountFactory(handle="dormant")
    # History three days old, then silence for the whole baseline, then 30 posts.
    inbound_burst(account, count=5, minutes=60, end=timezone.now() - timedelta(days=3))
    inbound_burst(account, count=30, minutes=4.5)

    assert detect_spikes() == []
    assert volume_learning() == []


def test_with_a_learned_baseline_a_burst_still_alerts(db):
    account = PlatformAccountFactory(handle="steady")
    inbound_burst(account, count=26, minutes=26 * 60, end=timezone.now() - timedelta(minutes=6))
    inbound_burst(account, count=60, minutes=4.5)

    (alert,) = detect_spikes()

    assert alert.account == account and alert.window_posts == 60


def test_the_cockpit_page_says_learning_and_shows_labels_and_local_times(
    client, default_team, lead
):
    account = PlatformAccountFactory(handle="fresh")
    conversation = conversation_with(default_team, account, minutes_ago=[("in", 12)])
    running_timer(conversation, due_in=timedelta(minutes=3), at_risk_in=timedelta(seconds=-1))
    client.force_login(lead)

    html = client.get(reverse("dashboards:cockpit")).content.decode()

    assert "Learning the usual volume of @fresh" in html
    assert ">learning<" in html  # no usual rate yet
    assert ">At risk<" in html and ">at_risk<" not in html
    assert 'data-format="due">due ' in html
    assert 'data-format="waited">12 min<' in html
    # Instants are machine-readable only in attributes, never as the text people read.
    assert "+00:00<" not in html


def test_very_responsive_says_which_posts_are_not_counted_yet(db, client, lead):
    account = PlatformAccountFactory(handle="busy")
    now = timezone.now()
    on_time = ConversationFactory(account=account)
    inbound(on_time, now - timedelta(minutes=60))
    outbound(on_time, now - timedelta(minutes=55))
    late = ConversationFactory(account=account)
    inbound(late, now - timedelta(minutes=40))  # still waiting, 40 minutes
    for minutes in (2, 5, 9):  # under 15 minutes old, unanswered
        inbound(ConversationFactory(account=account), now - timedelta(minutes=minutes))

    (row,) = very_responsive(now=now)
    client.force_login(lead)
    html = client.get(reverse("dashboards:responsiveness")).content.decode()

    assert (row["answered_in_time"], row["posts"], row["share"]) == (1, 2, 0.5)
    assert row["not_yet_counted"] == 3
    assert row["late_waiting"] == 1
    assert row["share_if_missed"] == 0.2
    assert "1 of 2 answered in time" in html and "<strong>50 %</strong>" in html
    assert "3 not yet counted: under 15 minutes old and still unanswered" in html
    assert "1 still waiting and already past 15 minutes" in html
    assert "the share would be 20 %" in html
