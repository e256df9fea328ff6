"""A loopback stand-in for the X API v2 that the real tweepy client talks to.

It publishes reply tweets (POST /2/tweets), lists what it published (GET
/2/users/<id>/tweets, which Parley asks before retrying an uncertain reply) and, while
faults are on, answers some calls with 429, 500 or silence past the client's read timeout,
sometimes after publishing (the crash window an idempotent sender must survive). It counts
every publication per text, so duplicates cannot hide.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIRST_TWEET_ID = 3_000_000_000_000_000_000
USER_TWEETS = re.compile(r"^/2/users/(?P<id>\d+)/tweets$")


class PlatformStub:
    def __init__(self, *, stall_seconds: float, fault_rate: float = 0.3, seed: int = 0) -> None:
        self.stall_seconds = stall_seconds
        self.fault_rate = fault_rate
        self.faults_on = False
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.published: list[dict] = []
        self.publications: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PlatformStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _fault(self, kinds: tuple[str, ...]) -> str | None:
        with self.lock:
            if not self.faults_on or self.random.random() >= self.fault_rate:
                return None
            kind = self.random.choice(kinds)
            self.faults[kind] += 1
            return kind

    def _publish(self, body: dict) -> dict:
        with self.lock:
            tweet_id = str(FIRST_TWEET_ID + len(self.published))
            tweet = {"id": tweet_id, "text": body.get("text", ""), "edit_history_tweet_ids": []}
            replied_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            if replied_to:
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": str(replied_to)}]
            self.published.append(tweet)
            self.publications[tweet["text"]] += 1
            return tweet

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep the harness output readable
                pass

            def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (its read timeout): that is the point

            def _injected(self, kind: str | None) -> bool:
                if kind == "platform_429":
                    reset = int(time.time()) + 1
                    self._answer(
                        429,
                        {"title": "Too Many Requests", "detail": "Too Many Requests"},
                        {"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
                    )
                    return True
                if kind == "platform_500":
                    self._answer(500, {"title": "Internal Server Error", "detail": "stub"})
                    return True
                if kind == "platform_timeout":
                    time.sleep(stub.stall_seconds)
                    self._answer(503, {"title": "Service Unavailable", "detail": "too late"})
                    return True
                return False

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.split("?")[0] != "/2/tweets":
                    self._answer(404, {"title": "Not Found"})
                    return
                kinds = ("platform_429", "platform_500", "platform_timeout", "timeout_after_post")
                kind = stub._fault(kinds)
                if kind == "timeout_after_post":
                    # Published, but the answer comes after the client stopped waiting.
                    tweet = stub._publish(body)
                    time.sleep(stub.stall_seconds)
                    self._answer(201, {"data": tweet})
                    return
                if self._injected(kind):
                    return
                self._answer(201, {"data": stub._publish(body)})

            def do_GET(self) -> None:
                if not USER_TWEETS.match(self.path.split("?")[0]):
                    self._answer(404, {"title": "Not Found"})
                    return
                if self._injected(stub._fault(("platform_429", "platform_500"))):
                    return
                with stub.lock:
                    tweets = list(reversed(stub.published))
                self._answer(
                    200,
                    {"data": tweets, "meta": {"result_count": len(tweets)}},
                    {"date": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")},
                )

        return Handler
