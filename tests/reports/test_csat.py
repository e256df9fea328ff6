"""CSAT: a survey message after resolution, a one-question public page, answers stored."""

import pytest
from django.urls import reverse

from core.models import ConversationStatus, DeliveryStatus, Direction, Platform
from helpdesk.services import change_status
from reports.models import CsatSurvey, CsatTemplate
from reports.tasks import offer_csat_surveys
from tests.factories import ConversationFactory, PostFactory


@pytest.fixture
def resolved(db):
    conversation = ConversationFactory()
    PostFactory(conversation=conversation, external_id="tweet-1")
    return change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)


@pytest.fixture
def template(db):
    return CsatTemplate.objects.create(
        platform=Platform.DEMO, body="Thanks! How did we do? {{ survey_link }}"
    )


def test_resolution_sends_the_platforms_survey_message_with_its_link(
    resolved, template, django_capture_on_commit_callbacks, settings
):
    settings.PUBLIC_BASE_URL = "https://care.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        assert offer_csat_surveys.apply().get() == 1

    survey = CsatSurvey.objects.get(conversation=resolved)
    message = resolved.posts.get(direction=Direction.OUTBOUND)
    assert message.text == f"Thanks! How did we do? https://care.example.com/csat/{survey.token}/"
    assert message.in_reply_to == "tweet-1"
    assert message.delivery_status == DeliveryStatus.SENT  # the demo platform accepted it


def test_a_resolution_is_surveyed_once(resolved, template, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        offer_csat_surveys.apply()
        assert offer_csat_surveys.apply().get() == 0

    assert CsatSurvey.objects.filter(conversation=resolved).count() == 1
    assert resolved.posts.filter(direction=Direction.OUTBOUND).count() == 1


def test_no_active_template_no_survey(resolved):
    CsatTemplate.objects.create(platform=Platform.DEMO, is_active=False)

    assert offer_csat_surveys.apply().get() == 0
    assert not resolved.posts.filter(direction=Direction.OUTBOUND).exists()


def test_the_customer_answers_the_one_question_and_the_answer_is_stored(client, resolved):
    survey = CsatSurvey.objects.create(conversation=resolved, resolved_at=resolved.resolved_at)
    url = reverse("csat", args=[survey.token])

    page = client.get(url)
    assert b"How satisfied are you" in page.content

    thanks = client.post(url, {"score": "4"})
    assert thanks.status_code == 200
    assert b"Thank you!" in thanks.content
    survey.refresh_from_db()
    assert (survey.score, survey.responded_at is not None) == (4, True)


def test_a_second_answer_does_not_change_the_first(client, resolved):
    survey = CsatSurvey.objects.create(
        conversation=resolved, resolved_at=resolved.resolved_at, score=5
    )

    client.post(reverse("csat", args=[survey.token]), {"score": "1"})

    survey.refresh_from_db()
    assert survey.score == 5


@pytest.mark.parametrize("score", ["0", "6", "great", ""])
def test_a_score_off_the_scale_is_refused_with_a_message(client, resolved, score):
    survey = CsatSurvey.objects.create(conversation=resolved, resolved_at=resolved.resolved_at)

    response = client.post(reverse("csat", args=[survey.token]), {"score": score})

    assert response.status_code == 400
    assert b"Choose a score from 1 to 5." in response.content
    survey.refresh_from_db()
    assert survey.score is None


def test_an_unknown_survey_link_is_a_404(client, db):
    response = client.get(reverse("csat", args=["not-a-token"]))

    assert response.status_code == 404
