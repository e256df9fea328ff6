"""Class probabilities from a trained triage pipeline without scikit-learn's fixed cost per
call, so one post costs about what its arithmetic costs.

For the pipeline `features.build_pipeline` makes (word + char TF-IDF, and the dense
sentiment-lexicon features, into a linear SVM
calibrated with Platt sigmoids over 3 folds), `pipeline.predict_proba` validates its input at
every step of every call: each vectoriser, the TF-IDF weighting, the normalisation, and each
fold's SVM and per-class calibrator (21 validations for a 7-class head). For one post that is
~90% of the time; the arithmetic is a vocabulary lookup and one small sparse product per fold.

`compile_predictor` reads the fitted parameters once and does that arithmetic in the order
scikit-learn does it: the vectorisers' own counting, sublinear tf, idf, l2 rows, each fold's
`X @ coef.T + intercept`, `expit(-(a * score + b))` per class, the per-fold normalisation and
the mean over folds. It refuses any other pipeline shape, and any pipeline whose compiled
probabilities differ from `pipeline.predict_proba` on a check sample (a scikit-learn upgrade
that changed the arithmetic); those keep using `pipeline.predict_proba`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from .features import LEXICON_FEATURES, LexiconFeatures, lexicon_row

logger = logging.getLogger(__name__)

Predictor = Callable[[Sequence[str]], np.ndarray]

# Posts unlike each other (empty, emoji, URL, mentions, numbers, another language) to check a
# compiled predictor against scikit-learn before it is trusted.
CHECK_SAMPLE = [
    "",
    "@brand your app is down again, can't log in #outage https://t.co/x1",
    "thanks so much for the quick help!! 😍😍",
    "where is order 4111 1111 1111 1112? ordered on Monday",
    "WIN a FREE iPhone now www.example.com/win",
    "¿dónde está mi pedido? llevo tres semanas esperando",
]
# Equal up to summation order: the compiled path and scikit-learn add the same terms.
CHECK_TOLERANCE = 1e-9


class NotCompilable(ValueError):
    """The pipeline is not the shape `compile_predictor` knows how to compute."""


# The posts of a batch are analysed (normalised, tokenised, cut into n-grams) once for all
# heads inside `shared_analysis()`: the intent and sentiment vectorisers are built alike, so
# their analysers agree and only their vocabularies differ. The analysis is most of what
# classifying a post costs. Nothing is kept beyond the block.
_ANALYSERS: dict[tuple, Callable[[str], list[str]]] = {}
_shared: ContextVar[dict | None] = ContextVar("triage_shared_analysis", default=None)


@contextmanager
def shared_analysis() -> Iterator[None]:
    """Within the block, each text is analysed once per kind of analyser, whatever the
    number of models that classify it."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _analysed(key: tuple, text: str) -> list[str]:
    memo = _shared.get()
    if memo is None:
        return _ANALYSERS[key](text)
    if (key, text) not in memo:
        memo[key, text] = _ANALYSERS[key](text)
    return memo[key, text]


def _analysis_key(vectoriser: CountVectorizer) -> tuple:
    """What decides a vectoriser's analysis (not its vocabulary)."""
    params = vectoriser.get_params()
    return tuple(
        (name, repr(params[name]) if isinstance(params[name], list | set | dict) else params[name])
        for name in sorted(_ANALYSIS_PARAMS)
    )


_ANALYSIS_PARAMS = (
    "analyzer",
    "decode_error",
    "encoding",
    "input",
    "lowercase",
    "ngram_range",
    "preprocessor",
    "stop_words",
    "strip_accents",
    "token_pattern",
    "tokenizer",
)


def _vectoriser(vectoriser: TfidfVectorizer) -> Callable[[Sequence[str]], sp.csr_array]:
    if type(vectoriser) is not TfidfVectorizer or vectoriser.norm not in ("l2", None):
        raise NotCompilable(f"not an l2 or unnormalised TfidfVectorizer: {vectoriser!r}")
    weighting = vectoriser._tfidf
    idf = weighting.idf_ if weighting.use_idf else None
    sublinear = weighting.sublinear_tf
    normalise = vectoriser.norm == "l2"
    vocabulary = vectoriser.vocabulary_
    key = _analysis_key(vectoriser)
    _ANALYSERS.setdefault(key, vectoriser.build_analyzer())

    def transform(texts: Sequence[str]) -> sp.csr_array:
        # CountVectorizer's counting (its analyser, its vocabulary), with the analysis shared
        # and the counting left to scipy: every n-gram's column, one row id each, summed
        # when the coordinates become a CSR matrix.
        lookup = vocabulary.get
        columns: list[int] = []
        rows: list[int] = []
        for row, text in enumerate(texts):
            found = [lookup(feature, -1) for feature in _analysed(key, text)]
            columns += found
            rows += [row] * len(found)
        column_array = np.asarray(columns, dtype=np.int64)
        known = column_array >= 0
        counts = sp.coo_array(
            (
                np.ones(int(known.sum()), dtype=np.float64),
                (np.asarray(rows, dtype=np.int64)[known], column_array[known]),
            ),
            shape=(len(texts), len(vocabulary)),
        ).tocsr()
        counts.sort_indices()
        if sublinear:
            np.log(counts.data, counts.data)
            counts.data += 1.0
        if idf is not None:
            counts.data *= idf[counts.indices]
        if normalise:
            inplace_csr_row_normalize_l2(counts)
        return counts

    return transform


def _lexicon(transformer: LexiconFeatures) -> Callable[[Sequence[str]], sp.csr_array]:
    # LexiconFeatures is Parley's own and validates nothing: the same rows, computed once
    # per text for all heads within shared_analysis().
    key = ("lexicon",)
    _ANALYSERS.setdefault(key, lexicon_row)
    scale = transformer.scale
    width = len(LEXICON_FEATURES)

    def transform(texts: Sequence[str]) -> sp.csr_array:
        rows = np.asarray([_analysed(key, text) for text in texts], dtype=np.float64)
        return sp.csr_array(rows.reshape(len(texts), width) * scale)

    return transform


def _part(transformer: object) -> Callable[[Sequence[str]], sp.csr_array]:
    if type(transformer) is LexiconFeatures:
        return _lexicon(transformer)
    return _vectoriser(transformer)


def _features(union: FeatureUnion) -> Callable[[Sequence[str]], sp.csr_array]:
    if type(union) is not FeatureUnion or union.transformer_weights is not None:
        raise NotCompilable("features are not an unweighted FeatureUnion")
    parts = [_part(transformer) for _, transformer in union.transformer_list]

    def transform(texts: Sequence[str]) -> sp.csr_array:
        return sp.hstack([part(texts) for part in parts], format="csr")

    return transform


def _calibrated(classifier: CalibratedClassifierCV) -> Callable[[sp.csr_array], np.ndarray]:
    if type(classifier) is not CalibratedClassifierCV or classifier.method != "sigmoid":
        raise NotCompilable("classifier is not a sigmoid-calibrated CalibratedClassifierCV")
    classes = list(classifier.classes_)
    n_classes = len(classes)
    folds = []
    for fold in classifier.calibrated_classifiers_:
        estimator = fold.estimator
        if not hasattr(estimator, "coef_") or not hasattr(estimator, "intercept_"):
            raise NotCompilable(f"calibrated estimator is not linear: {estimator!r}")
        if any(not hasattr(c, "a_") or not hasattr(c, "b_") for c in fold.calibrators):
            raise NotCompilable("calibrators are not Platt sigmoids")
        columns = [classes.index(label) for label in estimator.classes_]
        if n_classes == 2:
            # A binary SVM scores only the second class; the first is 1 minus it.
            columns = [1]
        folds.append(
            (
                # The transpose is a view: the coefficients are not copied.
                estimator.coef_.T,
                estimator.intercept_,
                columns[: len(fold.calibrators)],
                np.array([c.a_ for c in fold.calibrators]),
                np.array([c.b_ for c in fold.calibrators]),
            )
        )

    def predict_proba(features: sp.csr_array) -> np.ndarray:
        mean = np.zeros((features.shape[0], n_classes))
        for coef_t, intercept, columns, a, b in folds:
            scores = features @ coef_t + intercept
            proba = np.zeros((features.shape[0], n_classes))
            proba[:, columns] = expit(-(a * scores + b))
            if n_classes == 2:
                proba[:, 0] = 1.0 - proba[:, 1]
            else:
                total = proba.sum(axis=1)[:, np.newaxis]
                proba = np.divide(
                    proba, total, out=np.full_like(proba, 1 / n_classes), where=total != 0
                )
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            mean += proba
        mean /= len(folds)
        return mean

    return predict_proba


def compile_predictor(pipeline: Pipeline) -> Predictor:
    """`pipeline.predict_proba` for a list of texts, computed without per-call validation.

    Raises NotCompilable when the pipeline is not the shape this knows, or when its answers
    differ from scikit-learn's on CHECK_SAMPLE.
    """
    if type(pipeline) is not Pipeline or list(pipeline.named_steps) != ["features", "classifier"]:
        raise NotCompilable("not a features → classifier Pipeline")
    features = _features(pipeline.named_steps["features"])
    classifier = _calibrated(pipeline.named_steps["classifier"])

    def predict_proba(texts: Sequence[str]) -> np.ndarray:
        return classifier(features(texts))

    expected = pipeline.predict_proba(CHECK_SAMPLE)
    compiled = predict_proba(CHECK_SAMPLE)
    if compiled.shape != expected.shape or not np.allclose(
        compiled, expected, rtol=0, atol=CHECK_TOLERANCE
    ):
        raise NotCompilable("compiled probabilities differ from scikit-learn's")
    return predict_proba


def predictor_for(pipeline: Pipeline) -> Predictor:
    """The compiled predictor of `pipeline`, or its own predict_proba when it cannot be."""
    try:
        return compile_predictor(pipeline)
    except NotCompilable as reason:
        logger.warning("Triage uses scikit-learn's predict_proba: %s", reason)
    except Exception:  # a new scikit-learn moved an attribute: slower, never wrong
        logger.exception("Cannot compile the triage pipeline; using scikit-learn's")
    return lambda texts: pipeline.predict_proba(list(texts))
