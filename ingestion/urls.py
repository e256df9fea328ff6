"""Webhook routes, mounted under /webhooks/."""

from django.urls import path

from . import webhooks

app_name = "ingestion"

urlpatterns = [
    path("meta/", webhooks.meta_webhook, name="meta-webhook"),
    path("x/", webhooks.x_webhook, name="x-webhook"),
]
