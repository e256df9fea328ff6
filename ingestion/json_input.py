"""Reading JSON from outside (webhook bodies, import files) into what Postgres can store.

`json.loads` accepts things a `jsonb` column refuses (NaN, NUL characters, unpaired
surrogates) and recurses without limit on deep nesting; each would surface as a 500 or a
crashed import instead of a clear message. Both raise ValueError here, saying what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

# Real deliveries and exports nest a handful of levels; anything deeper is hostile.
MAX_DEPTH = 32


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def loads_storable(text: str | bytes) -> Any:
    """Parse JSON text, refusing what could not be stored; ValueError says why."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"not UTF-8 text (byte {error.start + 1})") from error
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as error:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from error
    problem = "" if _plainly_storable(text) else unstorable_reason(value)
    if problem:
        raise ValueError(problem)
    return value


def _plainly_storable(text: str) -> bool:
    """Whether the JSON text shows, without walking its value, that it is storable: a NUL or
    an unpaired surrogate can only come from a `\\u0000` or `\\uD800` to `\\uDFFF` escape in text
    that decoded as UTF-8 and parsed, and fewer brackets than MAX_DEPTH cannot nest deeper.
    One-event webhook deliveries mostly are (the recorded ones have 7 to 19 brackets); the
    walk was a sixth of a delivery's checks in the web process."""
    return (
        "\\u0000" not in text
        and "\\ud" not in text
        and "\\uD" not in text
        and text.count("{") + text.count("[") < MAX_DEPTH
    )


def unstorable_reason(value: Any) -> str:
    """Why Postgres could not store this parsed JSON (or should not), else ''."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"JSON nested deeper than {MAX_DEPTH} levels"
        if isinstance(current, dict):
            stack.extend((key, depth) for key in current)
            stack.extend((item, depth + 1) for item in current.values())
        elif isinstance(current, list):
            stack.extend((item, depth + 1) for item in current)
        elif isinstance(current, str):
            if "\x00" in current:
                return "JSON text contains a NUL character (\\u0000)"
            try:
                current.encode("utf-8")
            except UnicodeEncodeError:
                return "JSON text contains an unpaired UTF-16 surrogate"
    return ""
