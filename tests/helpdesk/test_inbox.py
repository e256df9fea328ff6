import pytest
from django.urls import reverse

from core.models import ConversationStatus
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def test_inbox_lists_the_teams_active_conversations_only(client, agent, default_team):
    other_team = TeamFactory()
    mine = PostFactory(
        conversation=ConversationFactory(team=default_team), text="@brand my parcel is lost"
    )
    PostFactory(conversation=ConversationFactory(team=other_team), text="@brand other team's")
    PostFactory(
        conversation=ConversationFactory(team=default_team, status=ConversationStatus.RESOLVED),
        text="@brand all sorted",
    )
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("inbox")).content.decode()

    assert "@brand my parcel is lost" in page
    assert f"@{mine.customer.handle}" in page
    assert "other team&#x27;s" not in page and "other team's" not in page
    assert "all sorted" not in page


def test_post_text_is_escaped_in_the_inbox(client, agent, default_team):
    PostFactory(
        conversation=ConversationFactory(team=default_team),
        text="<script>alert('pwned')</script>",
    )
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("inbox")).content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_inbox_query_count_does_not_grow_with_conversations(
    client, agent, default_team, django_assert_max_num_queries
):
    for _ in range(30):
        PostFactory(conversation=ConversationFactory(team=default_team))
    client.login(username=agent.username, password=AGENT_PASSWORD)

    # With the first visit's session write (views.INBOX_QUERY_SESSION_KEY): 3 statements.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("inbox"))

    assert response.content.decode().count('class="conversation ') == 30


def test_supervisor_with_view_all_sees_every_team(client, default_team):
    PostFactory(conversation=ConversationFactory(team=TeamFactory()), text="@brand elsewhere")
    supervisor = AgentFactory(is_superuser=True)
    client.login(username=supervisor.username, password=AGENT_PASSWORD)

    assert "@brand elsewhere" in client.get(reverse("inbox")).content.decode()
