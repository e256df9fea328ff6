"""Text features for social posts, and the scikit-learn pipeline built on them.

Posts are short, noisy and full of platform conventions, so the text is normalised before
vectorising: @mentions and URLs become placeholder tokens (their exact values are noise),
hashtags keep the tag and add the bare word (#outage also counts as "outage"), elongations
("soooo") are squashed, long digit runs become a shape token, and emoji and "?"/"!" survive
as tokens of their own because they carry intent and sentiment.

The model is a union of word (1-2) and character (2-5) n-gram TF-IDF features feeding a
linear SVM calibrated with sigmoid (Platt) scaling over 3 folds. Measured against logistic
regression and complement naive Bayes on the shipped held-out splits it had the best macro-F1
on both heads and trains 3-5x faster (numbers in triage/data/README.md); its coefficients
explain each tag.
"""

from __future__ import annotations

import re

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_DIGITS = re.compile(r"\d{5,}")
# Emoji and pictographs: keep each as a separate token.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")
# Words (with a leading # kept), and any single non-space, non-word character ("?", "!", emoji).
TOKEN_PATTERN = r"(?u)#?\w+|[^\w\s]"


def normalise(text: str) -> str:
    """Rewrite a post so the vectorisers see its meaning, not its platform noise."""
    text = _URL.sub(" httpurl ", text)
    text = _MENTION.sub(" @user ", text)
    text = _HASHTAG.sub(lambda m: f" #{m.group(1)} {m.group(1)} ", text)
    text = _ELONGATED.sub(r"\1\1", text)
    text = _DIGITS.sub(" longnumber ", text)
    text = _EMOJI.sub(lambda m: f" {m.group(0)} ", text)
    return text.lower()


def build_pipeline(*, c: float = 0.25, max_features: int = 60_000) -> Pipeline:
    """The default text classifier: word + char n-grams into a calibrated linear SVM.

    `max_features` caps each vectoriser's vocabulary so the stored model stays a few MB.
    """
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    preprocessor=normalise,
                    token_pattern=TOKEN_PATTERN,
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=max_features,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=normalise,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=max_features,
                ),
            ),
        ]
    )
    classifier = CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced"), cv=3)
    return Pipeline([("features", features), ("classifier", classifier)])


def top_features(pipeline: Pipeline, text: str, label: str, *, limit: int = 5) -> list[str]:
    """The features of `text` that pushed the model hardest towards `label`.

    For a linear model a feature's contribution is its value times its coefficient for the
    label; the largest positive contributions are the explanation shown to the agent.
    """
    features: FeatureUnion = pipeline.named_steps["features"]
    classifier: CalibratedClassifierCV = pipeline.named_steps["classifier"]
    classes = list(classifier.classes_)
    if label not in classes:
        return []
    vector = features.transform([text]).tocsr()
    # One SVM per calibration fold: their mean coefficients are the model's weights.
    coef = sum(c.estimator.coef_ for c in classifier.calibrated_classifiers_) / len(
        classifier.calibrated_classifiers_
    )
    if len(classes) == 2:
        # A binary SVM keeps one coefficient row, pointing towards the second class.
        sign = 1.0 if classes.index(label) == 1 else -1.0
        weights = coef[0] * sign
    else:
        weights = coef[classes.index(label)]
    # Building the names is slow (100k+ strings); keep them on the pipeline after first use.
    names = getattr(pipeline, "_feature_names", None)
    if names is None:
        names = features.get_feature_names_out()
        pipeline._feature_names = names
    contributions = [
        (vector.data[i] * weights[column], names[column]) for i, column in enumerate(vector.indices)
    ]
    contributions.sort(reverse=True)
    readable = []
    for score, name in contributions:
        if score <= 0 or len(readable) >= limit:
            break
        kind, _, feature = name.partition("__")
        readable.append(f'"{feature.strip()}"' if kind == "words" else f"'{feature}'")
    return readable
