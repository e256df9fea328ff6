"""Agents' one-click verdicts: stored as examples, applied to the post, used in training."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import include, path, reverse
from django.utils import timezone

from core.models import Conversation, Priority
from ingestion.pipeline import process_inbound_posts
from sla.models import SlaPolicy, SlaTimer, TimerKind
from tests.factories import AGENT_PASSWORD, PostFactory
from tests.sla.factories import SlaPolicyFactory
from triage.models import TriageFeedback
from triage.selectors import accuracy_by_model, accuracy_over_time
from triage.services import record_feedback
from triage.training import train_model, training_set

# Until the lead wires triage.urls into helpdesk/urls.py, the tests mount it themselves.
urlpatterns = [path("triage/", include("triage.urls")), path("", include("parley.urls"))]


@pytest.fixture
def complaint_post(default_team):
    post = PostFactory(
        text="@brand third time my parcel went missing, sort it out",
        intent="complaint",
        sentiment="neutral",
        conversation__team=default_team,
    )
    post.conversation.intent = "complaint"
    post.conversation.save()
    return post


def test_correction_keeps_the_prediction_and_retags_the_post(complaint_post, agent):
    feedback = record_feedback(
        post_id=complaint_post.pk, field="sentiment", label="negative", agent=agent
    )

    complaint_post.refresh_from_db()
    assert (feedback.predicted, feedback.label, feedback.agrees) == ("neutral", "negative", False)
    assert feedback.model_version == "shipped"
    assert complaint_post.sentiment == "negative"
    assert complaint_post.conversation.sentiment == "negative"


def test_second_correction_updates_the_verdict_but_still_measures_the_model(complaint_post, agent):
    record_feedback(post_id=complaint_post.pk, field="intent", label="request", agent=agent)
    record_feedback(post_id=complaint_post.pk, field="intent", label="question", agent=agent)

    feedback = TriageFeedback.objects.get(post=complaint_post, field="intent")
    assert (feedback.predicted, feedback.label) == ("complaint", "question")


def test_priority_correction_raises_the_conversation(complaint_post, agent):
    record_feedback(post_id=complaint_post.pk, field="priority", label="3", agent=agent)

    complaint_post.conversation.refresh_from_db()
    assert complaint_post.conversation.priority == Priority.URGENT


def test_raising_the_priority_puts_the_conversation_on_the_urgent_clock(default_team, agent):
    SlaPolicy.objects.update(position=10)
    SlaPolicyFactory(
        name="Urgent: 5 minutes", position=0, min_priority=Priority.URGENT,
        first_response_minutes=5,
    )  # fmt: skip
    post = PostFactory(text="@brand where is my parcel?", conversation__team=default_team)
    process_inbound_posts(post_ids=[post.pk])
    conversation = Conversation.objects.get(pk=post.conversation_id)
    assert conversation.priority < Priority.URGENT
    assert conversation.first_response_due_at == conversation.created_at + timedelta(minutes=15)

    record_feedback(post_id=post.pk, field="priority", label=str(Priority.URGENT), agent=agent)

    conversation.refresh_from_db()
    assert conversation.first_response_due_at == conversation.created_at + timedelta(minutes=5)
    timer = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE)
    assert (timer.target_seconds, timer.due_at) == (300, conversation.first_response_due_at)


def test_unknown_label_is_refused_with_the_choices(complaint_post, agent):
    with pytest.raises(ValidationError, match="Unknown intent 'rant': choose one of complaint"):
        record_feedback(post_id=complaint_post.pk, field="intent", label="rant", agent=agent)
    assert not TriageFeedback.objects.exists()


def test_feedback_examples_appear_in_the_next_training_set(complaint_post, agent, small_intent_csv):
    record_feedback(post_id=complaint_post.pk, field="intent", label="request", agent=agent)

    without, _ = training_set(small_intent_csv, task="intent")
    examples, from_agents = training_set(small_intent_csv, task="intent", include_feedback=True)

    assert from_agents == 1
    assert len(examples.texts) == len(without.texts) + 1
    assert (examples.texts[-1], examples.labels[-1]) == (complaint_post.text, "request")


def test_training_with_feedback_records_how_many_examples_came_from_agents(
    complaint_post, agent, small_intent_csv
):
    record_feedback(post_id=complaint_post.pk, field="intent", label="question", agent=agent)

    result = train_model(task="intent", data=small_intent_csv, include_feedback=True)

    assert result.model.feedback_examples == 1
    # 120 shipped examples plus the agent's one, split into fitted and held out.
    assert result.training_size + result.metrics["n"] == 121


def test_accuracy_over_time_counts_agreements_per_day(default_team, agent):
    posts = PostFactory.create_batch(3, intent="complaint", conversation__team=default_team)
    record_feedback(post_id=posts[0].pk, field="intent", label="complaint", agent=agent)
    record_feedback(post_id=posts[1].pk, field="intent", label="question", agent=agent)
    old = record_feedback(post_id=posts[2].pk, field="intent", label="complaint", agent=agent)
    TriageFeedback.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))

    days = accuracy_over_time(field="intent", days=7)

    assert [(d["reviewed"], d["agreed"], d["accuracy"]) for d in days] == [(1, 1, 1.0), (2, 1, 0.5)]
    assert accuracy_by_model(field="intent") == [
        {"model": "shipped", "reviewed": 3, "agreed": 2, "accuracy": 0.6667}
    ]


@pytest.mark.urls(__name__)
def test_one_click_correction_endpoint(client, complaint_post, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    url = reverse("triage:post-feedback", args=[complaint_post.pk])

    response = client.post(url, {"field": "intent", "label": "request"})
    bad = client.post(url, {"field": "intent", "label": "rant"})

    assert response.status_code == 200
    assert response.json()["model_was_right"] is False
    assert bad.status_code == 400
    assert "Unknown intent 'rant'" in bad.json()["error"]


@pytest.mark.urls(__name__)
def test_agent_cannot_correct_posts_outside_their_teams(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    elsewhere = PostFactory(intent="complaint")

    response = client.post(
        reverse("triage:post-feedback", args=[elsewhere.pk]), {"field": "intent", "label": "spam"}
    )

    assert response.status_code == 404
    assert not TriageFeedback.objects.exists()


@pytest.mark.urls(__name__)
def test_explanation_names_the_words_that_drove_each_tag(client, complaint_post, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)

    response = client.get(reverse("triage:post-explanation", args=[complaint_post.pk]))

    explanation = response.json()
    assert explanation["intent"]["label"] == "complaint"
    features = explanation["intent"]["top_features"]
    assert features and all(isinstance(feature, str) for feature in features)
    assert any(word in " ".join(features) for word in ("missing", "third", "sort", "parcel"))
