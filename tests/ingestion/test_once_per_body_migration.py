"""The migration that makes a webhook body unique per platform keeps the first copy of each
body stored twice (two web processes could store one at once before), and every other row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ingestion.models import WebhookDelivery

BEFORE = [("ingestion", "0008_customer_profile")]
AFTER = [("ingestion", "0009_webhook_delivery_once_per_body")]


@pytest.mark.django_db(transaction=True)
def test_bodies_stored_twice_keep_their_first_copy():
    MigrationExecutor(connection).migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    delivery = old.get_model("ingestion", "WebhookDelivery")
    first = delivery.objects.create(platform="twitter", body={"n": 1}, body_sha256="a" * 64)
    delivery.objects.create(platform="twitter", body={"n": 1}, body_sha256="a" * 64)
    other_platform = delivery.objects.create(
        platform="facebook", body={"n": 1}, body_sha256="a" * 64
    )
    undigested = [
        delivery.objects.create(platform="twitter", body={"n": n}, body_sha256="") for n in (2, 3)
    ]

    MigrationExecutor(connection).migrate(AFTER)

    kept = set(WebhookDelivery.objects.values_list("pk", flat=True))
    # Back to the latest schema for the tests that follow (later migrations add columns).
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert kept == {first.pk, other_platform.pk, *(row.pk for row in undigested)}
