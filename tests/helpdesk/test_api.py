import pytest
from rest_framework.test import APIClient

from core.models import ConversationStatus, Direction, Intent, Post, ReplyTemplate
from tests.factories import AgentFactory, ConversationFactory, PostFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(team=default_team, intent=Intent.COMPLAINT)
    PostFactory(conversation=conversation, text="@brand my order never came")
    return conversation


def test_list_shows_only_the_agents_teams(api, conversation):
    ConversationFactory(team=TeamFactory())

    response = api.get("/api/conversations/")

    assert response.status_code == 200
    assert [c["id"] for c in response.data["results"]] == [conversation.pk]


def test_list_filters_by_view_intent_and_search(api, agent, conversation, default_team):
    mine = ConversationFactory(team=default_team, assignee=agent, intent=Intent.QUESTION)
    PostFactory(conversation=mine, text="@brand is there a student discount?")

    def ids(query: str) -> list[int]:
        return [c["id"] for c in api.get(f"/api/conversations/?{query}").data["results"]]

    assert ids("view=mine") == [mine.pk]
    assert ids("view=unassigned") == [conversation.pk]
    assert ids("intent=complaint") == [conversation.pk]
    assert ids("q=student") == [mine.pk]
    assert ids(f"q=@{conversation.customer.handle}") == [conversation.pk]


def test_unknown_filter_value_is_a_400_with_a_message(api):
    response = api.get("/api/conversations/?intent=gossip")

    assert response.status_code == 400
    assert "intent" in response.data


def test_list_query_count_is_flat(api, default_team, django_assert_max_num_queries):
    for _ in range(25):
        PostFactory(conversation=ConversationFactory(team=default_team))

    with django_assert_max_num_queries(8):
        response = api.get("/api/conversations/")

    assert len(response.data["results"]) == 25


def test_detail_has_the_thread(api, conversation):
    response = api.get(f"/api/conversations/{conversation.pk}/")

    assert [p["text"] for p in response.data["posts"]] == ["@brand my order never came"]


def test_other_teams_conversation_is_not_found(api):
    elsewhere = ConversationFactory(team=TeamFactory())

    assert api.get(f"/api/conversations/{elsewhere.pk}/").status_code == 404
    assert api.post(f"/api/conversations/{elsewhere.pk}/reply/", {"text": "hi"}).status_code == 404


def test_unauthenticated_requests_are_refused(conversation):
    assert APIClient().get("/api/conversations/").status_code == 403


def test_reply_is_created_and_delivered(api, conversation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/conversations/{conversation.pk}/reply/", {"text": "On it!"}, format="json"
        )

    assert response.status_code == 201
    assert response.data["text"] == "On it!"
    assert Post.objects.get(direction=Direction.OUTBOUND).delivery_status == "sent"


def test_blank_reply_is_a_400_with_a_message(api, conversation):
    response = api.post(f"/api/conversations/{conversation.pk}/reply/", {"text": " "})

    assert response.status_code == 400
    assert "text" in response.data


def test_reply_after_unseen_activity_is_a_409(api, conversation):
    seen = conversation.posts.get().pk
    PostFactory(conversation=conversation)

    response = api.post(
        f"/api/conversations/{conversation.pk}/reply/",
        {"text": "OK", "seen_post_id": seen},
        format="json",
    )

    assert response.status_code == 409
    assert "New activity arrived" in response.data["detail"][0]


def test_assign_to_me_then_a_stale_reassign_is_a_409(api, agent, conversation, default_team):
    colleague = AgentFactory(teams=[default_team])
    url = f"/api/conversations/{conversation.pk}/assign/"

    taken = api.post(url, {"agent": agent.username, "expected_assignee": None}, format="json")
    stale = api.post(url, {"agent": colleague.username, "expected_assignee": None}, format="json")

    assert taken.status_code == 200
    assert taken.data["assignee"] == agent.username
    assert stale.status_code == 409


def test_move_to_another_team_then_it_has_left_the_agents_list(api, agent, conversation):
    billing = TeamFactory(name="Billing", slug="billing")
    url = f"/api/conversations/{conversation.pk}/team/"

    moved = api.post(url, {"team": "billing"}, format="json")
    unknown = api.post(url, {"team": "no-such-team"}, format="json")

    assert moved.status_code == 200
    assert (moved.data["team"], moved.data["assignee"]) == ("Billing", None)
    assert billing.conversations.filter(pk=conversation.pk).exists()
    assert api.get("/api/conversations/").data["results"] == []
    # Out of the agent's teams now: not found for them, like any other team's conversation.
    assert unknown.status_code == 404


def test_moving_to_an_unknown_team_is_a_400_that_says_so(api, conversation):
    refused = api.post(
        f"/api/conversations/{conversation.pk}/team/", {"team": "no-such-team"}, format="json"
    )

    assert refused.status_code == 400
    assert "team" in refused.data


def test_resolve_and_add_a_note(api, conversation):
    resolved = api.post(
        f"/api/conversations/{conversation.pk}/status/", {"status": "resolved"}, format="json"
    )
    note = api.post(f"/api/conversations/{conversation.pk}/notes/", {"text": "refund issued"})

    assert resolved.data["status"] == ConversationStatus.RESOLVED
    assert note.status_code == 201
    assert api.get(f"/api/conversations/{conversation.pk}/").data["notes"][0]["text"] == (
        "refund issued"
    )


def test_templates_come_rendered_for_the_conversation(api, conversation, default_team):
    ReplyTemplate.objects.create(name="Hi", body="Hi {{ customer.handle }}!", team=default_team)
    ReplyTemplate.objects.create(name="Other", body="x", team=TeamFactory())

    response = api.get(f"/api/conversations/{conversation.pk}/templates/")

    assert response.data == [
        {
            "id": ReplyTemplate.objects.get(name="Hi").pk,
            "name": "Hi",
            "text": f"Hi @{conversation.customer.handle}!",
            "suggested": False,
        }
    ]


def test_templates_for_the_latest_posts_intent_come_first_and_marked(
    api, conversation, default_team
):
    ReplyTemplate.objects.create(name="Apology", body="Sorry!", intent=Intent.COMPLAINT)
    ReplyTemplate.objects.create(name="Thanks", body="Thanks!", intent=Intent.COMPLIMENT)
    PostFactory(conversation=conversation, intent=Intent.COMPLIMENT)

    response = api.get(f"/api/conversations/{conversation.pk}/templates/")

    assert [(template["name"], template["suggested"]) for template in response.data] == [
        ("Thanks", True),
        ("Apology", False),
    ]
