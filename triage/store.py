"""Where trained classifiers live and which one each worker uses.

Trained models are joblib files in settings.TRIAGE_MODEL_DIR with a TriageModel row each.
When no model is active for a task, the shipped default (triage/data/models/<task>.joblib,
trained on the shipped data by `triage_train --ship`) is used, so a fresh install triages
without training anything. If that pickle was written by another scikit-learn version, the
default is retrained from the shipped CSVs at first use instead (a few seconds per process).

Reload without restart: each process keeps the loaded pipeline with its version. Before every
classification it asks the cache which version is active (one cache read; the database is
asked at most every TRIAGE_MODEL_CHECK_SECONDS), and loads the new file when the version
changed. Activating a model writes the cache at once, so with Redis every worker switches on
its next post.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from sklearn.pipeline import Pipeline

from .decisions import LABEL_SHARES
from .inference import Predictor, predictor_for
from .models import TriageModel

logger = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "models"
SHIPPED = "shipped"


@dataclass(frozen=True)
class LoadedModel:
    task: str
    version: str  # the model that classifies
    pipeline: Pipeline
    labels: list[str]
    threshold_precision: dict[str, Any] = field(default_factory=dict)
    # The active version this stands in for, when that one could not be loaded.
    standing_in_for: str = ""

    @property
    def active_version(self) -> str:
        return self.standing_in_for or self.version

    @functools.cached_property
    def _predictor(self) -> Predictor:
        return predictor_for(self.pipeline)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """`pipeline.predict_proba(texts)`, without scikit-learn's validation on every call
        when the pipeline can be compiled (triage.inference); columns follow `classes`."""
        return self._predictor(texts)

    @property
    def classes(self) -> list[str]:
        return [str(label) for label in self.pipeline.classes_]

    @property
    def label_shares(self) -> dict[str, float] | None:
        """The training data's share of each label, where training recorded it (sentiment)."""
        return getattr(self.pipeline, LABEL_SHARES, None)


_loaded: dict[str, LoadedModel] = {}
_lock = threading.Lock()


def _cache_key(task: str) -> str:
    return f"triage:active-model:{task}"


def model_dir() -> Path:
    return Path(settings.TRIAGE_MODEL_DIR)


def save_pipeline(pipeline: Pipeline, *, path: Path) -> None:
    # The vectorisers remember every term they dropped (`stop_words_`), only for
    # introspection; dropping it shrinks the file several-fold.
    features = pipeline.named_steps.get("features")
    for _, vectoriser in getattr(features, "transformer_list", []):
        if hasattr(vectoriser, "stop_words_"):
            del vectoriser.stop_words_
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, path, compress=3)


def active_versions(tasks: Sequence[str]) -> dict[str, str]:
    """The active model's version (or SHIPPED) for each task: one cache read for them all,
    cheap enough to call per batch of posts."""
    keys = {task: _cache_key(task) for task in tasks}
    try:
        cached = cache.get_many(list(keys.values()))
    except Exception:  # a cache outage must not stop triage; the database still knows
        logger.warning("Cache unavailable; asking the database for the active models")
        cached = {}
    versions = {task: cached[key] for task, key in keys.items() if cached.get(key) is not None}
    missing = [task for task in tasks if task not in versions]
    if missing:
        active = TriageModel.objects.filter(task__in=missing, is_active=True)
        for task, version in active.values_list("task", "version"):
            versions.setdefault(task, version)  # the newest, should two ever be active
        for task in missing:
            versions.setdefault(task, SHIPPED)
        try:
            cache.set_many(
                {keys[task]: versions[task] for task in missing},
                settings.TRIAGE_MODEL_CHECK_SECONDS,
            )
        except Exception:
            logger.warning("Cache unavailable; the active models are not cached")
    return versions


def active_version(task: str) -> str:
    """The active model's version for `task`, or SHIPPED; cheap enough to call per post."""
    return active_versions([task])[task]


def activate_model(*, model_id: int) -> TriageModel:
    """Make one trained model the active one for its task; workers switch without restart."""
    with transaction.atomic():
        model = TriageModel.objects.select_for_update().get(pk=model_id)
        TriageModel.objects.filter(task=model.task, is_active=True).exclude(pk=model.pk).update(
            is_active=False
        )
        if not model.is_active:
            model.is_active = True
            model.save(update_fields=["is_active"])
        transaction.on_commit(
            lambda: cache.set(
                _cache_key(model.task), model.version, settings.TRIAGE_MODEL_CHECK_SECONDS
            )
        )
    return model


def deactivate_models(*, task: str) -> None:
    """Go back to the shipped default for `task`."""
    with transaction.atomic():
        TriageModel.objects.filter(task=task, is_active=True).update(is_active=False)
        transaction.on_commit(lambda: cache.delete(_cache_key(task)))


def current_models(tasks: Sequence[str]) -> dict[str, LoadedModel]:
    """The pipeline to classify with for each task, reloaded when another model became
    active; the active versions are read in one cache round trip."""
    versions = active_versions(tasks)
    return {task: _loaded_model(task, versions[task]) for task in tasks}


def current_model(task: str) -> LoadedModel:
    """The pipeline to classify with, reloaded when another model became active."""
    return _loaded_model(task, active_version(task))


def _loaded_model(task: str, version: str) -> LoadedModel:
    loaded = _loaded.get(task)
    if loaded is not None and loaded.active_version == version:
        return loaded
    with _lock:
        loaded = _loaded.get(task)
        if loaded is None or loaded.active_version != version:
            loaded = load_version(task, version)
            _loaded[task] = loaded
            logger.info("Triage now uses %s model %s", task, loaded.version)
    return loaded


def load_version(task: str, version: str) -> LoadedModel:
    if version != SHIPPED:
        record = TriageModel.objects.filter(task=task, version=version).first()
        if record is not None:
            try:
                pipeline = joblib.load(model_dir() / record.file_name)
            except (OSError, ValueError, EOFError) as error:
                logger.error(
                    "Cannot load %s model %s (%s); using the shipped default", task, version, error
                )
            else:
                return LoadedModel(
                    task, version, pipeline, record.labels, record.threshold_precision
                )
        # Remember the substitution so the missing file is not retried on every post.
        return replace(load_shipped(task), standing_in_for=version)
    return load_shipped(task)


def shipped_metadata(task: str) -> dict[str, Any]:
    path = SHIPPED_DIR / f"{task}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


@functools.cache
def load_shipped(task: str) -> LoadedModel:
    """The default model shipped with Parley for `task` (read once per process)."""
    meta = shipped_metadata(task)
    pipeline = None
    if meta.get("sklearn_version") == sklearn.__version__:
        try:
            pipeline = joblib.load(SHIPPED_DIR / f"{task}.joblib")
        except (OSError, ValueError, EOFError, AttributeError) as error:
            logger.warning("Cannot load the shipped %s model: %s", task, error)
    else:
        # Pickles are only safe with the scikit-learn version that wrote them.
        logger.warning(
            "The shipped %s model was built with scikit-learn %s, this is %s",
            task,
            meta.get("sklearn_version"),
            sklearn.__version__,
        )
    if pipeline is None:
        pipeline = _train_shipped(task)
    return LoadedModel(
        task, SHIPPED, pipeline, meta.get("labels", []), meta.get("threshold_precision", {})
    )


def _train_shipped(task: str) -> Pipeline:
    """Fit the default model from the shipped training split (seconds, once per process)."""
    from .datasets import DATA_DIR, read_labelled_csv
    from .features import build_pipeline

    logger.warning("Training the default %s model from the shipped data", task)
    examples = read_labelled_csv(DATA_DIR / f"{task}_train.csv", task=task)
    pipeline = build_pipeline(task=task).fit(examples.texts, examples.labels)
    record_label_shares(pipeline, task=task, labels=examples.labels)
    return pipeline


def record_label_shares(pipeline: Pipeline, *, task: str, labels: Sequence[str]) -> None:
    """Keep the training label shares on a sentiment pipeline (triage.decisions reads them)."""
    if task == "sentiment":
        setattr(
            pipeline,
            LABEL_SHARES,
            {label: labels.count(label) / len(labels) for label in sorted(set(labels))},
        )


def threshold_table(task: str) -> dict[str, Any]:
    """Held-out precision per label and threshold of the active model (for the admin)."""
    version = active_version(task)
    if version != SHIPPED:
        record = TriageModel.objects.filter(version=version).first()
        if record is not None:
            return record.threshold_precision
    return shipped_metadata(task).get("threshold_precision", {})


def forget_loaded_models() -> None:
    """Drop the in-process models and the cached active versions (tests, admin actions)."""
    _loaded.clear()
    for task in ("intent", "sentiment"):
        cache.delete(_cache_key(task))
