"""Tagging each inbound post with intent, sentiment and priority, and the reasons why.

This first version is a set of keyword rules; the scikit-learn classifier replaces
`classify_text` behind the same signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpdesk.models import Intent, Post, Priority, Sentiment

INFLUENCER_FOLLOWERS = 100_000

_INTENT_RULES: list[tuple[str, re.Pattern[str]]] = [
    (Intent.SPAM, re.compile(r"\b(win a free|click here|crypto|dm me for|giveaway)\b", re.I)),
    (
        Intent.COMPLAINT,
        re.compile(
            r"\b(down|outage|broken|charged twice|worst|ridiculous|not happy|crash\w*|"
            r"still nothing|still waiting|no reply|court|refund|error \d{3})\b",
            re.I,
        ),
    ),
    (Intent.REQUEST, re.compile(r"\b(please|cancel|reset|can you help|i need)\b", re.I)),
    (Intent.COMPLIMENT, re.compile(r"\b(thank(s| you)|amazing|great|love|loving)\b", re.I)),
    (Intent.FEEDBACK, re.compile(r"\b(suggestion|would be great|please add|feature)\b", re.I)),
    (Intent.QUESTION, re.compile(r"\?|\b(how do|what time|is there|can i)\b", re.I)),
]
_NEGATIVE = re.compile(
    r"\b(worst|ridiculous|not happy|broken|down|charged twice|angry|terrible|court|crash\w*|"
    r"nobody|still waiting|still nothing)\b",
    re.I,
)
_POSITIVE = re.compile(r"\b(thank(s| you)|amazing|great|love|loving|worked)\b|😍", re.I)
_OUTAGE = re.compile(r"\b(down|outage|error 5\d\d|can'?t log ?in)\b|#outage", re.I)
_LEGAL = re.compile(r"\b(court|lawyer|sue|legal action)\b", re.I)


@dataclass(frozen=True)
class Classification:
    intent: str
    sentiment: str
    priority: int
    confidence: float
    reasons: list[str] = field(default_factory=list)


def classify_text(
    text: str, *, follower_count: int = 0, is_verified: bool = False
) -> Classification:
    intent = next((label for label, rule in _INTENT_RULES if rule.search(text)), Intent.OTHER)
    if _NEGATIVE.search(text):
        sentiment = Sentiment.NEGATIVE
    elif _POSITIVE.search(text):
        sentiment = Sentiment.POSITIVE
    else:
        sentiment = Sentiment.NEUTRAL

    reasons = []
    priority = Priority.NORMAL
    if _OUTAGE.search(text):
        reasons.append("outage")
        priority = Priority.URGENT
    if _LEGAL.search(text):
        reasons.append("sensitive: legal threat")
        priority = Priority.URGENT
    if follower_count >= INFLUENCER_FOLLOWERS or is_verified:
        reasons.append("influencer")
        priority = max(priority, Priority.HIGH)
    if intent == Intent.COMPLAINT and sentiment == Sentiment.NEGATIVE:
        priority = max(priority, Priority.HIGH)
    if intent == Intent.SPAM:
        priority = Priority.LOW
    # Keyword rules are either sure or guessing; the classifier will give real probabilities.
    confidence = 0.5 if intent == Intent.OTHER else 0.7
    return Classification(intent, sentiment, int(priority), confidence, reasons)


def triage_post(post: Post) -> Classification:
    """Classify `post` and store the tags on it (the caller saves)."""
    customer = post.customer
    result = classify_text(
        post.text,
        follower_count=customer.follower_count if customer else 0,
        is_verified=customer.is_verified if customer else False,
    )
    post.intent = result.intent
    post.sentiment = result.sentiment
    post.priority = result.priority
    post.triage_confidence = result.confidence
    post.triage_reasons = result.reasons
    return result
