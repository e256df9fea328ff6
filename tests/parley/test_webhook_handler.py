"""`/webhooks/` is served by Django with only the middleware a webhook needs
(parley.webhook_handler); every other path keeps the site's full stack."""

import pytest
from channels.testing import HttpCommunicator

import ingestion.webhooks
from parley.asgi import application


async def _get(path: str, headers: list[tuple[bytes, bytes]] = ()) -> dict:
    headers = [(b"host", b"localhost"), *headers]
    communicator = HttpCommunicator(application, "GET", path, headers=headers)
    return await communicator.get_response(timeout=30)


def _headers(response: dict) -> dict[str, str]:
    return {name.decode().lower(): value.decode() for name, value in response["headers"]}


@pytest.mark.asyncio
async def test_webhooks_run_without_sessions_auth_or_csrf(settings, monkeypatch):
    settings.META_WEBHOOK_VERIFY_TOKEN = "verify-me"
    seen = []
    handshake = ingestion.webhooks._meta_handshake

    def spy(request):
        seen.append(request)
        return handshake(request)

    monkeypatch.setattr(ingestion.webhooks, "_meta_handshake", spy)

    response = await _get(
        "/webhooks/meta/?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42",
        headers=[(b"x-request-id", b"req-webhook-1")],
    )

    assert response["status"] == 200
    assert response["body"] == b"42"
    (request,) = seen
    # Session, auth and CSRF middleware set these on every request they see.
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert "CSRF_COOKIE" not in request.META
    headers = _headers(response)
    assert "set-cookie" not in headers
    assert "content-security-policy" not in headers
    # What a webhook keeps: the request id (django-guid) and the security headers.
    assert headers["x-request-id"] == "req-webhook-1"
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.asyncio
async def test_webhooks_still_refuse_a_host_not_allowed():
    response = await _get("/webhooks/meta/", headers=[(b"host", b"evil.example")])

    assert response["status"] == 400


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_rest_of_the_site_keeps_the_full_stack():
    response = await _get("/login/")

    assert response["status"] == 200
    headers = _headers(response)
    assert "csrftoken=" in headers["set-cookie"]  # CSRF middleware
    assert "content-security-policy" in headers  # CSP
    assert headers["x-frame-options"] == "DENY"  # clickjacking
    assert headers["x-request-id"]
