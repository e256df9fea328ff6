"""Sessions with Redis: read from the cache, kept in the database, and never cached for
longer than SESSION_CACHE_SECONDS (the bound on a logout Redis did not hear of)."""

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.urls import reverse

from parley.sessions import SessionStore

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def test_a_session_is_kept_in_the_database_and_cached_for_a_bounded_time(settings):
    settings.SESSION_CACHE_SECONDS = 120
    store = SessionStore()
    store["agent"] = "ada"
    store.save()

    key = store.cache_key
    ttl = cache._cache.get_client(key).ttl(cache.make_and_validate_key(key))
    assert Session.objects.filter(session_key=store.session_key).exists()
    assert 0 < ttl <= 120
    assert SessionStore(store.session_key)["agent"] == "ada"


def test_a_session_missing_from_the_cache_is_read_from_the_database(client, agent):
    client.force_login(agent)
    cache.clear()

    assert client.get(reverse("inbox")).status_code == 200
