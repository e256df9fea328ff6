"""triage_train / triage_evaluate: versioned models with metrics, and bad data refused."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.triage.conftest import write_csv
from triage.models import TriageModel

EVALUATION_KEYS = {
    "accuracy",
    "macro_f1",
    "per_class",
    "confusion_matrix",
    "mean_ms_per_post",
}


def train(path, *extra):
    out, err = StringIO(), StringIO()
    call_command(
        "triage_train", "--data", str(path), "--task", "intent", *extra, stdout=out, stderr=err
    )
    return json.loads(out.getvalue()), err.getvalue()


def test_training_stores_a_versioned_model_with_metrics_and_shows_progress(
    db, small_intent_csv, settings
):
    summary, progress = train(small_intent_csv)

    model = TriageModel.objects.get(version=summary["version"])
    assert model.task == "intent"
    assert model.labels == ["complaint", "compliment", "other", "question"]
    assert model.training_size == 96  # 120 rows minus the 20% held out
    assert 0 <= model.metrics["macro_f1"] <= 1
    assert model.threshold_precision["other"][0]["threshold"] == 0.3
    assert (settings.TRIAGE_MODEL_DIR / model.file_name).is_file()
    assert not model.is_active
    assert "fitting on 96 examples" in progress


def test_evaluate_prints_the_metrics_json_for_a_chosen_version(db, small_intent_csv):
    summary, _ = train(small_intent_csv)
    out = StringIO()

    call_command(
        "triage_evaluate",
        "--data",
        str(small_intent_csv),
        "--task",
        "intent",
        "--model",
        summary["version"],
        stdout=out,
    )

    report = json.loads(out.getvalue())
    assert report.keys() >= EVALUATION_KEYS
    assert report["model"] == summary["version"]
    assert report["n"] == 120
    assert set(report["per_class"]["other"]) == {"precision", "recall", "f1", "support"}
    assert report["confusion_matrix"]["labels"] == ["complaint", "compliment", "other", "question"]


def test_evaluate_defaults_to_the_shipped_model_on_a_fresh_install(db, small_intent_csv):
    out = StringIO()

    call_command("triage_evaluate", "--data", str(small_intent_csv), "--task", "intent", stdout=out)

    assert json.loads(out.getvalue())["model"] == "shipped"


def assert_nothing_saved(settings):
    assert not TriageModel.objects.exists()
    assert not settings.TRIAGE_MODEL_DIR.exists() or not any(settings.TRIAGE_MODEL_DIR.iterdir())


def test_csv_without_the_text_column_is_refused_and_nothing_saved(db, tmp_path, settings):
    path = write_csv(tmp_path / "bad.csv", [("hi", "spam")], header=("body", "label"))

    with pytest.raises(CommandError, match="no 'text' column; columns found: body, label"):
        train(path)
    assert_nothing_saved(settings)


def test_empty_csv_is_refused_and_nothing_saved(db, tmp_path, settings):
    path = tmp_path / "empty.csv"
    path.write_text("")

    with pytest.raises(CommandError, match=r"columns found: none \(the file is empty\)"):
        train(path)
    assert_nothing_saved(settings)


def test_csv_with_only_a_header_is_refused(db, tmp_path, settings):
    path = write_csv(tmp_path / "header.csv", [])

    with pytest.raises(CommandError, match="no labelled rows"):
        train(path)
    assert_nothing_saved(settings)


def test_unknown_labels_are_named_with_their_line_and_nothing_saved(
    db, small_intent_csv, tmp_path, settings
):
    rows = small_intent_csv.read_text().splitlines()[1:]
    path = tmp_path / "unknown.csv"
    path.write_text("\n".join(["text,label", *rows, "meh,angry"]) + "\n")

    with pytest.raises(CommandError, match=r"unknown intent labels 'angry' \(line 122\)"):
        train(path)
    assert_nothing_saved(settings)


def test_custom_column_names_are_used(db, tmp_path, small_intent_csv):
    rows = small_intent_csv.read_text().splitlines()[1:]
    path = tmp_path / "renamed.csv"
    path.write_text("\n".join(["tweet,intent", *rows]) + "\n")

    summary, _ = train(path, "--text-col", "tweet", "--label-col", "intent")

    assert TriageModel.objects.filter(version=summary["version"]).exists()


def test_training_on_a_single_label_is_refused(db, tmp_path, settings):
    path = write_csv(tmp_path / "one.csv", [("@brand help", "complaint")] * 10)

    with pytest.raises(CommandError, match="only one label \\('complaint'\\)"):
        train(path)
    assert_nothing_saved(settings)


def test_evaluating_an_unknown_version_names_it(db, small_intent_csv):
    with pytest.raises(CommandError, match="No intent model with version 'intent-nope'"):
        call_command(
            "triage_evaluate",
            "--data",
            str(small_intent_csv),
            "--task",
            "intent",
            "--model",
            "intent-nope",
            stdout=StringIO(),
        )


def test_train_with_feedback_and_activate_from_the_command_line(
    db, small_intent_csv, default_team, agent, django_capture_on_commit_callbacks
):
    from tests.factories import PostFactory
    from triage.services import record_feedback

    post = PostFactory(intent="complaint", conversation__team=default_team)
    record_feedback(post_id=post.pk, field="intent", label="question", agent=agent)

    with django_capture_on_commit_callbacks(execute=True):
        summary, _ = train(small_intent_csv, "--include-feedback", "--activate")

    assert summary["feedback_examples"] == 1
    assert summary["active"] is True
    assert TriageModel.objects.get(is_active=True).version == summary["version"]


def test_evaluate_reports_what_lands_in_spam_per_true_class_and_the_batch_cost(db, tmp_path):
    path = write_csv(
        tmp_path / "held_out.csv",
        [
            ("@acme my bag was lost in Denver and nobody answers", "complaint"),
            ("@acme the flight was late again, third time", "complaint"),
            ("@acme thank you, the crew was wonderful", "compliment"),
            ("@acme hello there", "other"),
            ("Enter to win a free iPhone #giveaway", "spam"),
        ],
    )
    out = StringIO()

    call_command("triage_evaluate", "--data", str(path), "--task", "intent", stdout=out)

    report = json.loads(out.getvalue())
    assert report["share_tagged_spam_by_true_class"] == {
        "complaint": 0.0,
        "compliment": 0.0,
        "other": 0.0,
        "spam": 1.0,
    }
    assert report["batch_ms_per_post"] > 0
    assert set(report["model_only"]) == {"accuracy", "macro_f1"}


def test_a_trained_sentiment_model_keeps_its_training_label_shares(db, tmp_path):
    from collections import defaultdict

    from triage.datasets import DATA_DIR, read_labelled_csv
    from triage.store import load_version

    shipped = read_labelled_csv(DATA_DIR / "sentiment_train.csv", task="sentiment")
    by_label = defaultdict(list)
    for text, label in zip(shipped.texts, shipped.labels, strict=True):
        if len(by_label[label]) < {"negative": 20, "neutral": 40, "positive": 20}[label]:
            by_label[label].append((text, label))
    rows = [row for label_rows in by_label.values() for row in label_rows]
    path = write_csv(tmp_path / "sentiment.csv", rows)
    out = StringIO()

    call_command("triage_train", "--data", str(path), "--task", "sentiment", stdout=out)

    loaded = load_version("sentiment", json.loads(out.getvalue())["version"])
    assert loaded.label_shares == {"negative": 0.25, "neutral": 0.5, "positive": 0.25}
