"""scripts/triage_public_eval.py counts the public airline set the way the Results table of
triage/data/README.md says: distinct texts under their first label, complaints only with a
concrete reason, praise = positive."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "triage_public_eval.py"


@pytest.fixture(scope="module")
def public_eval():
    spec = importlib.util.spec_from_file_location("triage_public_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(text, sentiment, reason=""):
    return {"text": text, "airline_sentiment": sentiment, "negativereason": reason}


def test_airline_posts_are_counted_once_under_their_first_label(public_eval):
    figures = public_eval.airline_figures(
        [
            row("@united lost my bag in Denver and nobody can find it", "negative", "Lost Luggage"),
            row("@united lost my bag in Denver and nobody can find it", "positive"),
            row("@united flight 317 cancelled, no one at the desk", "negative", "Cancelled Flight"),
            row("@united what a mess", "negative", "Can't Tell"),
            row("@united thank you, the crew was wonderful!", "positive"),
            row("@united what time does boarding start?", "neutral"),
        ]
    )

    assert (figures["distinct_texts"], figures["complaints"], figures["praise"]) == (5, 2, 1)
    assert figures["complaint_recall"] == 1.0
    assert figures["praise_tagged_complaint"] == 0.0
    assert figures["complaints_tagged"] == {"complaint": 2}
    assert figures["praise_tagged"] == {"compliment": 1}
