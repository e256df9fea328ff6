"""Scrubbing secrets out of text that is stored, logged or shown: error messages, tracebacks,
log records.

A failed HTTP call's message carries its URL (`...?access_token=EAAB...`), and a platform's
answer may echo a token back; such text ends up in a database column an admin page shows, in a
dead letter, in a log line. Everything that records such text passes it through `redact`; the
logging filter catches whatever a log call passes on unredacted. Knows nothing of the domain:
only the shapes secrets take in URLs, forms, JSON and HTTP headers.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# Names under which the platforms (Meta's Graph API, X's OAuth 1.0a and 2.0) and HTTP clients
# carry credentials, in a query string, a form body, JSON or a repr.
SECRET_NAMES = (
    "access_token",
    "access_token_secret",
    "input_token",
    "fb_exchange_token",
    "refresh_token",
    "bearer_token",
    "page_access_token",
    "appsecret_proof",
    "app_secret",
    "client_secret",
    "consumer_secret",
    "consumer_key",
    "oauth_token",
    "oauth_token_secret",
    "oauth_signature",
    "oauth_verifier",
    "api_key",
    "apikey",
    "password",
    "secret",
    "verify_token",
    "token",
    "code",
)

_NAMES = "|".join(sorted(SECRET_NAMES, key=len, reverse=True))
# name=value in a URL or form (also percent-encoded: name%3Dvalue, and &amp; in HTML).
_QUERY = re.compile(rf"(?i)(?<![A-Za-z0-9_])({_NAMES})(=|%3D)(?!\[redacted\])([^&\s\"'<>,;)\]}}]+)")
# "name": "value" / 'name': 'value' in JSON or a Python repr.
_QUOTED = re.compile(rf"(?i)([\"']({_NAMES})[\"']\s*:\s*[\"'])([^\"']*)([\"'])")
# Authorization headers: Bearer / OAuth / Basic credentials.
_AUTHORIZATION = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=%-]{8,})")
_OAUTH_PARAMS = re.compile(r"(?i)(oauth_[a-z_]+=\")([^\"]*)(\")")
# Meta's user and page tokens, wherever they appear without a name (a pasted URL, a message).
_META_TOKEN = re.compile(r"\bEAA[A-Za-z0-9]{20,}")


def redact(text: str) -> str:
    """`text` with every credential it carries replaced by "[redacted]"; the rest untouched."""
    if not text:
        return text
    text = _QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _QUOTED.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(4)}", text)
    text = _OAUTH_PARAMS.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _META_TOKEN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """A logging filter (installed on the handlers in settings.LOGGING) that redacts each
    record's message, and its traceback, before any handler formats it.

    A message whose arguments still carry a secret once rendered (an exception passed to
    `logger.warning("failed: %s", error)`) is rendered here and its arguments dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # String arguments are redacted in place, so formatters that read the arguments
            # themselves (uvicorn's access log) still get them.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the formatter's to report
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
