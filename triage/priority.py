"""Priority from the classifier's tags plus signals about the post and its author.

Each signal adds a reason the agent sees; the priority is the highest any signal asks for.
Urgent and High are kept for what a supervisor would escalate:

- Urgent: sensitive content (legal threats, safety, self-harm, personal data posted in
  public; never answered automatically) and outages;
- High: a regulator/authority/press account tagged, a negative post that can spread (a
  large audience or fast engagement), an influencer (verified, or 100k+ followers) who is
  negative or complaining.

Everything else is Normal, however it is worded; reasons that inform without escalating
("defect", "influencer (verified)" on a neutral post) are still listed. Spam with no other
reason is Low ("no reply needed"). An ordinary customer's complaint is Normal: on the demo
feed "negative complaint" and "influencer" lifted 11 of 12 conversations to High or Urgent,
which told agents nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.models import Intent, Priority, Sentiment

INFLUENCER_FOLLOWERS = 100_000
# Below influencer level a negative post can still spread: from this reach on, or when the
# post is already collecting engagement quickly, it is a viral risk.
VIRAL_RISK_FOLLOWERS = 10_000
VIRAL_RISK_ENGAGEMENTS_PER_HOUR = 50.0

_OUTAGE = re.compile(
    r"\b(outage|is down|are down|went down|down again|not loading|won'?t load|can'?t log ?in|"
    r"cannot log ?in|error 5\d\d|service unavailable)\b|#outage|#down\b",
    re.I,
)
_DEFECT = re.compile(
    r"\b(broken|crash\w*|bug|glitch\w*|not working|doesn'?t work|stopped working|"
    r"faulty|defect\w*|charged twice|double charged)\b",
    re.I,
)
SENSITIVE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "legal threat",
        re.compile(
            r"\b(lawyer|attorney|solicitor|sue|suing|lawsuit|court|legal action|ombudsman|"
            r"small claims)\b",
            re.I,
        ),
    ),
    (
        "safety",
        re.compile(
            r"\b(caught fire|on fire|fire hazard|smoke|explod\w*|injur\w*|unsafe|dangerous|"
            r"electric shock|food poisoning|allergic reaction|hospital)\b",
            re.I,
        ),
    ),
    (
        "self-harm",
        re.compile(
            r"\b(kill myself|suicid\w*|self[- ]harm|end my life|want to die|hurt myself)\b", re.I
        ),
    ),
]
_CARD_CANDIDATE = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_ACCOUNT_NUMBER = re.compile(
    r"\b(account|acct|iban|sort code|routing)\s*(number|no\.?|#)?\s*:?\s*[A-Z]{0,2}\d[\d -]{5,}",
    re.I,
)


@dataclass(frozen=True)
class PostSignals:
    """What Parley knows about a post besides its text."""

    follower_count: int = 0
    is_verified: bool = False
    engagements_per_hour: float = 0.0
    mentioned_watched: tuple[str, ...] = ()  # "@fca (Regulator)" for each watched account tagged


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def personal_data(text: str) -> list[str]:
    """Kinds of personal data published in `text`."""
    found = []
    for match in _CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append("card number")
            break
    if _ACCOUNT_NUMBER.search(text):
        found.append("account number")
    return found


def sensitive_reasons(text: str) -> list[str]:
    reasons = [f"sensitive: {kind}" for kind, rule in SENSITIVE_RULES if rule.search(text)]
    reasons += [f"sensitive: {kind} in a public post" for kind in personal_data(text)]
    return reasons


def is_sensitive(reasons: Iterable[str]) -> bool:
    return any(reason.startswith("sensitive:") for reason in reasons)


def prioritise(
    text: str, *, intent: str, sentiment: str, signals: PostSignals
) -> tuple[int, list[str]]:
    """The post's priority and the reasons for it, in the order an agent should read them."""
    reasons: list[str] = []
    priority = Priority.NORMAL

    def raise_to(level: Priority, reason: str) -> None:
        nonlocal priority
        priority = max(priority, level)
        reasons.append(reason)

    for reason in sensitive_reasons(text):
        raise_to(Priority.URGENT, reason)
    if _OUTAGE.search(text):
        raise_to(Priority.URGENT, "outage")
    if _DEFECT.search(text):
        # Worth knowing, not worth escalating on its own: it stays in the normal queue.
        reasons.append("defect")
    for watched in signals.mentioned_watched:
        raise_to(Priority.HIGH, f"tags {watched}")
    negative = sentiment == Sentiment.NEGATIVE
    if negative and signals.follower_count >= VIRAL_RISK_FOLLOWERS:
        raise_to(
            Priority.HIGH,
            f"viral risk: negative post, author has {signals.follower_count:,} followers",
        )
    elif negative and signals.engagements_per_hour >= VIRAL_RISK_ENGAGEMENTS_PER_HOUR:
        raise_to(
            Priority.HIGH,
            f"viral risk: negative post, {signals.engagements_per_hour:.0f} engagements/hour",
        )
    if signals.follower_count >= INFLUENCER_FOLLOWERS or signals.is_verified:
        detail = "verified" if signals.is_verified else f"{signals.follower_count:,} followers"
        if negative or intent == Intent.COMPLAINT:
            raise_to(Priority.HIGH, f"influencer ({detail}) complaining")
        else:
            # Shown so an agent answers with care, but a verified account asking when
            # support opens is not an escalation.
            reasons.append(f"influencer ({detail})")
    if intent == Intent.SPAM and not reasons:
        priority = Priority.LOW
        reasons.append("no reply needed")
    return int(priority), reasons


# How an agent reads each reason: the level it asks for and the rule behind it.
_RULES: list[tuple[str, Priority, str]] = [
    ("sensitive:", Priority.URGENT, "sensitive content: urgent, never answered automatically"),
    ("outage", Priority.URGENT, "outage wording: urgent"),
    ("tags ", Priority.HIGH, "a watched regulator/authority/press account is tagged: high"),
    ("viral risk", Priority.HIGH, "a negative post with reach or fast engagement: high"),
    (
        "influencer",
        Priority.NORMAL,
        "a verified or 100k+ account: high only when negative or complaining",
    ),
    ("defect", Priority.NORMAL, "defect wording: noted, not escalated on its own"),
    ("no reply needed", Priority.LOW, "spam with no other signal: low"),
]


def describe_reason(reason: str) -> dict[str, str]:
    """The rule behind a priority reason and the level it asks for, as an agent reads it."""
    for prefix, level, rule in _RULES:
        if reason.startswith(prefix):
            if prefix == "influencer" and reason.endswith("complaining"):
                level, rule = Priority.HIGH, "a verified or 100k+ account complaining: high"
            return {"reason": reason, "level": str(level.label), "rule": rule}
    return {"reason": reason, "level": "", "rule": ""}
