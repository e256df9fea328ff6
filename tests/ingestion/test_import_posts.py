import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import Post
from tests.ingestion.conftest import PAYLOADS

pytestmark = pytest.mark.django_db


def _line(**overrides) -> str:
    post = {
        "platform": "demo",
        "external_id": "imp-1",
        "author": "@maria",
        "text": "@brand where is my parcel?",
        "created_at": "2026-11-20T09:30:00Z",
    }
    post.update(overrides)
    return json.dumps(post)


def _run(tmp_path, lines: list[str], **options) -> tuple[str, str]:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_posts", str(path), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _run_failing(tmp_path, lines: list[str]) -> str:
    """Run an import where every line is rejected: it must fail (exit non-zero)."""
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="No post was imported"):
        call_command("import_posts", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_malformed_lines_are_reported_by_number_and_valid_lines_imported(
    tmp_path, demo_account, default_team
):
    lines = [
        _line(external_id="imp-1"),
        "{not json",
        _line(external_id="imp-3", created_at="last tuesday"),
        _line(external_id="imp-4", platform="myspace"),
        json.dumps(["a", "list"]),
        _line(external_id="imp-6", in_reply_to="imp-1", text="@brand hello?"),
    ]

    out, err = _run(tmp_path, lines)

    assert "Imported 2 posts, 0 already stored, 4 lines rejected." in out
    assert "posts.jsonl:2: not valid JSON" in err
    assert "posts.jsonl:3: created_at:" in err
    assert "posts.jsonl:4: platform:" in err and "myspace" in err
    assert "posts.jsonl:5: expected a JSON object" in err
    stored = Post.objects.order_by("external_id")
    assert [p.external_id for p in stored] == ["imp-1", "imp-6"]
    assert stored[0].conversation_id == stored[1].conversation_id


def test_missing_fields_are_named(tmp_path, demo_account, default_team):
    err = _run_failing(tmp_path, [json.dumps({"platform": "demo", "external_id": "x"})])

    assert "author: This field is required." in err
    assert "text: This field is required." in err
    assert "created_at: This field is required." in err
    assert not Post.objects.exists()


def test_importing_the_same_file_twice_stores_each_post_once(tmp_path, demo_account, default_team):
    lines = [_line(external_id="a"), _line(external_id="b")]
    _run(tmp_path, lines)

    out, _ = _run(tmp_path, lines)

    assert "Imported 0 posts, 2 already stored, 0 lines rejected." in out
    assert Post.objects.count() == 2


def test_a_platform_without_an_account_is_a_line_error(tmp_path, demo_account, default_team):
    err = _run_failing(tmp_path, [_line(platform="twitter")])

    assert "posts.jsonl:1: no active twitter account to import into" in err


def test_unknown_file_is_a_command_error(tmp_path, db):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_posts", str(tmp_path / "missing.jsonl"))


def test_a_line_that_is_not_utf8_is_rejected_and_the_rest_imported(
    tmp_path, demo_account, default_team
):
    path = tmp_path / "mixed.jsonl"
    latin1 = _line(external_id="bad", text="CAFE").replace("CAFE", "caf\xe9").encode("latin-1")
    path.write_bytes(latin1 + b"\n" + _line(external_id="good").encode() + b"\n")
    out, err = StringIO(), StringIO()

    call_command("import_posts", str(path), stdout=out, stderr=err)

    assert "mixed.jsonl:1: not UTF-8 text" in err.getvalue()
    assert list(Post.objects.values_list("external_id", flat=True)) == ["good"]


def test_a_pretty_printed_account_activity_body_is_imported_as_x_would_deliver_it(
    tmp_path, default_team
):
    from core.models import Platform
    from tests.factories import PlatformAccountFactory

    PlatformAccountFactory(platform=Platform.TWITTER, handle="acme", external_id="4337869213")
    path = tmp_path / "delivery.json"
    # As saved from a log: indented over many lines, which JSON Lines would read as 60 errors.
    path.write_text(
        json.dumps(
            json.loads((PAYLOADS / "samples/x-account-activity/dm_docs.json").read_text()),
            indent=2,
        )
    )
    out = StringIO()

    call_command("import_posts", str(path), stdout=out, stderr=StringIO())

    assert "Imported 1 posts, 0 already stored, 0 events rejected." in out.getvalue()
    assert Post.objects.get().text == "Hello World!"


def test_a_json_document_parley_does_not_know_is_named_not_read_line_by_line(tmp_path, db):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"tweets": [], "exported_by": "someone"}, indent=2))

    with pytest.raises(CommandError, match=r"one JSON document \(keys: exported_by, tweets\)"):
        call_command("import_posts", str(path), stdout=StringIO(), stderr=StringIO())
