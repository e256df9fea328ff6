"""The admin shows each auto-response threshold's measured precision, and switches models."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from triage.models import AutoResponse, TriageModel
from triage.store import current_model, threshold_table
from triage.training import precision_at, train_model


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("boss", password="pw-boss-123")
    client.force_login(admin)
    return client


def test_auto_response_page_shows_the_held_out_precision_of_its_threshold(admin_client):
    rule = AutoResponse.objects.create(
        intent="compliment", template="Thanks {handle}!", confidence_threshold=0.8
    )
    measured = precision_at(threshold_table("intent"), label="compliment", threshold=0.8)

    listing = admin_client.get(reverse("admin:triage_autoresponse_changelist"))
    detail = admin_client.get(reverse("admin:triage_autoresponse_change", args=[rule.pk]))

    expected = f"{measured['precision']:.0%} of {measured['predicted']} held-out posts"
    assert expected in listing.content.decode()
    assert "≥ 0.3:" in detail.content.decode()


def test_threshold_no_held_out_post_reaches_says_so(admin_client):
    AutoResponse.objects.create(intent="feedback", template="Noted!", confidence_threshold=0.99)

    listing = admin_client.get(reverse("admin:triage_autoresponse_changelist"))

    assert "not measured" in listing.content.decode()


def test_admin_action_activates_a_model_for_running_workers(
    admin_client, small_intent_csv, django_capture_on_commit_callbacks
):
    trained = train_model(task="intent", data=small_intent_csv).model

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:triage_triagemodel_changelist"),
            {"action": "activate", "_selected_action": [trained.pk]},
        )

    assert TriageModel.objects.get(pk=trained.pk).is_active
    assert current_model("intent").version == trained.version
