""" "Why these tags?": words and phrases an agent can read, the model's confidence, and the
rule behind each priority reason."""

import re
import unicodedata

import pytest
from django.urls import include, path, reverse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tests.factories import AGENT_PASSWORD, CustomerFactory, PostFactory
from triage.features import top_features
from triage.services import triage_post
from triage.store import load_shipped

urlpatterns = [path("triage/", include("triage.urls")), path("", include("parley.urls"))]

POSTS = [
    ("@acme my app is not working. Not happy!!", "intent", "complaint"),
    ("@acme my app is not working. Not happy!!", "sentiment", "negative"),
    ("@acme it doesn't work, I can't log in.", "intent", "complaint"),
    ("@acme is there a student discount on the Pro plan?", "intent", "question"),
    ("Loving the new dark mode from @acme 😍", "sentiment", "positive"),
    ("@acme thanks, you're the best. The refund arrived!", "sentiment", "positive"),
]


def is_word(token):
    """A word, a hashtag or an emoji; never punctuation."""
    return bool(re.fullmatch(r"#?\w+", token)) or all(
        unicodedata.category(char) == "So" for char in token
    )


def readable(feature):
    words = feature.strip('"').split()
    return all(is_word(word) for word in words) and any(
        is_word(word) and word not in ENGLISH_STOP_WORDS and word != "@user" for word in words
    )


@pytest.mark.parametrize(("text", "task", "label"), POSTS)
def test_evidence_is_words_and_phrases_never_punctuation_or_a_lone_stop_word(text, task, label):
    features = top_features(load_shipped(task).pipeline, text, label)

    assert features
    for feature in features:
        assert readable(feature), feature
        assert feature not in {'"."', '"not"', '"!"', '"?"', '"@user"', '"the"'}


def test_a_negated_word_is_shown_with_its_negation():
    features = top_features(
        load_shipped("sentiment").pipeline, "@acme the app is not working, not happy", "negative"
    )

    assert '"working"' not in features and '"happy"' not in features
    assert any(feature.startswith('"not ') for feature in features)


@pytest.mark.urls(__name__)
def test_explanation_shows_confidence_and_the_rule_behind_each_priority_reason(
    client, default_team, agent
):
    post = PostFactory(
        text="@acme what time does support open on Sundays?",
        conversation__team=default_team,
        conversation__customer=CustomerFactory(is_verified=True),
    )
    triage_post(post)
    post.save()
    client.login(username=agent.username, password=AGENT_PASSWORD)

    explanation = client.get(reverse("triage:post-explanation", args=[post.pk])).json()

    assert explanation["intent"]["label"] == "question"
    assert explanation["intent"]["display"] == "Question"
    assert explanation["sentiment"]["display"] == explanation["sentiment"]["label"].capitalize()
    assert explanation["priority"]["display"] == "Normal"
    assert 0 < explanation["intent"]["confidence"] <= 1
    assert 0 < explanation["sentiment"]["confidence"] <= 1
    assert explanation["priority"]["rules"] == [
        {
            "reason": "influencer (verified)",
            "level": "Normal",
            "rule": "a verified or 100k+ account: high only when negative or complaining",
        }
    ]
