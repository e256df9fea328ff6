"""A worker picks up a newly activated model without a restart."""

from django.core.cache import cache

from triage.models import TriageModel
from triage.services import classify_text
from triage.store import activate_model, active_version, current_model, deactivate_models
from triage.training import train_model


def test_fresh_install_classifies_with_the_shipped_model(db):
    result = classify_text("@brand your app is down again, can't log in #outage")

    assert result.model_versions == {"intent": "shipped", "sentiment": "shipped"}
    assert result.intent == "complaint"
    assert 0.0 < result.confidence <= 1.0


def test_activating_a_model_switches_the_running_process(
    db, small_intent_csv, django_capture_on_commit_callbacks
):
    before = current_model("intent")
    trained = train_model(task="intent", data=small_intent_csv).model

    with django_capture_on_commit_callbacks(execute=True):
        activate_model(model_id=trained.pk)

    after = current_model("intent")
    assert before.version == "shipped"
    assert after.version == trained.version
    assert after.pipeline is not before.pipeline
    assert classify_text("@brand thanks!").model_versions["intent"] == trained.version


def test_model_activated_elsewhere_is_picked_up_once_the_cached_version_expires(
    db, small_intent_csv
):
    assert current_model("intent").version == "shipped"
    trained = train_model(task="intent", data=small_intent_csv).model
    # Another process activated it: only the database knows; the cached check expires.
    TriageModel.objects.filter(pk=trained.pk).update(is_active=True)
    assert current_model("intent").version == "shipped"

    cache.delete("triage:active-model:intent")

    assert current_model("intent").version == trained.version


def test_only_one_model_per_task_is_active_and_going_back_restores_the_shipped_one(
    db, small_intent_csv, django_capture_on_commit_callbacks
):
    first = train_model(task="intent", data=small_intent_csv).model
    second = train_model(task="intent", data=small_intent_csv).model

    with django_capture_on_commit_callbacks(execute=True):
        activate_model(model_id=first.pk)
        activate_model(model_id=second.pk)
    assert list(TriageModel.objects.filter(is_active=True)) == [second]

    with django_capture_on_commit_callbacks(execute=True):
        deactivate_models(task="intent")
    assert active_version("intent") == "shipped"


def test_active_model_whose_file_is_gone_falls_back_to_the_shipped_one(
    db, small_intent_csv, settings, django_capture_on_commit_callbacks
):
    trained = train_model(task="intent", data=small_intent_csv).model
    (settings.TRIAGE_MODEL_DIR / trained.file_name).unlink()

    with django_capture_on_commit_callbacks(execute=True):
        activate_model(model_id=trained.pk)

    loaded = current_model("intent")
    assert (loaded.version, loaded.standing_in_for) == ("shipped", trained.version)
    assert current_model("intent") is loaded  # the missing file is not retried per post
    assert classify_text("@brand hello?").model_versions["intent"] == "shipped"


def test_cache_outage_falls_back_to_the_database(db, monkeypatch):
    def unavailable(*args, **kwargs):
        raise ConnectionError("redis is down")

    for method in ("get", "set", "get_many", "set_many"):
        monkeypatch.setattr(f"triage.store.cache.{method}", unavailable)

    assert classify_text("@brand where is my parcel?").model_versions["intent"] == "shipped"
