"""timestamptz values read on Django's PostgreSQL connections by psycopg's C loader
(core.pg_datetimes) arrive as Django's own loader gives them."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.pq import Format

from core import pg_datetimes
from core.models import Conversation
from tests.factories import ConversationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

moments = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=st.just(datetime.UTC),
)


def _read(values: list[datetime.datetime]) -> list[datetime.datetime]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT x FROM unnest(%s::timestamptz[]) AS x", [values])
        return [value for (value,) in cursor.fetchall()]


@settings(max_examples=100, deadline=None)
@given(st.lists(moments, max_size=20))
def test_any_moment_arrives_unchanged_in_utc(values):
    read = _read(values)

    assert read == values
    assert all(value.tzinfo is datetime.UTC for value in read)


def test_djangos_cursors_read_with_the_c_loader_and_agree_with_djangos_loader():
    class DjangosLoader(BaseTzLoader):
        timezone = connection.timezone

    djangos = DjangosLoader(pg_datetimes._TIMESTAMPTZ_OID)
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(pg_datetimes._TIMESTAMPTZ_OID, Format.TEXT)
        # Each moment, and the text the server sends for it (the same output function).
        cursor.execute(
            "SELECT t, t::text FROM ("
            " SELECT timestamptz '1901-12-13 20:45:52.000001+00' + interval '1 day 1 us' * i"
            " FROM generate_series(0, 500) AS i) AS moments (t)"
        )
        read = cursor.fetchall()

    assert loader is pg_datetimes.UtcTimestamptzLoader
    assert [value for value, _ in read] == [djangos.load(text.encode()) for _, text in read]


def test_a_conversations_times_come_back_as_stored():
    resolved = datetime.datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=datetime.UTC)
    conversation = ConversationFactory()
    Conversation.objects.filter(pk=conversation.pk).update(resolved_at=resolved)

    read = Conversation.objects.get(pk=conversation.pk)

    assert read.resolved_at == resolved
    assert read.resolved_at.tzinfo is datetime.UTC
    assert read.created_at == conversation.created_at


class _ConnectionInParis:
    vendor = "postgresql"
    timezone = ZoneInfo("Europe/Paris")


def test_a_connection_working_in_another_time_zone_keeps_djangos_loader():
    assert pg_datetimes.use_c_loader(_ConnectionInParis()) is False
