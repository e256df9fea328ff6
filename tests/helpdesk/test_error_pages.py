"""Error pages look like Parley and lead back to the inbox, instead of a bare server page."""

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from tests.factories import AGENT_PASSWORD


@pytest.mark.django_db
def test_a_conversation_outside_the_agents_teams_is_a_parley_not_found_page(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)

    response = client.get("/conversations/999999/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Not found</h1>" in page
    assert "/conversations/999999/" in page
    assert 'href="/inbox/"' in page


def test_a_server_error_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/inbox/"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "css/parley.css" in page
