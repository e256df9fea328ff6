"""A real Celery worker whose X client talks to the loopback platform stub.

Only the transport is redirected: tweepy builds and signs its requests for api.twitter.com
as in production, and a requests adapter sends them to CHAOS_STUB_URL instead, with a short
read timeout so injected stalls end as timeouts.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import django
from requests.adapters import HTTPAdapter


class StubAdapter(HTTPAdapter):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def install_stub_transport(base_url: str, read_timeout: float) -> None:
    from ingestion.connectors import http, twitter

    def session(recorder, timeout=None):
        redirected = http.session_with_timeout(recorder, timeout=(1.0, read_timeout))
        redirected.mount("https://api.twitter.com/", StubAdapter(base_url))
        return redirected

    twitter.session_with_timeout = session


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parley.settings")
    django.setup()
    install_stub_transport(
        os.environ["CHAOS_STUB_URL"], float(os.environ.get("CHAOS_READ_TIMEOUT", "1"))
    )
    from parley.celery import app

    app.worker_main(
        [
            "worker",
            "--pool=solo",
            # Each of the run's workers by its own name, as Celery asks of workers on one host.
            f"--hostname={os.environ.get('CHAOS_WORKER_NAME', 'worker')}@%h",
            f"--loglevel={os.environ.get('CHAOS_WORKER_LOGLEVEL', 'INFO')}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main()
