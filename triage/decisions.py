"""From the intent model's probabilities to the intent an agent sees.

The model alone is not trusted with two decisions that hurt agents when wrong:

- **"Spam / no reply needed" must be earned.** It hides a post from the queue, so a post is
  only filed there when its wording is promotion, a bot or a scam by the high-precision rules
  (triage.cues.SPAM), or when the model is at least SPAM_MIN_CONFIDENCE sure, and never when
  the post complains, asks or requests anything (triage.cues). Otherwise the model's next
  best label stands: an unsure post is left for a human, never hidden.
- **A question or a request is not a complaint unless it also complains.** When the model's
  best label is "complaint" but the post asks or requests something, shows no complaint
  wording and does not read negative, the best of question / request / feedback is taken.
  A "complaint" that reads positive (sentiment head) with no complaint wording is praise.

- **A complaint is not missed for want of being first.** A post whose complaint probability
  reaches COMPLAINT_MIN_PROBABILITY (COMPLAINT_MIN_PROBABILITY_NEGATIVE when it reads
  negative) is a complaint even when the model ranks another label first, and a question,
  request or compliment that has complaint wording and reads negative ("why is my bag still
  missing?") is a complaint: it asks *and* complains.
- **Thanks for a failure is a complaint.** A post the model calls compliment or other whose
  wording is sarcastic (triage.cues.SARCASM: "thanks for losing my bag", "great. just
  great") is a complaint, however positive the sentiment head reads it.

And a post the model calls "other" (no clear intent) becomes a complaint when it has complaint
wording and does not read positive, else a question or a request when it plainly asks or
requests, else a compliment when it reads positive: so it reaches the right queue.

The function is pure: the same probabilities and text always give the same answer, so
batch and single-post triage agree, and `triage_evaluate` measures exactly what agents see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.models import Intent, Sentiment

from .cues import customer_cues, looks_like_spam

SPAM_MIN_CONFIDENCE = 0.8
# A complaint the model does not rank first is still a complaint when its probability reaches
# this, or, for a post that reads negative, COMPLAINT_MIN_PROBABILITY_NEGATIVE: a missed
# complaint costs a customer more than a question read as a complaint. Chosen by complaint F1
# on the held-out split (intent_test.csv, human labels; triage/data/README.md), ties (one post
# apart) going to the higher held-out recall.
COMPLAINT_MIN_PROBABILITY = 0.35
COMPLAINT_MIN_PROBABILITY_NEGATIVE = 0.30

# The sentiment head's calibrated probabilities follow its training mix (46% neutral, 18%
# positive), which under-reads the rarer classes; each probability is divided by its label's
# training share to this power before the best is taken (0 = plain argmax). Chosen by 3-fold
# cross-validation on the training split (macro-recall; triage/data/README.md).
SENTIMENT_PRIOR_POWER = 1.0
# Where a trained sentiment pipeline keeps its training label shares (set by training).
LABEL_SHARES = "parley_label_shares_"


@dataclass(frozen=True)
class IntentDecision:
    intent: str
    confidence: float  # the model's probability of `intent`
    model_intent: str  # the model's own best label
    note: str = ""  # why `intent` differs from `model_intent`, for the explanation


def decide_intent(
    text: str, probabilities: Mapping[str, float], *, sentiment: str = ""
) -> IntentDecision:
    """The intent to tag `text` with, given the model's probability of each label."""
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    model_intent = ranked[0][0]
    cues = customer_cues(text)
    asks = {"question", "request"} & cues

    def decided(intent: str, note: str = "") -> IntentDecision:
        return IntentDecision(intent, float(probabilities.get(intent, 0.0)), model_intent, note)

    if not cues and looks_like_spam(text):
        return decided(Intent.SPAM, "promotion/bot wording" if model_intent != Intent.SPAM else "")
    allowed = [label for label, _ in ranked if label != Intent.SPAM]
    confident_spam = probabilities.get(Intent.SPAM, 0.0) >= SPAM_MIN_CONFIDENCE
    if model_intent == Intent.SPAM and not cues and confident_spam:
        return decided(Intent.SPAM)
    best = allowed[0] if allowed else model_intent
    note = ""
    if model_intent == Intent.SPAM:
        note = (
            "not spam: it " + " and ".join(_VERBS[cue] for cue in sorted(cues))
            if cues
            else f"not spam: the model is only {probabilities[Intent.SPAM]:.0%} sure"
        )
    complains = "complaint" in cues or sentiment == Sentiment.NEGATIVE
    complaint_probability = probabilities.get(Intent.COMPLAINT, 0.0)
    threshold = (
        COMPLAINT_MIN_PROBABILITY_NEGATIVE
        if sentiment == Sentiment.NEGATIVE
        else COMPLAINT_MIN_PROBABILITY
    )
    if best != Intent.COMPLAINT and complaint_probability >= threshold:
        best = Intent.COMPLAINT
        note = note or f"complaint likely enough ({complaint_probability:.0%})"
    # Asking and complaining at once ("why is my bag still missing?") is a complaint.
    clearly_complains = "complaint" in cues and sentiment == Sentiment.NEGATIVE
    # Thanks for a failure ("thanks for losing my bag") is a complaint, however the model and
    # the sentiment head read its praise words.
    if best in _PRAISING_OR_OTHER and "sarcasm" in cues and Intent.COMPLAINT in probabilities:
        best = Intent.COMPLAINT
        note = note or "sarcasm: praise words around a failure"
    if best in _ASKING_OR_PRAISING and clearly_complains and Intent.COMPLAINT in probabilities:
        best = Intent.COMPLAINT
        note = note or "complains while asking"
    if best == Intent.COMPLAINT and asks and not complains:
        instead = _best_of(probabilities, _ASKING_INTENTS, asks)
        if instead:
            return decided(instead, "asks without complaining: not a complaint")
    praise = sentiment == Sentiment.POSITIVE and "complaint" not in cues
    if best == Intent.COMPLAINT and praise and Intent.COMPLIMENT in probabilities:
        return decided(Intent.COMPLIMENT, "reads positive, no complaint wording")
    if best == Intent.OTHER:
        complains = "complaint" in cues and sentiment != Sentiment.POSITIVE
        if complains and Intent.COMPLAINT in probabilities:
            return decided(Intent.COMPLAINT, note or "complaint wording")
        instead = _best_of(probabilities, _ASKING_INTENTS, asks)
        if instead:
            return decided(instead, note or "asks or requests something")
        if sentiment == Sentiment.POSITIVE and Intent.COMPLIMENT in probabilities:
            return decided(Intent.COMPLIMENT, note or "reads positive")
    return decided(best, note)


_ASKING_OR_PRAISING = {Intent.QUESTION, Intent.REQUEST, Intent.FEEDBACK, Intent.COMPLIMENT}

_PRAISING_OR_OTHER = {Intent.COMPLIMENT, Intent.OTHER}

_VERBS = {
    "complaint": "complains",
    "sarcasm": "is sarcastic",
    "question": "asks",
    "request": "requests",
}

# Which intents each cue allows in place of a complaint or "other".
_ASKING_INTENTS = {
    "question": (Intent.QUESTION,),
    "request": (Intent.REQUEST, Intent.FEEDBACK),
}


def _best_of(
    probabilities: Mapping[str, float], by_cue: Mapping[str, tuple[str, ...]], cues: set[str]
) -> str | None:
    candidates = [label for cue in sorted(cues) for label in by_cue[cue] if label in probabilities]
    return max(candidates, key=lambda label: probabilities[label]) if candidates else None


def decide_sentiment(
    probabilities: Mapping[str, float], label_shares: Mapping[str, float] | None = None
) -> tuple[str, float]:
    """The sentiment to tag and the model's probability of it: the best label once each
    probability is divided by its training share ** SENTIMENT_PRIOR_POWER (plain argmax
    without shares, e.g. a model trained before they were recorded)."""

    def score(label: str) -> float:
        share = (label_shares or {}).get(label)
        if not share:
            return probabilities[label]
        return probabilities[label] / share**SENTIMENT_PRIOR_POWER

    label = max(probabilities, key=score)
    return label, float(probabilities[label])
