"""The conversation page's actions: status, snooze, assignment, notes, templates, replies."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import (
    ConversationStatus,
    Direction,
    Note,
    Post,
    ReplyTemplate,
    ReplyTemplateVariant,
)
from sla.models import SlaTimer, TimerKind, TimerState
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(
        team=default_team, customer=CustomerFactory(display_name="Maria Lopez", handle="maria")
    )
    PostFactory(conversation=conversation, text="@brand where is my parcel?")
    return conversation


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


def url(name: str, conversation) -> str:
    return reverse(name, args=[conversation.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_resolving_returns_to_the_inbox_without_the_conversation(logged_in, conversation):
    response = logged_in.post(url("conversation_status", conversation), {"status": "resolved"})

    assert response.status_code == 302 and response.url == reverse("inbox")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.RESOLVED
    assert conversation.resolved_at is not None
    inbox = logged_in.get(response.url)
    assert "where is my parcel" not in inbox.content.decode().split("<tbody")[1]
    assert "@maria: Resolved." in messages_of(inbox)


def test_pending_keeps_the_agent_on_the_conversation(logged_in, conversation):
    response = logged_in.post(url("conversation_status", conversation), {"status": "pending"})

    assert response.url == url("conversation", conversation)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.PENDING


def test_unknown_status_is_a_400_with_a_message(logged_in, conversation):
    response = logged_in.post(url("conversation_status", conversation), {"status": "archived"})

    assert response.status_code == 400
    assert "“archived” is not a conversation status." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW


def test_snooze_for_an_hour_hides_it_from_the_inbox(logged_in, conversation):
    before = timezone.now()

    response = logged_in.post(url("conversation_status", conversation), {"snooze": "1h"})

    conversation.refresh_from_db()
    assert before + timedelta(hours=1) <= conversation.snoozed_until
    assert conversation.snoozed_until <= timezone.now() + timedelta(hours=1)
    assert conversation.status == ConversationStatus.NEW
    inbox = logged_in.get(response.url)
    assert "where is my parcel" not in inbox.content.decode().split("<tbody")[1]
    assert messages_of(inbox)[0].startswith("Snoozed until ")


def test_snooze_until_tomorrow_wakes_at_nine(logged_in, conversation):
    logged_in.post(url("conversation_status", conversation), {"snooze": "tomorrow"})

    conversation.refresh_from_db()
    wake = timezone.localtime(conversation.snoozed_until)
    assert (wake.hour, wake.minute) == (9, 0)
    assert wake.date() == (timezone.localtime() + timedelta(days=1)).date()


def test_assign_to_me(logged_in, agent, conversation):
    response = logged_in.post(
        url("conversation_assign", conversation), {"agent": "me", "expected_assignee": ""}
    )

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assignee == agent


def test_assign_when_someone_else_took_it_meanwhile_is_refused(
    logged_in, agent, conversation, default_team
):
    colleague = AgentFactory(teams=[default_team])
    # The page showed nobody; the colleague took it after the page loaded.
    conversation.assignee = colleague
    conversation.save()

    response = logged_in.post(
        url("conversation_assign", conversation), {"agent": "me", "expected_assignee": ""}
    )

    assert response.status_code == 409
    assert "Someone else changed the assignee meanwhile; reload to see." in messages_of(response)
    conversation.refresh_from_db()
    assert conversation.assignee == colleague


def test_assign_to_a_teammate_then_unassign(logged_in, agent, conversation, default_team):
    teammate = AgentFactory(teams=[default_team])

    logged_in.post(
        url("conversation_assign", conversation),
        {"agent": str(teammate.pk), "expected_assignee": ""},
    )
    conversation.refresh_from_db()
    assert conversation.assignee == teammate

    logged_in.post(
        url("conversation_assign", conversation),
        {"agent": "", "expected_assignee": str(teammate.pk)},
    )
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_assign_to_someone_outside_the_team_is_a_400(logged_in, conversation):
    outsider = AgentFactory(teams=[TeamFactory()])

    response = logged_in.post(
        url("conversation_assign", conversation),
        {"agent": str(outsider.pk), "expected_assignee": ""},
    )

    assert response.status_code == 400
    assert "Pick an agent of this conversation's team." in messages_of(response)
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_teammate_select_lists_the_team(logged_in, conversation, default_team):
    teammate = AgentFactory(teams=[default_team], first_name="Ana", last_name="Silva")
    AgentFactory(teams=[TeamFactory()], first_name="Olaf")

    page = logged_in.get(url("conversation", conversation)).content.decode()

    assert f'<option value="{teammate.pk}">Ana Silva</option>' in page
    assert "Olaf" not in page


def test_note_is_listed_with_the_mention_highlighted_and_text_escaped(
    logged_in, agent, conversation, default_team
):
    AgentFactory(username="dana", teams=[default_team])

    response = logged_in.post(
        url("conversation_note", conversation),
        {"text": "@dana can you check <b>this</b>? @nobody is not a user"},
    )

    page = logged_in.get(response.url).content.decode()
    assert '<mark class="mention">@dana</mark> can you check &lt;b&gt;this&lt;/b&gt;?' in page
    assert "@nobody is not a user" in page
    note = Note.objects.get()
    assert [user.username for user in note.mentions.all()] == ["dana"]
    assert note.author == agent


def test_blank_note_is_a_400_with_a_message(logged_in, conversation):
    response = logged_in.post(url("conversation_note", conversation), {"text": "  "})

    assert response.status_code == 400
    assert "A note needs some text." in messages_of(response)
    assert not Note.objects.exists()


def test_templates_are_rendered_for_this_conversation_into_the_page(
    logged_in, agent, conversation, default_team
):
    agent.first_name = "Dana"
    agent.save()
    template = ReplyTemplate.objects.create(
        name="Sorry", body="Hi {{ customer.first_name }}, sorry! ^{{ agent.first_name }}"
    )
    ReplyTemplate.objects.create(name="Team only", body="For us", team=default_team)
    ReplyTemplate.objects.create(name="Other team", body="Not for us", team=TeamFactory())
    ReplyTemplateVariant.objects.create(
        template=template, platform="twitter", body="Only on X {{ customer.handle }}"
    )

    page = logged_in.get(url("conversation", conversation)).content.decode()

    offered = json.loads(
        re.search(r'<script id="reply-templates" type="application/json">(.*?)</script>', page)[1]
    )
    assert [(t["name"], t["text"]) for t in offered] == [
        ("Sorry", "Hi Maria, sorry! ^Dana"),
        ("Team only", "For us"),
    ]
    assert '<option value="">Insert template…</option>' in page


def test_template_text_from_the_customer_cannot_break_out_of_the_page(logged_in, conversation):
    conversation.customer.display_name = "</script><script>alert(1)</script>"
    conversation.customer.save()
    ReplyTemplate.objects.create(name="Hi", body="Hi {{ customer.name }}")

    page = logged_in.get(url("conversation", conversation)).content.decode()

    assert "<script>alert(1)" not in page


def test_reply_after_unseen_activity_asks_to_confirm_then_sends(
    logged_in, conversation, django_capture_on_commit_callbacks
):
    seen = conversation.posts.get()
    newer = PostFactory(conversation=conversation, text="@brand hello?? anyone")

    response = logged_in.post(
        url("conversation", conversation), {"text": "On it!", "seen_post_id": seen.pk}
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "New activity arrived since you opened this conversation. Read it, then send." in page
    assert ">Send anyway</button>" in page
    assert "@brand hello?? anyone" in page
    assert f'name="seen_post_id" value="{newer.pk}"' in page
    assert "On it!</textarea>" in page
    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = logged_in.post(
            url("conversation", conversation), {"text": "On it!", "seen_post_id": newer.pk}
        )

    assert confirmed.status_code == 302
    assert Post.objects.get(direction=Direction.OUTBOUND).text == "On it!"


def test_page_carries_the_newest_post_id_and_the_platform_limit(logged_in, conversation):
    newest = PostFactory(conversation=conversation)

    page = logged_in.get(url("conversation", conversation)).content.decode()

    assert f'name="seen_post_id" value="{newest.pk}"' in page
    assert 'data-char-limit="280"' in page


def test_reply_over_the_platform_limit_is_a_form_error(logged_in, conversation):
    response = logged_in.post(url("conversation", conversation), {"text": "x" * 281})

    assert response.status_code == 400
    assert "Demo replies are limited to 280 characters; this one counts 281." in (
        response.content.decode()
    )
    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()


def test_failed_delivery_shows_the_platforms_error(logged_in, conversation, agent):
    PostFactory(
        conversation=conversation,
        direction=Direction.OUTBOUND,
        customer=None,
        agent=agent,
        external_id=None,
        text="Our answer",
        delivery_status="failed",
        delivery_error="403 Forbidden: duplicate status",
    )

    page = logged_in.get(url("conversation", conversation)).content.decode()

    assert "Not published: 403 Forbidden: duplicate status" in page


def test_customer_profile_links_past_conversations(logged_in, conversation, default_team):
    earlier = ConversationFactory(
        team=default_team, customer=conversation.customer, status=ConversationStatus.CLOSED
    )
    hidden = ConversationFactory(team=TeamFactory(), customer=conversation.customer)

    page = logged_in.get(url("conversation", conversation)).content.decode()

    assert f'href="/conversations/{earlier.pk}/">#{earlier.pk}</a>' in page
    assert f"/conversations/{hidden.pk}/" not in page


def test_thread_fragment_is_escaped_and_visible_only_to_the_team(client, logged_in, conversation):
    PostFactory(conversation=conversation, text="<img src=x onerror=alert(1)>")

    fragment = logged_in.get(url("conversation_thread", conversation)).content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;" in fragment
    assert "<img" not in fragment
    outsider = AgentFactory(teams=[TeamFactory()])
    client.login(username=outsider.username, password=AGENT_PASSWORD)
    assert client.get(url("conversation_thread", conversation)).status_code == 404


def test_actions_on_another_teams_conversation_are_not_found(client, conversation):
    outsider = AgentFactory(teams=[TeamFactory()])
    client.login(username=outsider.username, password=AGENT_PASSWORD)

    for name, data in [
        ("conversation_status", {"status": "resolved"}),
        ("conversation_assign", {"agent": "me", "expected_assignee": ""}),
        ("conversation_note", {"text": "hi"}),
    ]:
        assert client.post(url(name, conversation), data).status_code == 404
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW and conversation.assignee is None
    assert not Note.objects.exists()


def test_sla_timers_are_shown_with_their_state(logged_in, conversation):
    due = timezone.now() + timedelta(minutes=10)
    SlaTimer.objects.create(
        conversation=conversation,
        kind=TimerKind.FIRST_RESPONSE,
        state=TimerState.AT_RISK,
        target_seconds=900,
        started_at=timezone.now(),
        due_at=due,
    )

    page = logged_in.get(url("conversation", conversation)).content.decode()

    assert "<dt>First response SLA</dt>" in page
    assert '<span class="sla-state sla-at_risk">At risk</span> · due ' in page


@pytest.mark.parametrize("size", [2, 20])
def test_conversation_page_query_count_is_constant(
    logged_in, agent, conversation, default_team, size, django_assert_max_num_queries
):
    for n in range(size):
        PostFactory(conversation=conversation, text=f"post {n}")
        note = Note.objects.create(conversation=conversation, author=agent, text=f"@{agent} n{n}")
        note.mentions.add(agent)
        AgentFactory(teams=[default_team])
        ConversationFactory(customer=conversation.customer, team=default_team)
        ReplyTemplate.objects.create(name=f"t{n}", body="Hi {{ customer.name }}")

    # 15 with notes and reply templates (each brings its mentions and variants): the page
    # no longer reads the inbox queue for `n` (conversation_next does, when asked).
    with django_assert_max_num_queries(15):
        response = logged_in.get(url("conversation", conversation))

    assert response.content.decode().count('class="note"') == size


def test_inbound_posts_offer_one_click_tag_corrections(client, agent, default_team):
    from core.models import Intent, Sentiment

    conversation = ConversationFactory(team=default_team)
    post = PostFactory(
        conversation=conversation, intent=Intent.COMPLAINT, sentiment=Sentiment.NEGATIVE
    )
    client.force_login(agent)

    page = client.get(reverse("conversation", args=[conversation.pk])).content.decode()

    assert f'data-feedback-url="/triage/posts/{post.pk}/feedback/"' in page
    assert '<option value="complaint" selected>Complaint</option>' in page
    assert '<option value="negative" selected>Negative</option>' in page
    assert "js/triage.js" in page


def test_running_sla_timers_carry_their_due_instants_for_the_live_countdown(
    client, agent, default_team
):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation)
    due = timezone.now() + timedelta(minutes=15)
    SlaTimer.objects.create(
        conversation=conversation,
        kind=TimerKind.FIRST_RESPONSE,
        state=TimerState.OK,
        target_seconds=900,
        started_at=timezone.now(),
        due_at=due,
        at_risk_at=due - timedelta(minutes=3),
    )
    client.force_login(agent)

    page = client.get(reverse("conversation", args=[conversation.pk])).content.decode()

    assert f'data-due="{due.isoformat()}"' in page
    assert 'class="countdown"' in page
    assert "js/sla_timers.js" in page
