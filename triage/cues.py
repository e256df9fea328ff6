"""Surface cues in a post's wording: does it complain, ask, request, or advertise?

Two uses, both deliberately conservative:

- weak labels for the shipped training data where no human label exists (triage.labels);
- the guard on the intent model (triage.decisions): a post that asks, requests or complains
  is never filed as "Spam / no reply needed", and a question or request is not a complaint
  unless it also complains.

The cues are regular expressions an agent can read; they aim at precision, since a cue
missed only leaves the model's own answer in place.
"""

from __future__ import annotations

import re

# Asking something: a "?" anywhere, or an opening wh-word / auxiliary ("is there", "how do I",
# "can I") after any @mentions and a greeting.
QUESTION = re.compile(
    r"\?|^\s*(?:[@.]\w+[\s,:]*)*(?:(?:hi|hello|hey|dear \w+)\W+)?"
    r"(?:how|what|when|where|why|which|who|whom|whose|is|are|was|were|do|does|did|can|could|"
    r"will|would|should|shall|may|am|any|has|have|anyone)\b"
    r"|\b(?:is there|are there|how (?:do|can|long|much|many)|wondering (?:if|whether)|"
    r"do you (?:have|know|offer|ship|sell|accept)|i was wondering)\b",
    re.I,
)

# Asking the organisation to act.
REQUEST = re.compile(
    r"\b(?:can you|could you|would you|will you|can u|could u|please|pls|plz|kindly|"
    r"i need|i want|i'?d like|i would like|help me|need help|send me|let me know|"
    r"cancel|reset|change my|update my|unsubscribe|remove me|refund me|follow me|"
    r"suggest\w*|feature request|please add|would be (?:great|nice|good|cool|awesome|helpful) if|"
    r"let us|you should|bring back)\b",
    re.I,
)

# Complaining: a concrete failure, a loss, a wait, or plain displeasure.
COMPLAINT = re.compile(
    r"\b(?:not (?:working|happy|received|arrived|good|acceptable|ok|okay)|doesn'?t work|"
    r"didn'?t (?:work|arrive|receive|get)|won'?t (?:work|load|open|let)|can'?t (?:log|get|find|"
    r"access|believe|use|login|sign)|still (?:no|not|nothing|waiting|haven'?t|hasn'?t)|"
    r"never (?:arrived|received|got|came|again)|no (?:reply|response|answer|one|refund|help)|"
    r"nobody|waiting|waited|broken|broke|crash\w*|bug|glitch\w*|error|fail\w*|faulty|damaged|"
    r"defect\w*|refund|charged|overcharged|double[- ]charged|late|delay\w*|cancel+ed|lost|"
    r"missing|stuck|wrong|worst|terrible|awful|horrible|useless|pathetic|ridiculous|"
    r"disgusting|disappointed|disappointing|unacceptable|joke|rude|annoyed|annoying|angry|"
    r"frustrat\w*|fed up|sick of|hate|poor|shame|shocking|complain\w*|outage|down again|"
    r"is down|are down|went down|issue|problem|again\W*$|"
    # Flat accounts of a failure, with no complaint word of their own ("on hold for an
    # hour", "stranded in Denver", "missed my connection") and blunt verdicts ("this sucks").
    r"on hold|hung up|stranded|missed (?:my|our|the) (?:connection|connecting flight)|"
    r"suck(?:s|ed|ing|y)?\b|(?<!holy )crap\w*|what a mess|not impressed|gave up|do better|"
    r"not fair|"
    # A legal threat is a complaint whatever else it says ("I will take you to court if my
    # money isn't returned": the retrained model called it "other" once).
    r"take (?:you|this|it) to court|legal action|my lawyer|my solicitor|sue you|suing you)"
    # A hashtag that files the post as a failure (#fail, #customerservicefail).
    r"|#\w*fail\b",
    re.I,
)

# Sarcasm: praise words around a failure ("thanks for losing my bag", "great. just great",
# "love waiting 2 hours"). Such a post reads positive to the sentiment head, so without this
# cue a complaint worded as thanks is filed as praise. Each phrase is kept narrow: "thank you
# so much for" is real thanks, hence no "so much for".
SARCASM = re.compile(
    r"\bthanks? (?:you )?(?:so much |a lot )?for (?:nothing|ruining|losing|leaving|making me|"
    r"the (?:lack|delay|wait)|cancel|delay|keeping (?:me|us) (?:waiting|on hold)|stranding|"
    r"wasting|(?:not|never) (?:getting|letting|helping|answering|responding|replying|caring|"
    r"telling|giving|calling|holding|waiting|fixing|sending))"
    r"|\byeah right\b|#not\b|\.{2,}\s*not!"
    r"|\b(?:great|perfect|awesome|wonderful|fantastic|nice)[.!]+\s*just (?:great|perfect|"
    r"awesome|wonderful|fantastic)\b"
    r"|\b(?:love|loving|enjoy|enjoying|nothing like|nothing better than) (?:waiting|sitting|"
    r"being stuck|standing|spending|sleeping)\b",
    re.I,
)

# Promotion, bots and scams (high precision: each was checked on the shipped tweets; hashtags
# and phrases of giveaways, paid posts, "earn points" bots and get-rich pitches).
SPAM = re.compile(
    r"#(?:giveaway|\w+giveaway|instagc|sweepstakes?|contest|ad|gotitfree|shamelessplug)\b"
    r"|\b(?:giveaway|click here|follow back|promo code|check out my|dm me for|enter to win|"
    r"chance to win|entered (?:a|for a chance|to win)|earned \d+ points?|win an? (?:free|brand)|"
    r"free (?:cash|followers|gift|iphone)|sign up (?:now|here)|\d{3,}% (?:gains|profit|returns)|"
    r"crypto signals)\b",
    re.I,
)

# A retweet or a bare link/mention: nothing was said to the organisation.
NO_WORDS = re.compile(r"^\s*(?:(?:RT\s+)?@\w+:?\s*|https?://\S+\s*)+$", re.I)


def customer_cues(text: str) -> frozenset[str]:
    """Which of "complaint", "sarcasm", "question", "request" the wording of `text` shows
    (sarcasm comes with "complaint": it is a complaint worded as praise)."""
    found = set()
    if SARCASM.search(text):
        found |= {"complaint", "sarcasm"}
    if COMPLAINT.search(text):
        found.add("complaint")
    if QUESTION.search(text):
        found.add("question")
    if REQUEST.search(text):
        found.add("request")
    return frozenset(found)


def looks_like_spam(text: str) -> bool:
    """Promotion, a bot or a scam by the high-precision rules, or a post with no words."""
    return bool(SPAM.search(text) or NO_WORDS.match(text))
