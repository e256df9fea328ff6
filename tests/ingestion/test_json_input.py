"""Reading JSON from outside (ingestion.json_input): what PostgreSQL's jsonb could not store is
refused with the reason, whether or not the text alone shows the value is plainly storable."""

from __future__ import annotations

import pytest

from ingestion.json_input import MAX_DEPTH, loads_storable


def nested(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def test_nesting_up_to_the_limit_is_read():
    assert loads_storable(nested(MAX_DEPTH - 1)) is not None


def test_one_level_more_is_refused_though_the_brackets_are_few():
    with pytest.raises(ValueError, match="nested deeper than"):
        loads_storable(nested(MAX_DEPTH))


def test_an_unpaired_surrogate_escaped_in_capitals_is_refused():
    with pytest.raises(ValueError, match="unpaired UTF-16 surrogate"):
        loads_storable(b'{"text": "\\uDC00"}')


def test_a_paired_surrogate_escape_is_read_as_its_character():
    assert loads_storable(b'{"text": "\\ud83d\\ude00"}') == {"text": "\N{GRINNING FACE}"}


def test_a_nul_escape_is_refused():
    with pytest.raises(ValueError, match="NUL character"):
        loads_storable('{"text": "a\\u0000b"}')
