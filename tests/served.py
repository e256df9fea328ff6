"""Requests to Parley as `manage.py serve` serves it: the ASGI application uvicorn loads (with
its proxy-headers middleware, when configured), called in-process without a socket.

Run from a test with the `transactional_db` fixture: Django's ASGI handler opens and closes
database connections per request, which would break the transaction the `db` fixture holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from asgiref.sync import async_to_sync


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)
    # Body chunks the application never asked for: it answered before reading them.
    chunks_unread: int = 0

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


def served_app():
    """The application exactly as `manage.py serve` configures uvicorn to run it."""
    from parley.management.commands.serve import uvicorn_config

    root = logging.getLogger()
    handlers = list(root.handlers)
    config = uvicorn_config(host="127.0.0.1", port=8150)
    config.load()
    # Loading runs django.setup() again, whose LOGGING replaces the root handlers pytest
    # captures logs with.
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    return config.loaded_app


def request(
    app,
    method: str,
    path: str,
    *,
    body_chunks: Iterable[bytes] = (b"",),
    headers: Iterable[tuple[str, str]] = (),
    client: tuple[str, int] = ("127.0.0.1", 50123),
    query: str = "",
) -> Answer:
    return async_to_sync(_request)(
        app, method, path, list(body_chunks), list(headers), client, query
    )


async def _request(app, method, path, chunks, headers, client, query) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")]
        + [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        "client": client,
        "server": ("127.0.0.1", 8150),
        "state": {},
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []
    done = asyncio.Event()

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    done.set()
    start = next(m for m in sent if m["type"] == "http.response.start")
    raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    cookies: dict[str, str] = {}
    for name, value in raw_headers:
        if name.lower() == "set-cookie":
            parsed = SimpleCookie()
            parsed.load(value)
            cookies.update({key: morsel.value for key, morsel in parsed.items()})
    return Answer(
        status_code=start["status"],
        headers={k.lower(): v for k, v in raw_headers},
        body=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        cookies=cookies,
        chunks_unread=len(pending),
    )
