"""The webhook benchmark's baseline: an ASGI app that reads the request body and answers 200,
served by the same uvicorn settings as Parley. Whatever Parley adds (Django, the signature
check, parsing, the INSERT, the queueing) is the difference."""

from __future__ import annotations


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        return
    more_body = True
    while more_body:
        message = await receive()
        more_body = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"OK"})
