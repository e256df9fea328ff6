"""Adding and watching platform accounts in the admin."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.models import Platform
from ingestion.models import CustomerLink, LinkStatus, PlatformAccount
from tests.factories import CustomerFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(user)
    return client


def _form(**fields):
    data = {
        "platform": "twitter",
        "handle": "acme",
        "external_id": "1500000000",
        "display_name": "Acme",
        "is_active": "on",
        "is_healthy": "on",
        "listening_queries": "#acmeapp\nacme outage",
        "poll_interval_seconds": "120",
    }
    data.update(fields)
    return data


def test_admin_adds_an_x_account_with_credentials_queries_and_interval(admin_client):
    response = admin_client.post(
        "/admin/ingestion/platformaccount/add/",
        _form(bearer_token="secret-bearer", consumer_secret="secret-consumer"),
    )

    assert response.status_code == 302, response.content
    account = PlatformAccount.objects.get(handle="acme")
    assert account.credentials["bearer_token"] == "secret-bearer"
    assert account.credentials["consumer_secret"] == "secret-consumer"
    assert account.queries == ["#acmeapp", "acme outage"]
    assert account.poll_interval_seconds == 120


def test_admin_adds_a_facebook_page(admin_client):
    response = admin_client.post(
        "/admin/ingestion/platformaccount/add/",
        _form(
            platform="facebook",
            external_id="111222333",
            listening_queries="",
            page_access_token="page-secret",
            app_secret="app-secret",
        ),
    )

    assert response.status_code == 302, response.content
    page = PlatformAccount.objects.get(platform="facebook")
    assert page.credentials["page_access_token"] == "page-secret"


def test_secrets_are_never_shown_back_and_blank_keeps_them(admin_client):
    account = PlatformAccountFactory(
        platform="twitter", handle="acme", credentials={"bearer_token": "secret-bearer"}
    )

    listing = admin_client.get("/admin/ingestion/platformaccount/")
    change = admin_client.get(f"/admin/ingestion/platformaccount/{account.pk}/change/")
    admin_client.post(f"/admin/ingestion/platformaccount/{account.pk}/change/", _form())

    assert b"secret-bearer" not in listing.content
    assert b"secret-bearer" not in change.content
    assert b"Stored; leave blank to keep it." in change.content
    account.refresh_from_db()
    assert account.credentials["bearer_token"] == "secret-bearer"


def test_list_shows_last_poll_rate_limit_and_error(admin_client):
    PlatformAccountFactory(
        handle="acme",
        last_polled_at=timezone.now(),
        rate_limited_until=timezone.now() + timedelta(minutes=7),
        last_poll_error="X rate limit reached: 429 Too Many Requests",
    )

    listing = admin_client.get("/admin/ingestion/platformaccount/")

    assert b"X rate limit reached: 429 Too Many Requests" in listing.content
    assert b"Rate limited until" in listing.content


def test_admin_links_two_identities_by_hand(admin_client):
    on_x = CustomerFactory(platform=Platform.TWITTER)
    on_facebook = CustomerFactory(platform=Platform.FACEBOOK)

    response = admin_client.post(
        "/admin/ingestion/customerlink/add/",
        {"customer": on_x.pk, "other": on_facebook.pk, "status": "confirmed", "reason": "same"},
    )

    assert response.status_code == 302, response.content
    assert CustomerLink.objects.get().status == LinkStatus.CONFIRMED
