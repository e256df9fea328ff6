"""The platforms' JSON is compressed with lz4 on PostgreSQL (core.migration_operations), and
the operation undoes itself."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.state import ProjectState

from core.migration_operations import CompressColumnOnPostgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _compression(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def test_webhook_bodies_and_raw_posts_are_compressed_with_lz4():
    assert _compression("ingestion_webhookdelivery", "body_text") == "l"
    assert _compression("ingestion_webhookdelivery", "body") == "l"
    assert _compression("helpdesk_post", "raw") == "l"


def test_reversing_the_operation_gives_the_column_back_its_default():
    operation = CompressColumnOnPostgres("webhookdelivery", "body")
    state = ProjectState.from_apps(apps)
    with connection.schema_editor() as editor:
        operation.database_backwards("ingestion", editor, state, state)
    assert _compression("ingestion_webhookdelivery", "body") == ""
    with connection.schema_editor() as editor:
        operation.database_forwards("ingestion", editor, state, state)
    assert _compression("ingestion_webhookdelivery", "body") == "l"
