"""Where trained classifiers live and which one each worker uses.

Trained models are joblib files in settings.TRIAGE_MODEL_DIR with a TriageModel row each.
When no model is active for a task, the shipped default (triage/data/models/<task>.joblib,
trained on the shipped data by `triage_train --ship`) is used, so a fresh install triages
without training anything.

Reload without restart: each process keeps the loaded pipeline with its version. Before every
classification it asks the cache which version is active (one cache read; the database is
asked at most every TRIAGE_MODEL_CHECK_SECONDS), and loads the new file when the version
changed. Activating a model writes the cache at once, so with Redis every worker switches on
its next post.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from sklearn.pipeline import Pipeline

from .models import TriageModel

logger = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "models"
SHIPPED = "shipped"


@dataclass(frozen=True)
class LoadedModel:
    task: str
    version: str
    pipeline: Pipeline
    labels: list[str]
    threshold_precision: dict[str, Any] = field(default_factory=dict)


_loaded: dict[str, LoadedModel] = {}
_lock = threading.Lock()


def _cache_key(task: str) -> str:
    return f"triage:active-model:{task}"


def model_dir() -> Path:
    return Path(settings.TRIAGE_MODEL_DIR)


def save_pipeline(pipeline: Pipeline, *, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, path, compress=3)


def active_version(task: str) -> str:
    """The active model's version for `task`, or SHIPPED; cheap enough to call per post."""
    version = cache.get(_cache_key(task))
    if version is None:
        version = (
            TriageModel.objects.filter(task=task, is_active=True)
            .values_list("version", flat=True)
            .first()
        ) or SHIPPED
        cache.set(_cache_key(task), version, settings.TRIAGE_MODEL_CHECK_SECONDS)
    return version


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


def current_model(task: str) -> LoadedModel:
    """The pipeline to classify with, reloaded when another model became active."""
    version = active_version(task)
    loaded = _loaded.get(task)
    if loaded is not None and loaded.version == version:
        return loaded
    with _lock:
        loaded = _loaded.get(task)
        if loaded is None or loaded.version != version:
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
    return load_shipped(task)


def shipped_metadata(task: str) -> dict[str, Any]:
    path = SHIPPED_DIR / f"{task}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def load_shipped(task: str) -> LoadedModel:
    """The default model shipped with Parley for `task`."""
    meta = shipped_metadata(task)
    pipeline = joblib.load(SHIPPED_DIR / f"{task}.joblib")
    return LoadedModel(
        task, SHIPPED, pipeline, meta.get("labels", []), meta.get("threshold_precision", {})
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
