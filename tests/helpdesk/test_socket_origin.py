"""WebSocket handshakes: the page's origin must be exactly ours, and a malformed path is
refused cleanly (security, item 8)."""

import pytest
from channels.testing import WebsocketCommunicator

from parley.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _handshake(user, path: str, *, origin: bytes, host: bytes = b"127.0.0.1:8000"):
    socket = WebsocketCommunicator(
        application, path, headers=[(b"host", host), (b"origin", origin)]
    )
    socket.scope["user"] = user
    connected, code = await socket.connect()
    if connected:
        await socket.disconnect()
    return connected, code


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:9999",  # the finding: another port of the same host
        b"https://127.0.0.1:8000",  # another scheme
        b"http://127.0.0.1:8000.evil.example",
        b"http://evil.example",
        b"null",
        b"http://127.0.0.1:8000/inbox/",
    ],
)
async def test_socket_from_another_origin_is_refused(agent, origin):
    connected, _ = await _handshake(agent, "/ws/inbox/", origin=origin)

    assert not connected


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (b"http://127.0.0.1:8000", b"127.0.0.1:8000"),  # the page the server served
        (b"http://localhost:8150", b"localhost:8150"),
        (b"http://127.0.0.1", b"127.0.0.1"),
    ],
)
async def test_socket_from_our_own_origin_is_accepted(agent, origin, host):
    connected, _ = await _handshake(agent, "/ws/inbox/", origin=origin, host=host)

    assert connected


async def test_a_host_not_allowed_does_not_make_its_own_origin_acceptable(agent):
    connected, _ = await _handshake(
        agent, "/ws/inbox/", origin=b"http://evil.example:8000", host=b"evil.example:8000"
    )

    assert not connected


async def test_a_listed_trusted_origin_is_accepted(agent, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://care.example.com"]

    connected, _ = await _handshake(
        agent, "/ws/inbox/", origin=b"https://care.example.com", host=b"10.0.0.5:8000"
    )

    assert connected


@pytest.mark.parametrize(
    "path", ["/ws/conversations/abc/", "/ws/conversations/", "/ws/nothing/", "/elsewhere"]
)
async def test_malformed_socket_path_is_refused_not_a_server_error(agent, path):
    connected, code = await _handshake(agent, path, origin=b"http://127.0.0.1:8000")

    assert not connected
    assert code == 1000
