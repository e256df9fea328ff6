"""Social actions through the real tweepy and facebook-sdk code, against recorded answers:
each platform call goes to the endpoint its reference names, and a refusal comes back in the
platform's words."""

from urllib.parse import parse_qs

import pytest
from responses import matchers

from ingestion.connectors import ConnectorError, connector_for
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, X_ACCOUNT_ID, payload

pytestmark = pytest.mark.django_db

X = "https://api.twitter.com/2"
GRAPH = "https://graph.facebook.com/v21.0"


def _form(call) -> dict[str, list[str]]:
    return parse_qs(call.request.body if isinstance(call.request.body, str) else "")


def test_x_like_posts_the_tweet_id_as_the_brand(x_account, mocked_http):
    mocked_http.post(
        f"{X}/users/{X_ACCOUNT_ID}/likes",
        json=payload("x_like.json"),
        match=[matchers.json_params_matcher({"tweet_id": "1800000000000000001"})],
    )

    connector_for(x_account).like_post(post_id="1800000000000000001", liked=True)

    assert "OAuth" in mocked_http.calls[0].request.headers["Authorization"]


def test_x_unlike_deletes_the_like(x_account, mocked_http):
    mocked_http.delete(
        f"{X}/users/{X_ACCOUNT_ID}/likes/1800000000000000001", json=payload("x_unlike.json")
    )

    connector_for(x_account).like_post(post_id="1800000000000000001", liked=False)

    assert len(mocked_http.calls) == 1


def test_x_delete_removes_the_brands_tweet(x_account, mocked_http):
    mocked_http.delete(f"{X}/tweets/1800000000000000009", json=payload("x_delete_tweet.json"))

    connector_for(x_account).delete_post(post_id="1800000000000000009")

    assert len(mocked_http.calls) == 1


def test_x_block_names_the_target_user(x_account, mocked_http):
    mocked_http.post(
        f"{X}/users/{X_ACCOUNT_ID}/blocking",
        json=payload("x_block.json"),
        match=[matchers.json_params_matcher({"target_user_id": "783214"})],
    )

    connector_for(x_account).block_author(author_id="783214")

    assert len(mocked_http.calls) == 1


def test_x_refused_block_says_why_in_xs_words(x_account, mocked_http):
    mocked_http.post(
        f"{X}/users/{X_ACCOUNT_ID}/blocking", status=403, json=payload("x_block_forbidden.json")
    )

    with pytest.raises(ConnectorError) as refused:
        connector_for(x_account).block_author(author_id="783214")

    assert "403" in str(refused.value)
    assert "Enterprise plan only" in str(refused.value)


def test_facebook_like_and_unlike_go_to_the_objects_likes(facebook_page, mocked_http):
    mocked_http.post(f"{GRAPH}/111222333_900001/likes", json=payload("meta_success.json"))
    mocked_http.delete(f"{GRAPH}/111222333_900001/likes", json=payload("meta_success.json"))
    connector = connector_for(facebook_page)

    connector.like_post(post_id="111222333_900001", liked=True)
    connector.like_post(post_id="111222333_900001", liked=False)

    assert [call.request.method for call in mocked_http.calls] == ["POST", "DELETE"]


def test_facebook_hide_and_unhide_set_is_hidden(facebook_page, mocked_http):
    mocked_http.post(f"{GRAPH}/900001_700001", json=payload("meta_success.json"))
    connector = connector_for(facebook_page)

    connector.hide_comment(comment_id="900001_700001", hidden=True)
    connector.hide_comment(comment_id="900001_700001", hidden=False)

    sent = [_form(call) for call in mocked_http.calls]
    assert [form["is_hidden"] for form in sent] == [["true"], ["false"]]
    assert sent[0]["access_token"] == ["page-token"]


def test_facebook_refused_hide_says_why_in_metas_words(facebook_page, mocked_http):
    mocked_http.post(f"{GRAPH}/900001_700001", status=400, json=payload("meta_hide_refused.json"))

    with pytest.raises(ConnectorError) as refused:
        connector_for(facebook_page).hide_comment(comment_id="900001_700001", hidden=True)

    assert "You cannot hide this comment" in str(refused.value)


def test_facebook_delete_removes_the_pages_comment(facebook_page, mocked_http):
    mocked_http.delete(f"{GRAPH}/900001_800001", json=payload("meta_success.json"))

    connector_for(facebook_page).delete_post(post_id="900001_800001")

    assert mocked_http.calls[0].request.method == "DELETE"


def test_facebook_block_posts_the_user_to_the_pages_blocked_list(facebook_page, mocked_http):
    mocked_http.post(f"{GRAPH}/{FACEBOOK_PAGE_ID}/blocked", json=payload("meta_page_blocked.json"))

    connector_for(facebook_page).block_author(author_id="6001")

    assert _form(mocked_http.calls[0])["user"] == ["6001"]


def test_facebook_block_not_confirmed_is_an_error(facebook_page, mocked_http):
    mocked_http.post(f"{GRAPH}/{FACEBOOK_PAGE_ID}/blocked", json={"6001": False})

    with pytest.raises(ConnectorError, match="did not block"):
        connector_for(facebook_page).block_author(author_id="6001")


def test_instagram_hide_sets_hide_and_delete_removes_the_comment(instagram_account, mocked_http):
    mocked_http.post(f"{GRAPH}/17890000000000001", json=payload("meta_success.json"))
    mocked_http.delete(f"{GRAPH}/17890000000000002", json=payload("meta_success.json"))
    connector = connector_for(instagram_account)

    connector.hide_comment(comment_id="17890000000000001", hidden=True)
    connector.delete_post(post_id="17890000000000002")

    assert _form(mocked_http.calls[0])["hide"] == ["true"]
    assert mocked_http.calls[1].request.method == "DELETE"


def test_meta_answer_without_success_is_an_error(instagram_account, mocked_http):
    mocked_http.delete(f"{GRAPH}/17890000000000002", json={"success": False})

    with pytest.raises(ConnectorError, match="did not confirm"):
        connector_for(instagram_account).delete_post(post_id="17890000000000002")


def test_graph_calls_go_to_the_configured_host(facebook_page, mocked_http, settings):
    settings.META_GRAPH_URL = "http://graph.test:8080/"
    mocked_http.post(
        "http://graph.test:8080/v21.0/900001_700001", json=payload("meta_success.json")
    )

    connector_for(facebook_page).hide_comment(comment_id="900001_700001", hidden=True)

    assert mocked_http.calls[0].request.url.startswith("http://graph.test:8080/v21.0/")
