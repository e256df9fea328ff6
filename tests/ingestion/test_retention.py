"""Processed webhook deliveries are deleted once older than the retention
(ingestion.retention); work not done yet stays, and a body redelivered afterwards makes no
second post."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.models import Platform, Post
from ingestion import retention
from ingestion.models import WebhookDelivery
from tests.ingestion.conftest import payload
from tests.ingestion.test_webhooks import post_x, x_signature

pytestmark = pytest.mark.django_db


def _delivery(*, days_ago: float, processed: bool) -> WebhookDelivery:
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(platform=Platform.TWITTER, body={"n": days_ago})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=now - timedelta(days=days_ago),
        processed_at=now - timedelta(days=days_ago) if processed else None,
    )
    return delivery


@override_settings(WEBHOOK_DELIVERY_RETENTION_DAYS=30)
def test_processed_deliveries_older_than_the_retention_are_deleted_and_the_rest_kept():
    expired = [_delivery(days_ago=40, processed=True), _delivery(days_ago=31, processed=True)]
    not_processed = _delivery(days_ago=45, processed=False)
    recent = _delivery(days_ago=29, processed=True)

    assert retention.purge_processed_deliveries() == 2

    kept = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert kept == {not_processed.pk, recent.pk}
    assert not kept & {delivery.pk for delivery in expired}


@override_settings(WEBHOOK_DELIVERY_RETENTION_DAYS=30)
def test_the_purge_reads_past_one_batch_of_old_rows(monkeypatch):
    monkeypatch.setattr(retention, "PURGE_BATCH", 2)
    for days_ago in (50, 49, 48, 47, 46):
        _delivery(days_ago=days_ago, processed=True)
    newest = _delivery(days_ago=1, processed=True)

    assert retention.purge_processed_deliveries() == 5
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [newest.pk]


@override_settings(WEBHOOK_DELIVERY_RETENTION_DAYS=0)
def test_a_retention_of_zero_keeps_every_delivery():
    _delivery(days_ago=400, processed=True)

    assert retention.purge_processed_deliveries() == 0
    assert WebhookDelivery.objects.count() == 1


@override_settings(WEBHOOK_DELIVERY_RETENTION_DAYS=30)
def test_a_body_redelivered_after_its_delivery_was_deleted_makes_no_second_post(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_x(client, body, x_signature(body)).status_code == 200
    assert Post.objects.count() == 1
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(days=31))
    assert retention.purge_processed_deliveries() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert post_x(client, body, x_signature(body)).status_code == 200

    assert WebhookDelivery.objects.get().processed_at is not None
    assert Post.objects.count() == 1
