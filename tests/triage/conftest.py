"""Triage fixtures: a private model directory, small training files, fresh model caches."""

import csv
from collections import defaultdict

import pytest

from triage.datasets import DATA_DIR
from triage.store import forget_loaded_models


@pytest.fixture(autouse=True)
def fresh_models(settings, tmp_path):
    """Each test starts on the shipped defaults with its own model directory."""
    settings.TRIAGE_MODEL_DIR = tmp_path / "models"
    forget_loaded_models()
    yield
    forget_loaded_models()


def write_csv(path, rows, header=("text", "label")):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def small_intent_csv(tmp_path):
    """30 real examples each of four intents from the shipped training split: trains in <1 s."""
    wanted = {"complaint", "other", "question", "compliment"}
    by_label = defaultdict(list)
    with (DATA_DIR / "intent_train.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["label"] in wanted and len(by_label[row["label"]]) < 30:
                by_label[row["label"]].append((row["text"], row["label"]))
    rows = [row for label in sorted(by_label) for row in by_label[label]]
    return write_csv(tmp_path / "intent_small.csv", rows)
