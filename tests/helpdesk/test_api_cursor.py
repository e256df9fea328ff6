"""A tampered pagination cursor is a 400 with a message, not a 500 (security, item 7)."""

import base64

import pytest

pytestmark = pytest.mark.django_db


def _cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize("endpoint", ["/api/conversations/", "/api/customers/"])
@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("p=abc"),  # the finding: cD1hYmM=
        _cursor("p=1 OR 1=1"),
        _cursor("o=1&r=1&p=%00"),
        _cursor("o=-5"),
        "not base64 at all!",
    ],
)
def test_tampered_cursor_is_refused_with_400(client, agent, endpoint, cursor):
    client.force_login(agent)

    response = client.get(endpoint, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {
        "cursor": ["Invalid cursor: use the next or previous link of a page."]
    }


def test_a_genuine_next_cursor_still_pages(client, agent, default_team, monkeypatch):
    from helpdesk.api.views import NewestFirst
    from tests.factories import ConversationFactory

    monkeypatch.setattr(NewestFirst, "page_size", 2)
    ids = sorted(c.pk for c in ConversationFactory.create_batch(3, team=default_team))
    client.force_login(agent)

    first = client.get("/api/conversations/").json()
    second = client.get(first["next"])

    assert [c["id"] for c in first["results"]] == [ids[2], ids[1]]
    assert second.status_code == 200
    assert [c["id"] for c in second.json()["results"]] == [ids[0]]
