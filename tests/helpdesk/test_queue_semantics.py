"""The queue tells the agent what they owe now (issue 18, items 1-5): who waits since when for
which response, pending conversations coming back, routing that follows a rising priority,
intent that follows the customer turn, and spam that runs no clock.

Posts go through the whole ingest path (ingestion.store); the classifier is replaced by a
table of the tags it would give, so each test says exactly what triage said.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Conversation, ConversationStatus, Intent, Note, Priority, Sentiment
from helpdesk import selectors, services
from ingestion.services import ingest_item
from routing.models import RoutingRule
from sla.models import SlaTimer, TimerKind
from tests.factories import AGENT_PASSWORD, AgentFactory, InboundItemFactory, TeamFactory
from triage.services import Classification, record_feedback

pytestmark = pytest.mark.django_db

# What the stand-in classifier says of a text: intent, sentiment, priority, reasons.
TAGS = {
    "I was charged twice, fix it": (Intent.COMPLAINT, Sentiment.NEGATIVE, Priority.HIGH),
    "thank you": (Intent.COMPLIMENT, Sentiment.POSITIVE, Priority.NORMAL),
    "win free followers": (Intent.SPAM, Sentiment.NEUTRAL, Priority.LOW),
    "the whole app is down #outage": (Intent.COMPLAINT, Sentiment.NEGATIVE, Priority.URGENT),
}
REASONS = {
    "I was charged twice, fix it": ["negative complaint"],
    "win free followers": ["no reply needed"],
    "the whole app is down #outage": ["outage", "negative complaint"],
}


@pytest.fixture(autouse=True)
def classifier(monkeypatch):
    """Triage as TAGS says (a question, neutral and normal for any other text)."""

    def tag(posts):
        return [
            Classification(
                *TAGS.get(post.text, (Intent.QUESTION, Sentiment.NEUTRAL, Priority.NORMAL)),
                confidence=0.9,
                reasons=list(REASONS.get(post.text, [])),
            )
            for post in posts
        ]

    monkeypatch.setattr("ingestion.store.triage_arriving", tag)


@pytest.fixture
def write(demo_account, default_team, django_capture_on_commit_callbacks):
    """The customer `handle` posts `text` (at `at`, default now); returns the conversation."""

    def run(text: str, *, handle: str = "maria", at=None) -> Conversation:
        author = InboundItemFactory().author.__class__(
            external_id=f"id-{handle}", handle=handle, display_name=handle.title()
        )
        item = InboundItemFactory(text=text, author=author, created_at=at or timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            post = ingest_item(account=demo_account, item=item).post
        return Conversation.objects.get(pk=post.conversation_id)

    return run


def reply(conversation: Conversation, agent, text: str = "We're on it") -> None:
    services.send_reply(conversation_id=conversation.pk, agent=agent, text=text)


def queue(user) -> list[Conversation]:
    return selectors.inbox_for(user)


# --- 1. waiting since, the response owed, and the order -------------------------------------


def test_a_follow_up_after_a_reply_waits_since_itself_and_sorts_above_newer_first_posts(
    write, agent
):
    now = timezone.now()
    followed_up = write("where is my order?", handle="ana", at=now - timedelta(minutes=30))
    reply(followed_up, agent)
    answered = write("do you ship to Spain?", handle="bo", at=now - timedelta(minutes=20))
    reply(answered, agent)
    follow_up_at = timezone.now()
    write("still nothing arrived", handle="ana", at=follow_up_at)
    newer = write("what are your opening hours?", handle="cy")

    rows = queue(agent)

    assert [row.pk for row in rows] == [followed_up.pk, newer.pk, answered.pk]
    first = rows[0]
    assert first.waiting_since == follow_up_at
    assert first.response_timer == TimerKind.NEXT_RESPONSE
    running = SlaTimer.objects.get(conversation=followed_up, kind=TimerKind.NEXT_RESPONSE)
    assert first.response_due_at == running.due_at is not None
    assert rows[1].response_timer == TimerKind.FIRST_RESPONSE
    assert rows[2].waiting_since is None and rows[2].response_due_at is None


def test_before_the_first_reply_the_customer_waits_since_their_first_post_arrived(write, agent):
    now = timezone.now()
    conversation = write("hello?", at=now - timedelta(minutes=9))
    write("anyone there?", at=now - timedelta(minutes=2))

    row = queue(agent)[0]

    assert row.pk == conversation.pk
    # As the first-response clock counts: from when the first post reached Parley.
    assert row.waiting_since == conversation.created_at
    assert row.response_timer == TimerKind.FIRST_RESPONSE
    first = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE)
    assert first.started_at == conversation.created_at
    assert row.response_due_at == first.due_at


def test_the_inbox_page_lists_the_follow_up_first_with_its_next_response_clock(
    client, write, agent
):
    now = timezone.now()
    followed_up = write("where is my order?", handle="ana", at=now - timedelta(minutes=30))
    reply(followed_up, agent)
    write("still nothing arrived", handle="ana")
    write("what are your opening hours?", handle="cy")
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("inbox")).content.decode()

    rows = page.split('id="conversation-rows"')[1]
    assert rows.index("@ana") < rows.index("@cy")
    ana_row = rows.split(f'data-conversation-id="{followed_up.pk}"')[1].split("</tr>")[0]
    assert 'data-timer="Next response"' in ana_row
    assert 'data-owed="1"' in ana_row


def test_the_inbox_can_sort_by_the_response_due_soonest(client, write, agent):
    # A high-priority policy answers faster: the later conversation is due sooner.
    from sla.models import SlaPolicy

    SlaPolicy.objects.create(name="Urgent", min_priority=Priority.HIGH, first_response_minutes=5)
    now = timezone.now()
    write("where is my order?", handle="ana", at=now - timedelta(minutes=3))
    write("I was charged twice, fix it", handle="bo", at=now)
    client.login(username=agent.username, password=AGENT_PASSWORD)

    by_waiting = client.get(reverse("inbox")).context["conversations"]
    by_due = client.get(reverse("inbox"), {"sort": "due"}).context["conversations"]

    assert [c.customer.handle for c in by_waiting] == ["ana", "bo"]
    assert [c.customer.handle for c in by_due] == ["bo", "ana"]


def test_live_cards_carry_what_the_row_sorts_and_shows(write, agent):
    conversation = write("hello?")

    card = selectors.conversation_cards([conversation.pk])[0]

    assert card["waiting_since"] is not None
    assert card["response_timer"] == TimerKind.FIRST_RESPONSE
    assert card["response_timer_label"] == "First response"
    assert card["response_due_at"] is not None


# --- 2. pending comes back ------------------------------------------------------------------


def test_a_customer_post_on_a_pending_conversation_opens_it_and_resumes_the_resolution_clock(
    write, agent, notices
):
    conversation = write("where is my order?")
    reply(conversation, agent, "Can you send us the order number?")
    services.change_status(conversation_id=conversation.pk, status=ConversationStatus.PENDING)
    paused = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.RESOLUTION)
    assert paused.paused_since is not None and paused.due_at is None

    write("it is 12345")

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN
    resolution = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.RESOLUTION)
    assert resolution.paused_since is None
    assert resolution.due_at is not None
    assert len(resolution.pauses) == 1
    assert SlaTimer.objects.get(conversation=conversation, kind=TimerKind.NEXT_RESPONSE).is_running
    groups, payload = notices[0]
    assert groups == [f"sla.user.{agent.pk}"]
    assert payload["event"] == "conversation.reopened"
    assert payload["conversation_id"] == conversation.pk
    assert "wrote again" in payload["text"]


def test_a_post_within_the_reopen_window_restarts_the_resolution_clock(write, agent):
    conversation = write("where is my order?")
    reply(conversation, agent)
    services.change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)

    again = write("it broke again")

    assert again.pk == conversation.pk
    assert again.status == ConversationStatus.OPEN
    resolution = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.RESOLUTION)
    assert resolution.cycle == 2 and resolution.is_running and resolution.due_at is not None


# --- 3. routing follows a rising priority ---------------------------------------------------


@pytest.fixture
def priority_care():
    team = TeamFactory(name="Priority care")
    RoutingRule.objects.create(name="High and up", min_priority=Priority.HIGH, team=team)
    return team


def test_a_conversation_that_becomes_urgent_moves_to_the_priority_queue(
    write, default_team, priority_care
):
    conversation = write("how do I change my address?")
    assert conversation.team == default_team

    conversation = write("the whole app is down #outage")

    assert conversation.priority == Priority.URGENT
    assert conversation.team == priority_care
    assert conversation.routed_by.name == "High and up"
    assert "moved this to Priority care" in Note.objects.get(conversation=conversation).text


def test_a_rise_leaves_an_assigned_conversation_with_its_agent_and_says_so(
    write, agent, default_team, priority_care
):
    conversation = write("how do I change my address?")
    reply(conversation, agent)

    conversation = write("the whole app is down #outage")

    assert conversation.team == default_team
    assert conversation.assignee == agent
    note = Note.objects.get(conversation=conversation)
    assert "sends this to Priority care" in note.text and "Kept with its assignee" in note.text


def test_a_falling_priority_does_not_move_a_conversation(write, priority_care):
    conversation = write("the whole app is down #outage")
    assert conversation.team == priority_care

    conversation = write("how do I change my address?")

    assert conversation.team == priority_care
    assert conversation.priority == Priority.URGENT


# --- 4. intent follows the customer turn ----------------------------------------------------


def test_thanks_after_a_complaint_keeps_the_complaint(client, write, agent):
    write("I was charged twice, fix it")

    conversation = write("thank you")

    assert (conversation.intent, conversation.sentiment) == (
        Intent.COMPLAINT,
        Sentiment.NEGATIVE,
    )
    client.login(username=agent.username, password=AGENT_PASSWORD)
    page = client.get(reverse("conversation", args=[conversation.pk]))
    assert page.context["triage_reasons"] == ["negative complaint"]


def test_a_new_turn_after_a_reply_takes_its_own_intent(write, agent):
    conversation = write("I was charged twice, fix it")
    reply(conversation, agent, "Refunded, sorry!")

    conversation = write("thank you")

    assert conversation.intent == Intent.COMPLIMENT


def test_reasons_of_an_intent_the_conversation_no_longer_has_are_not_shown(client, write, agent):
    conversation = write("I was charged twice, fix it")
    reply(conversation, agent, "Refunded, sorry!")
    write("thank you")
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("conversation", args=[conversation.pk]))

    assert page.context["conversation"].intent == Intent.COMPLIMENT
    assert "negative complaint" not in page.context["triage_reasons"]


def test_an_agents_correction_wins_over_a_milder_later_post(write, agent):
    conversation = write("how do I change my address?")
    post = conversation.posts.get()
    record_feedback(post_id=post.pk, field="intent", label=Intent.COMPLAINT, agent=agent)

    conversation = write("thank you")

    assert conversation.intent == Intent.COMPLAINT


# --- 5. spam runs no clock ------------------------------------------------------------------


def test_spam_starts_no_clock_and_waits_in_the_no_reply_view(client, write, agent):
    conversation = write("win free followers")

    assert conversation.needs_reply is False
    assert not SlaTimer.objects.filter(conversation=conversation).exists()
    assert conversation.pk not in [row.pk for row in queue(agent)]
    client.login(username=agent.username, password=AGENT_PASSWORD)
    response = client.get(reverse("inbox"), {"view": "noreply"})
    assert [c.pk for c in response.context["conversations"]] == [conversation.pk]
    assert {tab["key"]: tab["count"] for tab in response.context["tabs"]}["noreply"] == 1


def test_an_agent_pulls_spam_back_onto_the_clock(write, agent):
    conversation = write("win free followers")

    services.set_needs_reply(conversation_id=conversation.pk, needs_reply=True, agent=agent)

    conversation.refresh_from_db()
    assert conversation.needs_reply is True
    assert conversation.intent == Intent.OTHER
    assert SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE).is_running
    assert conversation.pk in [row.pk for row in queue(agent)]
    # Pulled back, a later spam post in the turn does not set it aside again.
    conversation = write("win free followers")
    assert conversation.needs_reply is True


def test_marking_a_conversation_spam_drops_its_running_clocks(write, agent):
    conversation = write("how do I change my address?")

    services.set_needs_reply(conversation_id=conversation.pk, needs_reply=False, agent=agent)

    conversation.refresh_from_db()
    assert conversation.needs_reply is False and conversation.intent == Intent.SPAM
    assert not SlaTimer.objects.filter(conversation=conversation, stopped_at=None).exists()
    assert conversation.pk not in [row.pk for row in queue(agent)]


def test_a_real_question_in_a_spam_conversation_puts_it_on_the_clock(write, agent):
    write("win free followers")

    conversation = write("how do I change my address?")

    assert conversation.needs_reply is True
    assert conversation.intent == Intent.QUESTION
    assert SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE).is_running


def test_spam_from_a_colleague_team_is_not_counted_for_me(write, agent):
    outsider = AgentFactory(teams=[TeamFactory()])
    write("win free followers")

    assert selectors.inbox_view_counts(outsider)["noreply"] == 0
    assert selectors.inbox_view_counts(agent)["noreply"] == 1
