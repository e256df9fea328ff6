"""An ASGI app that answers every request with the id of the process that served it: which
web process took a connection (tests/parley/test_serve_processes.py)."""

from __future__ import annotations

import os


async def app(scope, receive, send) -> None:
    while (await receive()).get("more_body", False):
        pass
    body = str(os.getpid()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})
