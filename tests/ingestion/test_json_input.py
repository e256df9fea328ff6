"""Reading JSON from outside (ingestion.json_input): what PostgreSQL's jsonb could not store is
refused with the reason, whether or not the text alone shows the value is plainly storable."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.json_input import MAX_DEPTH, inspect_storable, loads_storable, unstorable_reason

SAMPLES = Path(__file__).parent / "payloads/samples"


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


def test_a_real_tweet_with_emoji_pairs_and_many_brackets_is_read():
    # The recorded reply: 45 brackets, nested 9 deep, names with escaped flag emoji.
    raw = (SAMPLES / "x-account-activity/tweet_create_reply.json").read_text()
    text = json.dumps(json.loads(raw))
    assert text.count("{") + text.count("[") > MAX_DEPTH
    assert "\\ud83c" in text
    body = loads_storable(text)
    assert body["tweet_create_events"][0]["entities"]["user_mentions"][3]["name"].endswith(
        "\N{REGIONAL INDICATOR SYMBOL LETTER I}\N{REGIONAL INDICATOR SYMBOL LETTER T}"
    )


def test_a_string_of_brackets_is_not_nesting():
    assert loads_storable('"' + "[" * (MAX_DEPTH * 2) + '"') == "[" * (MAX_DEPTH * 2)


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('{"t": "\\\\uD800"}', False),  # an escaped backslash, then letters
        ('{"t": "\\\\\\uD800"}', True),  # an escaped backslash, then a lone surrogate
        ('{"t": "\\ud83d\\ud83d"}', True),  # two high halves
        ('{"t": "\\ud83d\\ude00\\udc00"}', True),  # a pair, then a low half alone
        ('{"\\udc00": 1}', True),  # in a key
        ('{"t": "\\ud83dx"}', True),  # a high half, then a letter
    ],
)
def test_surrogate_escapes_are_told_apart_from_their_look_alikes(text, refused):
    if refused:
        with pytest.raises(ValueError, match="unpaired UTF-16 surrogate"):
            loads_storable(text)
    else:
        assert loads_storable(text) == json.loads(text)


def random_escapes_and_nesting(seed: int, count: int = 2000) -> Iterator[str]:
    """JSON texts of strings mixing escapes (surrogate halves in both cases, NUL),
    backslashes and brackets, nested around the limit."""
    pieces = ["\\\\", "\\ud83d", "\\uDE00", "\\udc00", "\\u0000", "\\u0041", "a", "[", "{"]
    rng = random.Random(seed)
    for _ in range(count):
        string = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        depth = rng.choice([1, 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 3])
        # The pieces are JSON text, escapes included: not passed through json.dumps, which
        # would escape their backslashes into look-alikes.
        yield "[" * (depth - 1) + '{"s": "' + string + '"}' + "]" * (depth - 1)


def test_the_texts_shortcuts_answer_as_a_walk_of_every_value_does():
    # Refused or read exactly when walking the parsed value says so.
    for text in random_escapes_and_nesting(seed=5):
        expected = unstorable_reason(json.loads(text))
        try:
            loads_storable(text)
        except ValueError as error:
            assert str(error) == expected, text
        else:
            assert expected == "", text


def test_inspecting_a_real_tweet_reads_what_loading_it_reads():
    raw = (SAMPLES / "x-account-activity/tweet_create_reply.json").read_bytes()
    assert inspect_storable(raw) == loads_storable(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"t": "\\udc00"}', "JSON text contains an unpaired UTF-16 surrogate"),
        (b'{"\\uD800": 1}', "JSON text contains an unpaired UTF-16 surrogate"),
        (b'{"t": "a\\u0000b"}', "JSON text contains a NUL character (\\u0000)"),
        (nested(MAX_DEPTH).encode(), "JSON nested deeper than 32 levels"),
        (b'{"t": NaN}', "NaN is not valid JSON"),
        (b'{"t": "\xff"}', "not UTF-8 text (byte 8)"),
        (
            b'{"t": 1,}',
            "not valid JSON (Expecting property name enclosed in double quotes at column 9)",
        ),
    ],
)
def test_inspecting_refuses_what_loading_refuses_and_says_the_same(raw, reason):
    for parse in (inspect_storable, loads_storable):
        with pytest.raises(ValueError) as refused:
            parse(raw)
        assert str(refused.value) == reason


def test_inspecting_and_loading_agree_on_random_escapes_and_nesting():
    for text in random_escapes_and_nesting(seed=11):
        raw = text.encode()
        try:
            loaded = loads_storable(raw)
        except ValueError as error:
            with pytest.raises(ValueError) as refused:
                inspect_storable(raw)
            assert str(refused.value) == str(error), raw
        else:
            assert inspect_storable(raw) == loaded, raw


def test_a_number_beyond_64_bits_is_accepted_when_inspected():
    # Kept as its text: the stored body still holds every digit.
    assert inspect_storable(b'{"n": 123456789012345678901234567890}') == {
        "n": 1.2345678901234568e29
    }
