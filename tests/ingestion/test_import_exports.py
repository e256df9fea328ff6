"""import_posts with the platforms' own JSON: X API v2 and Graph API response bodies."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import Customer, Post
from tests.ingestion.conftest import PAYLOADS, payload

pytestmark = pytest.mark.django_db


def _run(*args, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_posts", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_x_api_v2_export_imports_tweets_with_their_authors(x_account, default_team):
    out, _ = _run(str(PAYLOADS / "x_mentions_page1.json"), account="acme", platform="twitter")

    assert "Imported 2 posts, 0 already stored, 0 entries rejected." in out
    assert Customer.objects.get(handle="gadgetguru").follower_count == 412_000
    assert set(Post.objects.values_list("platform", flat=True)) == {"twitter"}


def test_graph_api_feed_export_imports_customer_posts_and_comments_not_the_pages_own(
    facebook_page, default_team
):
    out, _ = _run(str(PAYLOADS / "meta_page_feed.json"), account="acme", platform="facebook")

    assert "Imported 2 posts" in out
    assert set(Post.objects.values_list("external_id", flat=True)) == {
        "900001_700001",
        "111222333_900002",
    }


def test_bad_entries_in_an_export_are_reported_by_position(tmp_path, x_account, default_team):
    export = payload("x_mentions_page1.json")
    export["data"].insert(1, {"text": "no id, no author"})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))

    out, err = _run(str(path), account="acme", platform="twitter")

    assert "Imported 2 posts, 0 already stored, 1 entries rejected." in out
    assert f"{path}:2: not a post in the platform's shape (KeyError: 'id')" in err


def test_an_export_needs_the_account_it_belongs_to(x_account):
    with pytest.raises(CommandError, match="--account"):
        _run(str(PAYLOADS / "x_mentions_page1.json"))
