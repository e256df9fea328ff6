"""Hostile files for `import_posts`: malformed JSON, wrong types, deep nesting, invalid UTF-8,
text Postgres cannot store. Bad lines are reported by number and the import goes on; a file
that is not a valid export fails with a CommandError that says why, never a traceback.
"""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Post
from tests.reliability.test_webhook_fuzz import hostile_text, invalid_utf8, json_values

pytestmark = pytest.mark.django_db

cases: Counter[str] = Counter()

FIELDS = ["platform", "external_id", "author", "text", "created_at", "followers", "verified"]
post_shaped = st.dictionaries(
    st.sampled_from(FIELDS), json_values | st.sampled_from(["demo", "2026-11-20T09:30:00Z"])
)
lines = st.one_of(
    post_shaped.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    hostile_text.map(str.encode),
    invalid_utf8.filter(lambda b: b"\n" not in b),
)
export_shaped = st.fixed_dictionaries(
    {"data": st.lists(json_values | st.dictionaries(st.sampled_from(["id", "text"]), json_values))}
).map(lambda value: json.dumps(value).encode())


def test_hostile_import_files_are_reported_never_crash(
    tmp_path, demo_account, default_team, capsys
):
    path = tmp_path / "hostile.jsonl"

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        content=st.lists(lines, min_size=1, max_size=6) | export_shaped.map(lambda b: [b]),
        as_export=st.booleans(),
    )
    def check(content: list[bytes], as_export: bool) -> None:
        cases["import"] += 1
        path.write_bytes(b"\n".join(content) + b"\n")
        out, err = StringIO(), StringIO()
        options = {"account": demo_account.handle} if as_export else {}
        before = Post.objects.count()
        try:
            call_command("import_posts", str(path), stdout=out, stderr=err, **options)
        except CommandError as error:
            assert str(error), "a failed import says why"
            return
        summary = out.getvalue()
        assert "Imported" in summary
        rejected = int(summary.split(", ")[-1].split()[0])
        imported = Post.objects.count() - before
        assert rejected + imported <= len(content)

    check()
    with capsys.disabled():
        print(f"\n[fuzz] import_posts: {cases['import']} cases run")


def test_a_deeply_nested_line_is_one_rejected_line(tmp_path, demo_account, default_team):
    path = tmp_path / "deep.jsonl"
    good = {
        "platform": "demo",
        "external_id": "ok-1",
        "author": "maria",
        "text": "hello",
        "created_at": "2026-11-20T09:30:00Z",
    }
    path.write_bytes(b"[" * 5000 + b"]" * 5000 + b"\n" + json.dumps(good).encode() + b"\n")
    out, err = StringIO(), StringIO()

    call_command("import_posts", str(path), stdout=out, stderr=err)

    assert ":1: JSON nested deeper than" in err.getvalue()
    assert Post.objects.filter(external_id="ok-1").exists()


def test_a_line_with_a_nul_character_is_rejected_with_a_message(
    tmp_path, demo_account, default_team
):
    path = tmp_path / "nul.jsonl"
    line = {
        "platform": "demo",
        "external_id": "nul-1",
        "author": "maria",
        "text": "hello",
        "created_at": "2026-11-20T09:30:00Z",
        "extra": "\u0000",
    }
    path.write_text(json.dumps(line) + "\n")
    out, err = StringIO(), StringIO()

    # Nothing could be imported: the command fails (issue 17), saying which line and why.
    with pytest.raises(CommandError, match="No post was imported"):
        call_command("import_posts", str(path), stdout=out, stderr=err)

    assert ":1: JSON text contains a NUL character" in err.getvalue()
    assert not Post.objects.exists()
