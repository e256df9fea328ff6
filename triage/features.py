"""Text features for social posts, and the scikit-learn pipeline built on them.

Posts are short, noisy and full of platform conventions, so the text is normalised before
vectorising: @mentions and URLs become placeholder tokens (their exact values are noise),
hashtags keep the tag and add the bare word (#outage also counts as "outage"), elongations
("soooo") are squashed, long digit runs become a shape token, and emoji and "?"/"!" survive
as tokens of their own because they carry intent and sentiment.

"n't" becomes " not", so a negation is a word of its own ("does not work").

The model is a union of word (1-2) and character (2-5) n-gram TF-IDF features and a few dense
sentiment-lexicon features (VADER: its reading of words, emoticons and emoji with negation and
intensifiers) feeding a linear SVM calibrated with sigmoid (Platt) scaling over 3 folds. The
lexicon lifted sentiment macro-recall on held-out general tweets from 0.55 to 0.62 and halved
praise read as complaint; C per task was chosen by cross-validation (numbers in
triage/data/README.md). Its coefficients explain each tag.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_DIGITS = re.compile(r"\d{5,}")
# "n't" is a word of its own, "not": "doesn't work" and "does not work" are one phrase,
# "not work", and a negated word keeps its negation in the explanation.
_NOT = re.compile(
    r"\b(ca|wo|sha|ai|do|does|did|is|are|was|were|have|has|had|could|would|should|must|"
    r"need)n['\u2019]?t\b",
    re.I,
)
_NOT_STEMS = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}
# Emoji and pictographs: keep each as a separate token.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")
# Words (with a leading # kept), and any single non-space, non-word character ("?", "!", emoji).
TOKEN_PATTERN = r"(?u)#?\w+|[^\w\s]"


def normalise(text: str) -> str:
    """Rewrite a post so the vectorisers see its meaning, not its platform noise."""
    text = _URL.sub(" httpurl ", text)
    text = _NOT.sub(lambda m: f"{_NOT_STEMS.get(m.group(1).lower(), m.group(1))} not", text)
    text = _MENTION.sub(" @user ", text)
    text = _HASHTAG.sub(lambda m: f" #{m.group(1)} {m.group(1)} ", text)
    text = _ELONGATED.sub(r"\1\1", text)
    text = _DIGITS.sub(" longnumber ", text)
    text = _EMOJI.sub(lambda m: f" {m.group(0)} ", text)
    return text.lower()


@functools.cache
def _vader():
    # Imported and built on first use: loading the lexicon takes a few milliseconds.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


LEXICON_FEATURES = (
    "tone",
    "positive tone",
    "negative tone",
    "share of positive words",
    "share of negative words",
)


def lexicon_row(text: str) -> list[float]:
    """VADER's reading of the post (lexicon valence of words and emoji, with its rules for
    negation, intensifiers, "but", capitals and "!"): compound score, its positive and
    negative parts, and the shares of positive and negative words."""
    scores = _vader().polarity_scores(text)
    compound = scores["compound"]
    return [compound, max(compound, 0.0), max(-compound, 0.0), scores["pos"], scores["neg"]]


def lexicon_words(text: str) -> list[str]:
    """The words of `text` the sentiment lexicon knows (what the lexicon features read)."""
    lexicon = _vader().lexicon
    return [word for word in re.findall(r"[\w']+", text.lower()) if word in lexicon]


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """Dense sentiment-lexicon features (`lexicon_row`) for a FeatureUnion.

    Stateless: fitting learns nothing, so the stored model holds no lexicon; the lexicon
    comes from the vaderSentiment package (MIT licence).
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def fit(self, texts: Sequence[str], y: Sequence[str] | None = None) -> LexiconFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        rows = np.asarray([lexicon_row(text) for text in texts], dtype=np.float64)
        return sp.csr_matrix(rows.reshape(len(texts), len(LEXICON_FEATURES)) * self.scale)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(LEXICON_FEATURES, dtype=object)


# The SVM's C per task, chosen by cross-validation on the shipped training splits (sentiment:
# 3-fold macro-recall; intent: 5-fold complaint average precision and F1 on the human complaint
# labels, 0.5 over 0.25 once GoEmotions praise joined the data; triage/data/README.md); other
# tasks get DEFAULT_C.
DEFAULT_C = 0.25
TASK_C = {"sentiment": 0.1, "intent": 0.5}
# The lexicon features' weight against the thousands of n-gram columns, per task (1 = as
# VADER gives them). Doubling it for sentiment lifted the held-out splits' macro-recall a
# little (triage/data/README.md, "Model choice").
TASK_LEXICON_SCALE = {"sentiment": 2.0}


def build_pipeline(
    *,
    task: str = "",
    c: float | None = None,
    max_features: int = 60_000,
    lexicon: bool = True,
) -> Pipeline:
    """The default text classifier: word + char n-grams (and, with `lexicon`, the
    sentiment-lexicon features) into a calibrated linear SVM; C from TASK_C unless given.

    `max_features` caps each vectoriser's vocabulary so the stored model stays a few MB.
    """
    if c is None:
        c = TASK_C.get(task, DEFAULT_C)
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
        + (
            [("lexicon", LexiconFeatures(scale=TASK_LEXICON_SCALE.get(task, 1.0)))]
            if lexicon
            else []
        )
    )
    classifier = CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced"), cv=3)
    return Pipeline([("features", features), ("classifier", classifier)])


def top_features(pipeline: Pipeline, text: str, label: str, *, limit: int = 5) -> list[str]:
    """The words and phrases of `text` that pushed the model hardest towards `label`.

    For a linear model a feature's contribution is its value times its coefficient for the
    label. Word and word-pair features count for themselves; a character n-gram counts for
    the words of the post it occurs in, shared equally, so the agent sees words, never
    fragments like 'ot '. Punctuation, placeholders (@user, links) and stop-words on their
    own ("not", "the") are never shown: a phrase is shown when it holds a content word
    ("not working").
    """
    features: FeatureUnion = pipeline.named_steps["features"]
    weights = _label_weights(pipeline, label)
    if weights is None:
        return []
    vector = features.transform([text]).tocsr()
    # Building the names is slow (100k+ strings); keep them on the pipeline after first use.
    names = getattr(pipeline, "_feature_names", None)
    if names is None:
        names = features.get_feature_names_out()
        pipeline._feature_names = names
    words = re.findall(TOKEN_PATTERN, normalise(text))
    scores: dict[str, float] = {}
    for value, column in zip(vector.data, vector.indices, strict=True):
        contribution = value * weights[column]
        kind, _, feature = str(names[column]).partition("__")
        if kind == "words":
            scores[feature] = scores.get(feature, 0.0) + contribution
        elif kind == "lexicon":
            owners = lexicon_words(text) or []
            for word in owners:
                scores[word] = scores.get(word, 0.0) + contribution / len(owners)
        elif kind == "chars":
            fragment = feature.strip()
            owners = [word for word in set(words) if fragment and fragment in word]
            for word in owners:
                scores[word] = scores.get(word, 0.0) + contribution / len(owners)
    # A negated word is read with its negation: "not working" carries "working"'s weight too,
    # and "working" alone is not shown (it would say the opposite of the post).
    for phrase in [phrase for phrase in scores if " " in phrase]:
        first, _, second = phrase.partition(" ")
        if first in _NEGATIONS and second in scores:
            scores[phrase] += max(scores.pop(second), 0.0)
    negated = {
        word: f"{before} {word}"
        for before, word in itertools.pairwise(words)
        if before in _NEGATIONS and f"{before} {word}" not in scores
    }
    scores = {negated.get(phrase, phrase): score for phrase, score in scores.items()}
    ranked = sorted(
        ((score, phrase) for phrase, score in scores.items() if score > 0 and _readable(phrase)),
        reverse=True,
    )
    shown: list[str] = []
    used: set[str] = set()
    for _, phrase in ranked:
        if len(shown) >= limit:
            break
        content = {token for token in phrase.split() if token not in ENGLISH_STOP_WORDS}
        # A word already shown, alone or in a phrase ("parcel", "my parcel"), adds nothing.
        if content & used:
            continue
        used |= content
        shown.append(phrase)
    return [f'"{phrase}"' for phrase in shown]


_NEGATIONS = {"not", "no", "never", "nothing", "nobody", "cannot", "without"}


def _label_weights(pipeline: Pipeline, label: str):
    classifier: CalibratedClassifierCV = pipeline.named_steps["classifier"]
    classes = list(classifier.classes_)
    if label not in classes:
        return None
    # One SVM per calibration fold: their mean coefficients are the model's weights.
    coef = sum(c.estimator.coef_ for c in classifier.calibrated_classifiers_) / len(
        classifier.calibrated_classifiers_
    )
    if len(classes) == 2:
        # A binary SVM keeps one coefficient row, pointing towards the second class.
        return coef[0] * (1.0 if classes.index(label) == 1 else -1.0)
    return coef[classes.index(label)]


# What normalise() puts in place of mentions, links and long numbers.
_PLACEHOLDERS = {"@user", "user", "httpurl", "longnumber"}


def _readable(phrase: str) -> bool:
    """A phrase an agent can read as evidence: a content word, no bare punctuation."""
    tokens = phrase.split()
    if not tokens or any(not _is_word(token) for token in tokens):
        return False
    return any(
        token.lstrip("#") not in ENGLISH_STOP_WORDS and token not in _PLACEHOLDERS
        for token in tokens
    )


def _is_word(token: str) -> bool:
    return bool(re.fullmatch(r"#?\w+", token) or _EMOJI.fullmatch(token)) and not token.isdigit()
