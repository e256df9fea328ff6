"""Score the shipped triage models on the public evaluation sets of triage/data/README.md.

Those sets cannot be shipped (the airline set is CC BY-NC-SA; TweetEval's validation split is
held out), so each session had to rebuild this measurement; this script is it, reading the
files from wherever you keep them and printing the "Results" table's figures as JSON:

- Twitter US Airline Sentiment (`Tweets.csv`, the Kaggle / Figure Eight release): distinct
  texts, each under its first label; complaints = `negative` with a `negativereason` other
  than "Can't Tell", praise = `positive`; sentiment macro-recall on every distinct text;
- TweetEval sentiment validation (`val_text.txt`, `val_labels.txt`: 0/1/2 = neg/neu/pos);
- the shipped Banking77 test queries and the complaints data's held-out split.

The tags are triage's: both shipped heads' probabilities, `decide_sentiment`, then
`decide_intent`, as `triage.services.classify_texts` does for a post without author signals
(no database needed).

    .venv/bin/python scripts/triage_public_eval.py --airline PATH/Tweets.csv \\
        --tweeteval-val PATH/val_text.txt PATH/val_labels.txt
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parley.settings")

import django  # noqa: E402

django.setup()

from sklearn.metrics import recall_score, roc_auc_score  # noqa: E402

from triage.decisions import decide_intent, decide_sentiment  # noqa: E402
from triage.inference import shared_analysis  # noqa: E402
from triage.store import load_shipped  # noqa: E402

DATA_DIR = REPO_ROOT / "triage" / "data"
SENTIMENTS = ["negative", "neutral", "positive"]
BATCH = 500


def tag(texts: Sequence[str]) -> list[tuple[str, str, float]]:
    """(intent, sentiment, the intent model's complaint probability) for each text."""
    intent_model, sentiment_model = load_shipped("intent"), load_shipped("sentiment")
    tags = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        with shared_analysis():
            intents = intent_model.predict_proba(batch)
            sentiments = sentiment_model.predict_proba(batch)
        for text, intent_row, sentiment_row in zip(batch, intents, sentiments, strict=True):
            sentiment, _ = decide_sentiment(
                dict(zip(sentiment_model.classes, sentiment_row.tolist(), strict=True)),
                sentiment_model.label_shares,
            )
            probabilities = dict(zip(intent_model.classes, intent_row.tolist(), strict=True))
            intent = decide_intent(text, probabilities, sentiment=sentiment).intent
            tags.append((intent, sentiment, probabilities.get("complaint", 0.0)))
    return tags


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def airline_figures(rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The airline rows of the Results table, from `Tweets.csv`'s rows."""
    first: dict[str, dict[str, str]] = {}
    for row in rows:
        first.setdefault(row["text"], row)
    texts = list(first)
    tags = dict(zip(texts, tag(texts), strict=True))
    complaints = [
        text
        for text, row in first.items()
        if row["airline_sentiment"] == "negative"
        and row.get("negativereason", "") not in ("", "Can't Tell")
    ]
    praise = [text for text, row in first.items() if row["airline_sentiment"] == "positive"]
    to_complaints = Counter(tags[text][0] for text in complaints)
    to_praise = Counter(tags[text][0] for text in praise)
    found, false_alarms = to_complaints["complaint"], to_praise["complaint"]
    gold = [first[text]["airline_sentiment"] for text in texts]
    read = [tags[text][1] for text in texts]
    scores = [tags[text][2] for text in complaints + praise]
    both = complaints and praise
    return {
        "distinct_texts": len(texts),
        "complaints": len(complaints),
        "praise": len(praise),
        "complaint_tagged_spam": _share(to_complaints["spam"], len(complaints)),
        "praise_tagged_spam": _share(to_praise["spam"], len(praise)),
        "praise_tagged_complaint": _share(false_alarms, len(praise)),
        "complaint_recall": _share(found, len(complaints)),
        "complaint_precision": _share(found, found + false_alarms),
        "complaint_probability_roc_auc": round(
            float(roc_auc_score([1] * len(complaints) + [0] * len(praise), scores)), 4
        )
        if both
        else None,
        "complaints_tagged": dict(to_complaints.most_common()),
        "praise_tagged": dict(to_praise.most_common()),
        "sentiment_macro_recall": round(
            float(recall_score(gold, read, labels=SENTIMENTS, average="macro")), 4
        ),
        "sentiment_recall_per_class": dict(
            zip(
                SENTIMENTS,
                (
                    round(float(value), 4)
                    for value in recall_score(gold, read, labels=SENTIMENTS, average=None)
                ),
                strict=True,
            )
        ),
    }


def sentiment_macro_recall(texts: Sequence[str], labels: Sequence[str]) -> float:
    read = [sentiment for _, sentiment, _ in tag(texts)]
    return round(float(recall_score(labels, read, labels=SENTIMENTS, average="macro")), 4)


def _labelled(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def shipped_figures() -> dict[str, Any]:
    """The Banking77 and held-out complaints rows, from the shipped evaluation splits."""
    texts, labels = _labelled(DATA_DIR / "intent_banking77_test.csv")
    banking = [intent for intent, _, _ in tag(texts)]
    texts, labels_held_out = _labelled(DATA_DIR / "intent_test.csv")
    held_out = [intent for intent, _, _ in tag(texts)]
    pairs = list(zip(held_out, labels_held_out, strict=True))
    found = sum(tagged == truth == "complaint" for tagged, truth in pairs)
    return {
        "banking77_question_or_request": _share(
            sum(intent in ("question", "request") for intent in banking), len(banking)
        ),
        "banking77_complaint": _share(banking.count("complaint"), len(banking)),
        "banking77_spam": _share(banking.count("spam"), len(banking)),
        **{
            f"banking77_{label}s_tagged_{label}": _share(
                sum(i == t == label for i, t in zip(banking, labels, strict=True)),
                labels.count(label),
            )
            for label in ("question", "request")
        },
        "held_out_complaints_tagged_spam": sum(
            tagged == "spam" and truth == "complaint" for tagged, truth in pairs
        ),
        "held_out_complaint_precision": _share(found, held_out.count("complaint")),
        "held_out_complaint_recall": _share(found, labels_held_out.count("complaint")),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--airline", type=Path, help="Twitter US Airline Sentiment Tweets.csv")
    parser.add_argument(
        "--tweeteval-val",
        nargs=2,
        type=Path,
        metavar=("TEXT", "LABELS"),
        help="TweetEval sentiment val_text.txt and val_labels.txt",
    )
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.airline:
        with args.airline.open(newline="", encoding="utf-8") as handle:
            figures["airline"] = airline_figures(list(csv.DictReader(handle)))
    if args.tweeteval_val:
        text_path, label_path = args.tweeteval_val
        texts = text_path.read_text(encoding="utf-8").splitlines()
        labels = [SENTIMENTS[int(value)] for value in label_path.read_text().split()]
        figures["tweeteval_val_macro_recall"] = sentiment_macro_recall(texts, labels)
    figures.update(shipped_figures())
    print(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
