"""The explicit mapping from the shipped data sets' labels onto Parley's intents/sentiments."""

import csv

import pytest

from triage.datasets import (
    BANKING77_PER_INTENT,
    DATA_DIR,
    GOEMOTIONS_PRAISE_SIZE,
    build_shipped_splits,
)
from triage.labels import (
    intent_from_banking77,
    intent_from_complaints_row,
    intent_from_goemotions,
    sentiment_from_tweeteval,
    weak_intent,
)


def test_annotated_complaint_maps_to_complaint_whatever_it_says():
    intent = intent_from_complaints_row(
        text="@brand can you help? thanks", label="complaint", domain="software"
    )
    assert intent == "complaint"


def test_tweet_not_addressed_to_a_brand_is_chatter_not_spam():
    for domain in ("random_tweet", "random_reply"):
        intent = intent_from_complaints_row(text="Nice!!", label="other", domain=domain)
        assert intent == "other"


@pytest.mark.parametrize(
    "text",
    [
        "I received $5.25 PayPal. #instagc #free #cash https://t.co/GdEc2NN4tD",
        "I entered a giveaway for a chance to win a skillet by Homerware. https://t.co/x",
    ],
)
def test_promotion_and_bots_are_spam_wherever_they_come_from(text):
    assert intent_from_complaints_row(text=text, label="other", domain="random_tweet") == "spam"
    assert intent_from_complaints_row(text=text, label="other", domain="retail") == "spam"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("@TopmanAskUs can you follow me so that I can DM you my info pls.", "request"),
        ("@OnePlus_IN when will u announce the giveaway winner", "question"),
    ],
)
def test_a_customer_asking_is_never_spam_even_with_promotion_words(text, intent):
    assert intent_from_complaints_row(text=text, label="other", domain="electronics") == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("@SquareUK do you have a pricing structure for non-profits?", "question"),
        ("@Dropbox a native function could come in handy :) Thanks.", "feedback"),
        ("@BootsHelp can you send me the receipt again", "request"),
        ("@SamsungSupport Thank you!", "compliment"),
        ("@NikeSupport The latest release", "other"),
    ],
)
def test_non_complaints_to_brands_get_weak_rule_labels(text, intent):
    assert intent_from_complaints_row(text=text, label="other", domain="retail") == intent
    assert weak_intent(text) == intent


def test_unknown_complaints_label_is_refused():
    with pytest.raises(ValueError, match="Unknown complaints label 'maybe'"):
        intent_from_complaints_row(text="hi", label="maybe", domain="retail")


def test_tweeteval_labels_map_one_to_one_and_unknown_ones_are_refused():
    assert [sentiment_from_tweeteval(x) for x in ("negative", "neutral", "positive")] == [
        "negative",
        "neutral",
        "positive",
    ]
    with pytest.raises(ValueError, match="Unknown TweetEval label '2'"):
        sentiment_from_tweeteval("2")


def test_shipped_splits_are_rebuilt_identically_from_the_source_files(tmp_path):
    for name in (
        "complaints.csv",
        "sentiment.csv",
        "banking77_train.csv",
        "banking77_test.csv",
        "goemotions_praise.csv",
    ):
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())

    counts = build_shipped_splits(data_dir=tmp_path)

    assert counts["intent_test.csv"] == 550
    for name in counts:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name
    with (tmp_path / "intent_train.csv").open() as handle:
        labels = {row["label"] for row in csv.DictReader(handle)}
    assert labels == {
        "complaint",
        "spam",
        "question",
        "request",
        "compliment",
        "feedback",
        "other",
    }


def test_brand_tweets_join_the_sentiment_training_data_with_weak_labels():
    with (DATA_DIR / "intent_train.csv").open() as handle:
        intents = {row["text"]: row["label"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "sentiment_train.csv").open() as handle:
        sentiments = {row["text"]: row["label"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "banking77_train.csv").open() as handle:
        for row in csv.DictReader(handle):  # intent data only
            assert row["text"] not in sentiments
            intents.pop(row["text"], None)
    with (DATA_DIR / "sentiment.csv").open() as handle:
        tweeteval = {row["text"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "goemotions_praise.csv").open() as handle:
        for row in csv.DictReader(handle):  # intent data only ("This is great!" is a tweet too)
            assert row["text"] not in sentiments or row["text"] in tweeteval
            intents.pop(row["text"], None)

    weak = {"complaint": "negative", "question": "neutral", "compliment": "positive"}
    for intent, sentiment in weak.items():
        texts = [text for text, label in intents.items() if label == intent]
        assert texts and all(sentiments[text] == sentiment for text in texts), intent
    assert not any(sentiments.get(text) for text, label in intents.items() if label == "spam")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("How old do I need to be to open an account?", "question"),
        ("Is there a fee for exchanging currencies?", "question"),
        ("I want to change my PIN", "request"),
        ("Please close my account", "request"),
    ],
)
def test_banking77_information_queries_are_questions_or_requests(text, intent):
    assert intent_from_banking77(text) == intent


def test_banking77_joins_the_intent_training_data_but_its_test_split_never_does():
    with (DATA_DIR / "intent_train.csv").open() as handle:
        train = {row["text"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "intent_banking77_test.csv").open() as handle:
        test = list(csv.DictReader(handle))
    with (DATA_DIR / "banking77_train.csv").open() as handle:
        banking_train = {row["text"] for row in csv.DictReader(handle)}

    assert len(test) == 1400
    assert {row["label"] for row in test} == {"question", "request"}
    assert not train & {row["text"] for row in test}
    assert len(train & banking_train) == 35 * BANKING77_PER_INTENT


@pytest.mark.parametrize(
    ("emotions", "intent"),
    [
        ("gratitude", "compliment"),
        ("admiration gratitude", "compliment"),
        ("gratitude annoyance", None),
        ("", None),
    ],
)
def test_only_comments_people_read_as_praise_alone_are_compliments(emotions, intent):
    assert intent_from_goemotions(emotions) == intent


def test_goemotions_praise_joins_the_intent_training_data_as_compliment_only():
    with (DATA_DIR / "goemotions_praise.csv").open() as handle:
        praise = {row["text"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "intent_train.csv").open() as handle:
        train = list(csv.DictReader(handle))
    with (DATA_DIR / "intent_test.csv").open() as handle:
        test = {row["text"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "sentiment_train.csv").open() as handle:
        sentiment = {row["text"] for row in csv.DictReader(handle)}
    with (DATA_DIR / "sentiment.csv").open() as handle:
        tweeteval = {row["text"] for row in csv.DictReader(handle)}

    joined = [row for row in train if row["text"] in praise]
    assert len(joined) == GOEMOTIONS_PRAISE_SIZE
    assert {row["label"] for row in joined} == {"compliment"}
    assert not praise & test
    # Short praise ("This is great!") is also a tweet of TweetEval's; no other way in.
    assert praise & sentiment <= tweeteval
