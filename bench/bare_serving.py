"""The webhook benchmark's baseline server: the bare app (bench/bare_asgi.py) served by
`manage.py serve`'s own code — its uvicorn settings, its web processes with a listening socket
each (parley.management.commands.serve.run_web_processes) — and the one thing parley.serving
adds to the server around Parley's app, the access-log filter, so a bare request's log record
is made and dropped as a delivery's is. Only the application differs.

    python -m bench.bare_serving PORT PROCESSES
"""

from __future__ import annotations

import sys

import django

django.setup()

from parley.webhook_fast_path import skip_stored_deliveries_in_access_log  # noqa: E402

from .bare_asgi import app  # noqa: E402

# Run in each web process, which imports this module for `app`.
skip_stored_deliveries_in_access_log()

__all__ = ["app"]


def main(port: int, processes: int) -> None:
    from parley.management.commands.serve import run_web_processes, uvicorn_config

    run_web_processes(
        uvicorn_config(host="127.0.0.1", port=port, app="bench.bare_serving:app", workers=processes)
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
