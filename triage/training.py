"""Training and evaluating the triage classifiers.

`train_model` holds out a stratified 20% of the given data (or, with `holdout`, uses a separate
held-out file and fits on all of `data`), fits, and stores the fitted model with its held-out
metrics and the precision of each confidence threshold (which the auto-response admin shows).
The stored model is exactly the one measured: it is never refit on the held-out part, so its
numbers are honest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from django.db import transaction
from django.utils import timezone
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from core.models import Intent

from .datasets import DatasetError, LabelledTexts, read_labelled_csv
from .decisions import LABEL_SHARES, decide_intent, decide_sentiment
from .features import build_pipeline
from .inference import predictor_for
from .models import TriageFeedback, TriageModel
from .store import (
    SHIPPED_DIR,
    activate_model,
    current_model,
    load_shipped,
    load_version,
    model_dir,
    record_label_shares,
    save_pipeline,
)

HOLDOUT_SIZE = 0.2
SEED = 7
TIMING_SAMPLE = 300
THRESHOLDS = [round(0.30 + 0.05 * step, 2) for step in range(14)]  # 0.30 … 0.95

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainingResult:
    version: str
    metrics: dict[str, Any]
    training_size: int
    feedback_examples: int
    model: TriageModel | None


def feedback_examples(task: str) -> LabelledTexts:
    """Agents' verdicts on `task` as labelled examples (post text, agent's label)."""
    rows = TriageFeedback.objects.filter(field=task).values_list("post__text", "label")
    texts, labels = [], []
    for text, label in rows:
        texts.append(text)
        labels.append(label)
    return LabelledTexts(texts, labels)


def training_set(
    data: Path | str,
    *,
    task: str,
    text_col: str = "text",
    label_col: str = "label",
    include_feedback: bool = False,
) -> tuple[LabelledTexts, int]:
    """The examples the next model learns from, and how many came from agents."""
    base = read_labelled_csv(data, task=task, text_col=text_col, label_col=label_col)
    if len(set(base.labels)) < 2:
        raise DatasetError(f"{data}: only one label ({base.labels[0]!r}); a classifier needs two.")
    if not include_feedback:
        return base, 0
    extra = feedback_examples(task)
    return (
        LabelledTexts(base.texts + extra.texts, base.labels + extra.labels),
        len(extra.texts),
    )


def train_model(
    *,
    task: str,
    data: Path | str,
    text_col: str = "text",
    label_col: str = "label",
    include_feedback: bool = False,
    holdout: Path | str | None = None,
    activate: bool = False,
    ship: bool = False,
    progress: Progress = lambda step: None,
) -> TrainingResult:
    """Train, measure and store a model for `task`. Bad data raises DatasetError, saving nothing.

    `ship` writes the shipped default (triage/data/models) instead of a versioned model.
    """
    progress("reading data")
    examples, from_feedback = training_set(
        data, task=task, text_col=text_col, label_col=label_col, include_feedback=include_feedback
    )
    if holdout is None:
        progress(f"holding out {HOLDOUT_SIZE:.0%} of {len(examples.texts)} examples")
        train_texts, test_texts, train_labels, test_labels = _split(examples)
    else:
        progress(f"reading held-out data {holdout}")
        held_out = read_labelled_csv(holdout, task=task, text_col=text_col, label_col=label_col)
        train_texts, train_labels = examples.texts, examples.labels
        test_texts, test_labels = held_out.texts, held_out.labels
    progress(f"fitting on {len(train_texts)} examples")
    pipeline = build_pipeline(task=task)
    try:
        pipeline.fit(train_texts, train_labels)
    except ValueError as error:
        # Calibration needs a few examples of every label in each fold.
        raise DatasetError(f"Cannot train on this data: {error}") from error
    record_label_shares(pipeline, task=task, labels=train_labels)
    progress(f"measuring on {len(test_texts)} held-out examples")
    metrics = measure(pipeline, test_texts, test_labels, decide=decider_for(task, shipped=ship))
    thresholds = threshold_precision(pipeline, test_texts, test_labels)
    labels = [str(label) for label in pipeline.classes_]
    version = f"{task}-{timezone.now():%Y%m%d-%H%M%S-%f}"
    progress("saving")
    if ship:
        save_pipeline(pipeline, path=SHIPPED_DIR / f"{task}.joblib")
        meta = {
            "version": f"shipped-{version}",
            "labels": labels,
            "metrics": metrics,
            "threshold_precision": thresholds,
            "training_size": len(train_texts),
            "data_source": str(data),
            "held_out": str(holdout) if holdout else f"{HOLDOUT_SIZE:.0%} of data_source",
            "sklearn_version": sklearn.__version__,
        }
        (SHIPPED_DIR / f"{task}.json").write_text(json.dumps(meta, indent=1) + "\n")
        return TrainingResult(version, metrics, len(train_texts), from_feedback, None)
    file_name = f"{version}.joblib"
    save_pipeline(pipeline, path=model_dir() / file_name)
    with transaction.atomic():
        model = TriageModel.objects.create(
            task=task,
            version=version,
            file_name=file_name,
            labels=labels,
            metrics=metrics,
            threshold_precision=thresholds,
            training_size=len(train_texts),
            feedback_examples=from_feedback,
            data_source=str(data)[:300],
        )
        if activate:
            model = activate_model(model_id=model.pk)
    return TrainingResult(version, metrics, len(train_texts), from_feedback, model)


def _split(examples: LabelledTexts):
    try:
        return train_test_split(
            examples.texts,
            examples.labels,
            test_size=HOLDOUT_SIZE,
            random_state=SEED,
            stratify=examples.labels,
        )
    except ValueError as error:
        raise DatasetError(
            f"Too few examples to hold out a stratified test set ({error}); "
            "every label needs at least 2 examples, ideally dozens."
        ) from error


Decide = Callable[[Sequence[str], np.ndarray, list[str]], list[str]]


def intent_decider(*, shipped: bool = False) -> Decide:
    """The intents agents see (triage.decisions) from an intent model's probabilities, with
    the active (or, for a shipped model, the shipped) sentiment model's reading of each post,
    as triage does it."""
    sentiment = load_shipped("sentiment") if shipped else current_model("sentiment")

    def decide(texts: Sequence[str], probabilities: np.ndarray, classes: list[str]) -> list[str]:
        sentiments = sentiment.predict_proba(texts)
        sentiment_classes = sentiment.classes
        return [
            decide_intent(
                text,
                dict(zip(classes, row.tolist(), strict=True)),
                sentiment=decide_sentiment(
                    dict(zip(sentiment_classes, sentiment_row.tolist(), strict=True)),
                    sentiment.label_shares,
                )[0],
            ).intent
            for text, row, sentiment_row in zip(texts, probabilities, sentiments, strict=True)
        ]

    return decide


def _sentiment_decider(shares: dict[str, float]) -> Decide:
    def decide(texts: Sequence[str], probabilities: np.ndarray, classes: list[str]) -> list[str]:
        return [
            decide_sentiment(dict(zip(classes, row.tolist(), strict=True)), shares)[0]
            for row in probabilities
        ]

    return decide


def decider_for(task: str, *, shipped: bool = False) -> Decide | None:
    return intent_decider(shipped=shipped) if task == "intent" else None


def measure(
    pipeline: Pipeline, texts: list[str], labels: list[str], *, decide: Decide | None = None
) -> dict[str, Any]:
    """What an agent would see on these labelled posts: accuracy, macro_f1, per-class
    precision/recall/f1, the confusion matrix, the share of each true class tagged "Spam / no
    reply needed", and the cost: ms per post in one batch the way triage computes it
    (compiled predictor, plus `decide`), and scikit-learn's one post at a time (on up to 300).

    With `decide` (intent: triage.decisions), the labels are the decided ones; the model's own
    argmax is reported apart under "model_only".
    """
    predictor = predictor_for(pipeline)  # compiled (and checked) once, as at model load
    classes = [str(label) for label in pipeline.classes_]
    started = time.perf_counter()
    probabilities = predictor(texts)
    model_predicted = [classes[index] for index in probabilities.argmax(axis=1)]
    shares = getattr(pipeline, LABEL_SHARES, None)
    if decide is None and shares:
        decide = _sentiment_decider(shares)
    predicted = decide(texts, probabilities, classes) if decide else model_predicted
    batch_seconds = time.perf_counter() - started
    # The ingestion path classifies one post per task: time that too, on a sample.
    sample = texts[:TIMING_SAMPLE]
    started = time.perf_counter()
    for text in sample:
        pipeline.predict_proba([text])
    single_seconds = time.perf_counter() - started
    label_set = sorted(set(labels) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=label_set, zero_division=0
    )
    report: dict[str, Any] = {
        "n": len(texts),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(float(f1.mean()), 4),
        "macro_recall": round(float(recall.mean()), 4),
        "per_class": {
            label: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(label_set)
        },
        "confusion_matrix": {
            "labels": label_set,
            "rows_true_columns_predicted": confusion_matrix(
                labels, predicted, labels=label_set
            ).tolist(),
        },
        "mean_ms_per_post": round(1000 * single_seconds / max(len(sample), 1), 4),
        "batch_ms_per_post": round(1000 * batch_seconds / max(len(texts), 1), 4),
    }
    if Intent.SPAM in classes or Intent.SPAM in labels:
        report["share_tagged_spam_by_true_class"] = {
            label: round(
                sum(p == Intent.SPAM for t, p in zip(labels, predicted, strict=True) if t == label)
                / labels.count(label),
                4,
            )
            for label in sorted(set(labels))
        }
    if decide:
        _, _, model_f1, _ = precision_recall_fscore_support(
            labels, model_predicted, labels=label_set, zero_division=0
        )
        report["model_only"] = {
            "accuracy": round(float(accuracy_score(labels, model_predicted)), 4),
            "macro_f1": round(float(model_f1.mean()), 4),
        }
    return report


def threshold_precision(
    pipeline: Pipeline, texts: list[str], labels: list[str]
) -> dict[str, list[dict[str, float]]]:
    """For each label and threshold: precision of the predictions of that label whose
    probability is at least the threshold, and how many held-out posts that covers."""
    probabilities = pipeline.predict_proba(texts)
    classes = [str(label) for label in pipeline.classes_]
    best = probabilities.argmax(axis=1)
    table: dict[str, list[dict[str, float]]] = {}
    for index, label in enumerate(classes):
        rows = []
        for threshold in THRESHOLDS:
            chosen = [
                truth
                for truth, top, row in zip(labels, best, probabilities, strict=True)
                if top == index and row[index] >= threshold
            ]
            rows.append(
                {
                    "threshold": threshold,
                    "predicted": len(chosen),
                    "precision": round(sum(t == label for t in chosen) / len(chosen), 4)
                    if chosen
                    else None,
                }
            )
        table[label] = rows
    return table


def precision_at(table: dict[str, Any], *, label: str, threshold: float) -> dict[str, Any] | None:
    """The measured row for the highest listed threshold not above `threshold`."""
    rows = [row for row in table.get(label, []) if row["threshold"] <= threshold + 1e-9]
    return rows[-1] if rows else None


def evaluate_model(
    *,
    task: str,
    data: Path | str,
    version: str | None = None,
    text_col: str = "text",
    label_col: str = "label",
) -> dict[str, Any]:
    """Measure a stored model (default: the active one) on a labelled CSV."""
    examples = read_labelled_csv(data, task=task, text_col=text_col, label_col=label_col)
    if version:
        record = TriageModel.objects.filter(task=task, version=version).first()
        if record is None:
            raise DatasetError(f"No {task} model with version {version!r}.")

        loaded = load_version(task, record.version)
    else:
        loaded = current_model(task)
    result = measure(loaded.pipeline, examples.texts, examples.labels, decide=decider_for(task))
    return {"task": task, "model": loaded.version, "data": str(data), **result}
