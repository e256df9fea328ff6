"""What every HTTP-based connector shares: a session with a timeout, and the platform's
rate-limit headers kept per endpoint so the admin page can show them."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

import requests

from .base import DeliveryUncertain, TransientError

# Seconds to connect and to wait for an answer; a stuck platform must not hold a worker.
DEFAULT_TIMEOUT = (5, 30)

# Headers the platforms report their quota in: X API v2 and Meta's Graph API.
RATE_LIMIT_HEADERS = (
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "x-app-usage",
    "x-business-use-case-usage",
)


class RateLimitRecorder:
    """A requests response hook that remembers each endpoint's last reported quota."""

    def __init__(self) -> None:
        self.state: dict[str, dict[str, Any]] = {}

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        reported = {
            name: response.headers[name] for name in RATE_LIMIT_HEADERS if name in response.headers
        }
        if reported:
            self.state[urlsplit(response.url).path] = reported


def session_with_timeout(
    recorder: RateLimitRecorder, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> requests.Session:
    session = requests.Session()
    session.hooks["response"].append(recorder)
    # Neither tweepy nor facebook-sdk passes a timeout to every call; this makes one the default.
    session.request = functools.partial(session.request, timeout=timeout)  # type: ignore[method-assign]
    return session


def raise_transport_error(
    error: requests.RequestException,
    *,
    platform: str,
    publishing: bool,
    never_sent: tuple[type[Exception], ...] = (requests.ConnectTimeout,),
) -> None:
    """Turn a requests failure into the connector error services act on.

    A request that never reached the platform published nothing, so it can simply be retried.
    Any other failure while publishing leaves the outcome unknown: the platform must be asked
    before a retry, or a reply could go out twice.
    """
    if isinstance(error, never_sent):
        raise TransientError(f"Could not reach {platform}: {error}") from error
    if publishing:
        raise DeliveryUncertain(f"No answer from {platform}: {error}") from error
    raise TransientError(f"No answer from {platform}: {error}") from error
