"""The compiled predictor gives scikit-learn's probabilities, and anything it cannot compile
keeps scikit-learn's own predict_proba."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from triage.datasets import DATA_DIR, read_labelled_csv
from triage.features import build_pipeline
from triage.inference import NotCompilable, compile_predictor, predictor_for
from triage.store import load_shipped


@pytest.mark.parametrize("task", ["intent", "sentiment"])
def test_compiled_shipped_model_matches_scikit_learn_on_the_held_out_posts(task):
    pipeline = load_shipped(task).pipeline
    texts = read_labelled_csv(DATA_DIR / f"{task}_test.csv", task=task).texts

    compiled = compile_predictor(pipeline)

    np.testing.assert_allclose(compiled(texts), pipeline.predict_proba(texts), rtol=0, atol=1e-9)
    # One post at a time, as a single triage_post asks.
    for text in texts[:20]:
        np.testing.assert_allclose(
            compiled([text]), pipeline.predict_proba([text]), rtol=0, atol=1e-9
        )


def test_compiled_two_label_model_matches_scikit_learn():
    examples = read_labelled_csv(DATA_DIR / "intent_train.csv", task="intent")
    pairs = [
        (text, label)
        for text, label in zip(examples.texts, examples.labels, strict=True)
        if label in {"complaint", "other"}
    ][:120]
    texts = [text for text, _ in pairs]
    pipeline = build_pipeline().fit(texts, [label for _, label in pairs])

    compiled = compile_predictor(pipeline)

    np.testing.assert_allclose(compiled(texts), pipeline.predict_proba(texts), rtol=0, atol=1e-9)


def test_a_pipeline_of_another_shape_keeps_scikit_learns_predict_proba():
    texts = ["love it", "hate it", "great stuff", "awful stuff", "so good", "so bad"]
    labels = ["positive", "negative"] * 3
    pipeline = Pipeline(
        [("features", TfidfVectorizer()), ("classifier", LogisticRegression())]
    ).fit(texts, labels)

    with pytest.raises(NotCompilable):
        compile_predictor(pipeline)
    np.testing.assert_array_equal(predictor_for(pipeline)(texts), pipeline.predict_proba(texts))
