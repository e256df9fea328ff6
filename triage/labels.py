"""How the shipped data sets' labels map onto Parley's intents and sentiments.

Sentiment (TweetEval, SemEval-2017 4A): negative / neutral / positive map one to one.
Also, WEAKLY, the brand-addressed tweets of the complaints data set, by their intent
(WEAK_SENTIMENT_OF_INTENT): a human-annotated complaint expresses a breach of expectations (the
data set's own definition), so it counts as negative even when worded flatly ("order #123 was
due Monday. Still nothing"), which TweetEval's general tweets do not teach; non-complaints that
ask or request count as neutral, praise as positive. Without them the model called 68% of
held-out complaints neutral or positive; with them TweetEval's own test score is unchanged.
Measured in triage/data/README.md.

Intent (Preoțiuc-Pietro et al. 2019, complaints to customer-support handles) only knows
"complaint" and "other", human-annotated. Parley needs more intents, so the "other" tweets
get WEAK labels from the transparent rules below. Only "complaint" is gold; every other intent
label in triage/data/intent_*.csv is a rule's guess, and a metric on those classes measures how
well the model generalises the rules, not how well it matches people. The binary complaint
F1 (complaint vs everything else) is the number to trust.

The mapping, in order (first match wins):

1. label "complaint"                                   -> complaint   (gold)
2. promotion, bot or scam wording (triage.cues.SPAM:
   giveaways, "#ad", "earned 1 point", ...) and no
   question or request                                 -> spam
3. domain random_tweet / random_reply (not addressed
   to a brand; the data set's control sample)          -> other       (chatter)
4. "other" to a brand, with suggestion language         -> feedback
5. "other" to a brand, asking the brand to act          -> request
6. "other" to a brand, asking something ("?", wh-word)  -> question
7. "other" to a brand, thanking or praising             -> compliment
8. any other "other" to a brand                         -> other

Rule 3 used to say "spam": it taught the model that ordinary language ("Nice!!", "thanks
Kyle") is spam, so 40% of praise and 11% of real complaints to airlines were filed as
"Spam / no reply needed". Spam now has to be earned by rule 2's high-precision wording.
"""

from __future__ import annotations

import re

from core.models import Intent, Sentiment

from .cues import QUESTION, REQUEST, SPAM

SENTIMENT_MAPPING: dict[str, str] = {
    "negative": Sentiment.NEGATIVE,
    "neutral": Sentiment.NEUTRAL,
    "positive": Sentiment.POSITIVE,
}

# Weak sentiment of brand-addressed tweets by intent; spam and feedback are left out (too few,
# and a suggestion can be worded either way).
WEAK_SENTIMENT_OF_INTENT: dict[str, str] = {
    Intent.COMPLAINT: Sentiment.NEGATIVE,
    Intent.QUESTION: Sentiment.NEUTRAL,
    Intent.REQUEST: Sentiment.NEUTRAL,
    Intent.OTHER: Sentiment.NEUTRAL,
    Intent.COMPLIMENT: Sentiment.POSITIVE,
}

NOT_ADDRESSED_TO_A_BRAND = {"random_tweet", "random_reply"}

# Weak-labelling rules for brand-addressed tweets the annotators marked "other". Order matters.
WEAK_INTENT_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        Intent.FEEDBACK,
        re.compile(
            r"\b(suggest\w*|should (add|have|make|consider|bring)|would be (nice|great|good|cool|"
            r"awesome|helpful)|come in handy|feature request|please add|bring back|"
            r"can we have|wish (you|there)|idea|feedback)\b",
            re.I,
        ),
    ),
    (
        Intent.REQUEST,
        re.compile(
            r"\b(can you|could you|would you|will you|please|pls|plz|i need|i want|"
            r"i'?d like|help me|dm me|send me|cancel|reset|change my|update my|"
            r"guidance)\b",
            re.I,
        ),
    ),
    (
        Intent.QUESTION,
        re.compile(
            r"\?|^(@\w+\s+)*(hi\W+|hello\W+|hey\W+)?(how|what|when|where|why|which|who|is|are|"
            r"do|does|did|can|will|any)\b",
            re.I,
        ),
    ),
    (
        Intent.COMPLIMENT,
        re.compile(
            r"\b(thank\w*|thanks|thx|thks|ty|love|loving|great|awesome|amazing|excellent|"
            r"brilliant|kudos|well done|shout ?out|best|friendliest|favou?rite|appreciate\w*|"
            r"nice work|pleasure|fantastic|perfect|helpful|resolved|solved)\b",
            re.I,
        ),
    ),
]


def intent_from_complaints_row(*, text: str, label: str, domain: str) -> str:
    """Parley's intent for one row of the complaints data set (see the module docstring)."""
    if label == "complaint":
        return Intent.COMPLAINT
    if label != "other":
        raise ValueError(f"Unknown complaints label {label!r}: expected 'complaint' or 'other'.")
    if is_weak_spam(text):
        return Intent.SPAM
    if domain in NOT_ADDRESSED_TO_A_BRAND:
        return Intent.OTHER
    return weak_intent(text)


def is_weak_spam(text: str) -> bool:
    """Promotion/bot/scam wording, in a post that neither asks nor requests anything (the
    rule's only false alarms on the shipped tweets were customers asking to be followed
    back so they could DM, and one asking when a giveaway's winner is announced)."""
    return bool(SPAM.search(text)) and not (QUESTION.search(text) or REQUEST.search(text))


def weak_intent(text: str) -> str:
    """The weak (rule-based) intent of a non-complaint post addressed to a brand."""
    return next((intent for intent, rule in WEAK_INTENT_RULES if rule.search(text)), Intent.OTHER)


# Banking77 (Casanueva et al. 2020, CC BY 4.0): the 35 of its 77 human-labelled intents that
# ask for information or ask the bank to do something, never a problem the customer reports
# (card_arrival, declined_card_payment, compromised_card, ... are left out: a person labelled
# what was needed, not whether it was a complaint).
BANKING77_INFORMATION_INTENTS = frozenset(
    {
        "activate_my_card",
        "age_limit",
        "apple_pay_or_google_pay",
        "atm_support",
        "automatic_top_up",
        "card_about_to_expire",
        "card_acceptance",
        "card_delivery_estimate",
        "card_linking",
        "change_pin",
        "country_support",
        "disposable_card_limits",
        "edit_personal_details",
        "exchange_charge",
        "exchange_rate",
        "exchange_via_app",
        "fiat_currency_support",
        "get_disposable_virtual_card",
        "get_physical_card",
        "getting_spare_card",
        "getting_virtual_card",
        "order_physical_card",
        "passcode_forgotten",
        "receiving_money",
        "supported_cards_and_currencies",
        "terminate_account",
        "top_up_by_cash_or_cheque",
        "top_up_limits",
        "topping_up_by_card",
        "transfer_into_account",
        "transfer_timing",
        "verify_my_identity",
        "verify_source_of_funds",
        "visa_or_mastercard",
        "why_verify_identity",
    }
)


def intent_from_banking77(text: str) -> str:
    """Parley's intent for a Banking77 information query: people labelled it "asks for
    information or action, not a complaint"; a "?" or an opening wh-/auxiliary word
    (triage.cues.QUESTION) makes it a question, anything else a request."""
    return Intent.QUESTION if QUESTION.search(text) else Intent.REQUEST


# GoEmotions (Demszky et al. 2020, Apache 2.0): Reddit comments that people labelled with
# gratitude and/or admiration only ("Thank you friend", "Awesome. Thanks!"). Praise, as a human
# label, of which the complaints data holds only a rule's guess at ~110 tweets; comments with
# any other emotion as well are left out (mixed feelings are not plain praise).
GOEMOTIONS_PRAISE_EMOTIONS = frozenset({"gratitude", "admiration"})


def intent_from_goemotions(emotions: str) -> str | None:
    """Parley's intent for a GoEmotions comment labelled with `emotions` (space-separated
    names): compliment when every emotion is praise, else None (not used)."""
    names = set(emotions.split())
    return Intent.COMPLIMENT if names and names <= GOEMOTIONS_PRAISE_EMOTIONS else None


def sentiment_from_tweeteval(label: str) -> str:
    try:
        return SENTIMENT_MAPPING[label]
    except KeyError:
        raise ValueError(
            f"Unknown TweetEval label {label!r}: expected one of {sorted(SENTIMENT_MAPPING)}."
        ) from None
