"""Request body limits, enforced before Django reads a body: an ASGI middleware.

Django's ASGI handler reads the whole body (spooling it to disk past 2.5 MB) before any view
runs, so a view's own check comes too late to spare the disk and the worker. This refuses a
body over its route's limit on the declared Content-Length, before reading a byte, and, for a
body that declares none (chunked), as soon as what has arrived passes the limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)


def body_limit_for(path: str) -> int:
    """The largest body accepted on `path`: webhooks carry platform batches, the rest are
    forms and API calls, which are small."""
    if path.startswith("/webhooks/"):
        return settings.WEBHOOK_MAX_BODY_BYTES
    return settings.MAX_REQUEST_BODY_BYTES


class BodySizeLimitMiddleware:
    """Answers 413 for an HTTP request whose body is over `limit_for(path)` bytes, and 400 for
    a Content-Length that is not a number; other scopes pass through."""

    def __init__(self, app, limit_for: Callable[[str], int] = body_limit_for) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, b"Invalid Content-Length.")
                return
            if int(declared) > limit:
                self._refused(scope, limit, f"declared {int(declared)} bytes")
                await _answer(send, 413, f"Body larger than {limit} bytes.".encode())
                return

        received = 0
        over = False
        response_started = False

        async def limited_receive() -> dict:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops reading at a disconnect and answers nothing; this does.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
        if over and not response_started:
            self._refused(scope, limit, f"over {received} bytes streamed")
            await _answer(send, 413, f"Body larger than {limit} bytes.".encode())

    @staticmethod
    def _refused(scope, limit: int, how: str) -> None:
        client = (scope.get("client") or ("?",))[0]
        logger.warning(
            "Refused a %s %s body from %s: %s, limit %d",
            scope["method"],
            scope["path"],
            client,
            how,
            limit,
        )


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


async def _answer(send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})
