"""Reading JSON from outside (webhook bodies, import files) into what Postgres can store.

`json.loads` accepts things a `jsonb` column refuses (NaN, NUL characters, unpaired
surrogates) and recurses without limit on deep nesting; each would surface as a 500 or a
crashed import instead of a clear message. Both raise ValueError here, saying what is wrong:
`loads_storable` for a value that is kept, `inspect_storable` for a body kept as the text it
came as and only looked into (a webhook delivery).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Real deliveries and exports nest a handful of levels; anything deeper is hostile.
MAX_DEPTH = 32
_TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every call: json.loads builds a new one whenever it is given an option.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads_storable(text: str | bytes) -> Any:
    """Parse JSON text, refusing what could not be stored; ValueError says why."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"not UTF-8 text (byte {error.start + 1})") from error
    try:
        value = _DECODER.decode(text)
    except RecursionError as error:
        raise ValueError(_TOO_DEEP) from error
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from error
    problem = _unstorable_in(text, value)
    if problem:
        raise ValueError(problem)
    return value


def inspect_storable(raw: bytes) -> Any:
    """`raw` parsed to be looked into, refused as `loads_storable` refuses it.

    For a body kept as its text (a webhook delivery) and only inspected: parsed by orjson,
    in a third of the standard library's time on a real tweet (docs/performance.md), so an
    integer beyond 64 bits comes back as a float. orjson refuses what is not UTF-8 or not
    JSON, NaN, a number too large for a double and every unpaired surrogate escape; such a
    body is read again by `loads_storable`, which decides as it always did and says why.
    What orjson reads is left to check for a NUL escape and for depth.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return loads_storable(raw)
    if b"\\u0000" in raw:
        problem = unstorable_reason(value)
    else:
        problem = _too_deep(raw.count(b"{") + raw.count(b"["), value)
    if problem:
        raise ValueError(problem)
    return value


# A JSON escape of a UTF-16 surrogate, as a pair or alone, or an escaped backslash: scanned
# left to right, an escaped backslash is consumed whole, so a `\\uD800` (a backslash, then
# the letters) is not taken for an escape, and a pair is consumed before its halves are.
_SURROGATE_ESCAPES = re.compile(
    r"\\\\"  # an escaped backslash
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a pair
    r"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"  # a surrogate alone
)
_LONE_SURROGATE_ESCAPE_LENGTH = len("\\uD800")


def _unstorable_in(text: str, value: Any) -> str:
    """Why the `value` parsed from `text` could not be stored, else '', from the text where
    it can tell. A NUL or an unpaired surrogate can only come from an escape (the text decoded
    as UTF-8 and parsed), and fewer brackets than MAX_DEPTH cannot nest deeper, so most
    deliveries need no walk of their value; real tweets come with 20 to 70 brackets and
    escaped emoji pairs, for which a walk of the containers alone settles the depth (a third
    of the cost of walking every string, docs/performance.md)."""
    if "\\u0000" in text or _has_lone_surrogate_escape(text):
        return unstorable_reason(value)
    return _too_deep(text.count("{") + text.count("["), value)


def _too_deep(brackets: int, value: Any) -> str:
    """_TOO_DEEP when `value`, parsed from a text of so many opening brackets, nests deeper
    than allowed, else ''."""
    if brackets >= MAX_DEPTH and _nested_deeper_than_allowed(value):
        return _TOO_DEEP
    return ""


def _has_lone_surrogate_escape(text: str) -> bool:
    if "\\ud" not in text and "\\uD" not in text:
        return False
    return any(
        len(escape.group()) == _LONE_SURROGATE_ESCAPE_LENGTH
        for escape in _SURROGATE_ESCAPES.finditer(text)
    )


_CONTAINERS = (dict, list)


def _nested_deeper_than_allowed(value: Any) -> bool:
    # Depth as unstorable_reason counts it: the top value is level 1, what a container holds
    # one level more, so a container at the last level allowed must be empty. A plain loop
    # and a tuple of types: a generator testing `dict | list` (a union built at each test)
    # took three times as long on X's reply and retweet samples (45 and 68 brackets).
    if not isinstance(value, _CONTAINERS):
        return False
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH or (depth == MAX_DEPTH and current):
            return True
        below = depth + 1
        for child in current.values() if isinstance(current, dict) else current:
            if isinstance(child, _CONTAINERS):
                stack.append((child, below))
    return False


def unstorable_reason(value: Any) -> str:
    """Why Postgres could not store this parsed JSON (or should not), else ''."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return _TOO_DEEP
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
