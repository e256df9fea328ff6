"""Lists spelled as PostgreSQL arrays by core.pg_arrays arrive as psycopg would send them."""

import datetime
import json

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from core.models import Customer, Direction
from core.pg_arrays import PlainListDumper
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Any text PostgreSQL stores (no NUL): quotes, backslashes, braces, commas, "NULL", spaces.
texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))


def _round_trip(sql: str, values: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, [values])
        return [value for (value,) in cursor.fetchall()]


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=20))
def test_any_list_of_strings_arrives_unchanged(values):
    assert _round_trip("SELECT x FROM unnest(%s::text[]) AS x", values) == values


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=20))
def test_any_list_of_integers_arrives_unchanged(values):
    assert _round_trip("SELECT x FROM unnest(%s::bigint[]) AS x", values) == values


def test_lists_with_nulls_or_other_types_arrive_unchanged():
    assert _round_trip("SELECT x FROM unnest(%s::text[]) AS x", ["a", None]) == ["a", None]
    assert _round_trip("SELECT x FROM unnest(%s::bool[]) AS x", [True, False]) == [True, False]
    assert _round_trip("SELECT x FROM unnest(%s::text[]) AS x", [None, None]) == [None, None]
    assert _round_trip("SELECT x FROM unnest(%s::text[]) AS x", []) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), texts), max_size=20))
def test_any_list_of_strings_and_nulls_arrives_unchanged(values):
    assert _round_trip("SELECT x FROM unnest(%s::text[]) AS x", values) == values


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(min_value=datetime.datetime(1, 1, 2), timezones=st.just(datetime.UTC)),
        ),
        max_size=20,
    )
)
def test_any_list_of_datetimes_and_nulls_arrives_unchanged(values):
    assert _round_trip("SELECT x FROM unnest(%s::timestamptz[]) AS x", values) == values


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(json_values, max_size=10))
def test_any_list_of_json_documents_arrives_unchanged(values):
    documents = [Jsonb(value) for value in values]
    # Django reads jsonb as its text (its fields parse it).
    arrived = _round_trip("SELECT x FROM unnest(%s::jsonb[]) AS x", documents)
    assert [json.loads(text) for text in arrived] == values


def test_text_choices_arrive_as_their_values():
    values = [Direction.INBOUND, "other", None, Direction.OUTBOUND]
    assert _round_trip("SELECT x FROM unnest(%s::text[]) AS x", values) == [
        "inbound",
        "other",
        None,
        "outbound",
    ]


def test_django_connections_use_it_for_lookups_by_list():
    connection.ensure_connection()
    customers = CustomerFactory.create_batch(2)

    found = Customer.objects.filter(external_id__any=[c.external_id for c in customers])

    assert connection.connection.adapters.get_dumper(list, "t") is PlainListDumper
    assert set(found) == set(customers)
