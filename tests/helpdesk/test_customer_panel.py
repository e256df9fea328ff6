"""The customer panel (issue 18 item 18): notes on the customer, and merging a suggested
profile on another platform into the customer (one history), and unmerging it."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import Platform
from helpdesk.customers import CUSTOMER_NOTES_MAX, merge_profile, unmerge_profile, update_notes
from ingestion.models import CustomerLink, LinkStatus
from tests.factories import AGENT_PASSWORD, ConversationFactory, CustomerFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria_on_x():
    return CustomerFactory(platform=Platform.TWITTER, handle="maria_travels")


@pytest.fixture
def maria_on_instagram():
    return CustomerFactory(platform=Platform.INSTAGRAM, handle="maria_travels")


@pytest.fixture
def suggestion(maria_on_x, maria_on_instagram):
    return CustomerLink.objects.create(
        customer=maria_on_instagram, other=maria_on_x, reason="same handle @maria_travels"
    )


@pytest.fixture
def conversation(default_team, maria_on_x):
    conversation = ConversationFactory(team=default_team, customer=maria_on_x)
    PostFactory(conversation=conversation)
    return conversation


@pytest.fixture
def instagram_history(default_team, maria_on_instagram):
    return ConversationFactory(team=default_team, customer=maria_on_instagram)


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


def test_notes_are_saved_audited_and_noted_on_the_conversation(conversation, agent):
    customer = update_notes(
        customer_id=conversation.customer_id,
        agent=agent,
        notes="  Prefers DMs. VIP since 2021.  ",
        conversation_id=conversation.pk,
    )

    assert customer.notes == "Prefers DMs. VIP since 2021."
    audited = LogEntry.objects.get_for_object(customer).filter(action=LogEntry.Action.UPDATE)
    assert audited.get().changes_dict["notes"] == ["", "Prefers DMs. VIP since 2021."]
    assert conversation.notes.get().text == "Updated the notes on @maria_travels."


def test_notes_longer_than_the_limit_are_refused(conversation, agent):
    with pytest.raises(ValidationError, match="limited to"):
        update_notes(
            customer_id=conversation.customer_id, agent=agent, notes="x" * (CUSTOMER_NOTES_MAX + 1)
        )


def test_merge_confirms_the_link_and_unmerge_makes_it_a_suggestion_again(
    suggestion, maria_on_x, agent
):
    merge_profile(link_id=suggestion.pk, customer_id=maria_on_x.pk, agent=agent)
    suggestion.refresh_from_db()
    assert suggestion.status == LinkStatus.CONFIRMED

    unmerge_profile(link_id=suggestion.pk, customer_id=maria_on_x.pk, agent=agent)
    suggestion.refresh_from_db()
    assert suggestion.status == LinkStatus.SUGGESTED
    statuses = [
        entry.changes_dict["status"]
        for entry in LogEntry.objects.get_for_object(suggestion).filter(
            action=LogEntry.Action.UPDATE
        )
    ]
    assert sorted(statuses) == sorted([["suggested", "confirmed"], ["confirmed", "suggested"]])


def test_a_link_of_another_customer_cannot_be_merged(suggestion, agent):
    stranger = CustomerFactory()

    with pytest.raises(ValidationError, match="not linked"):
        merge_profile(link_id=suggestion.pk, customer_id=stranger.pk, agent=agent)


def test_merging_twice_is_refused(suggestion, maria_on_x, agent):
    merge_profile(link_id=suggestion.pk, customer_id=maria_on_x.pk, agent=agent)

    with pytest.raises(ValidationError, match="already merged"):
        merge_profile(link_id=suggestion.pk, customer_id=maria_on_x.pk, agent=agent)


def test_the_panel_merges_a_suggested_profile_into_one_history_and_unmerges_it(
    logged_in, conversation, suggestion, instagram_history
):
    page_url = reverse("conversation", args=[conversation.pk])
    action = reverse("conversation_customer_profile", args=[conversation.pk])
    history_link = f'<a href="{reverse("conversation", args=[instagram_history.pk])}">#'

    page = logged_in.get(page_url).content.decode()
    assert "Merge into this customer" in page
    assert history_link not in page  # another identity's history, until merged

    page = logged_in.post(action, {"link": suggestion.pk, "action": "merge"}, follow=True)
    page = page.content.decode()
    assert "Profile merged." in page
    assert history_link in page
    assert "Merged the profile @maria_travels (Instagram) into this customer." in page

    page = logged_in.post(action, {"link": suggestion.pk, "action": "unmerge"}, follow=True)
    assert history_link not in page.content.decode()


def test_the_panel_saves_notes(logged_in, conversation):
    url = reverse("conversation_customer_notes", args=[conversation.pk])

    page = logged_in.post(url, {"notes": "Prefers DMs"}, follow=True).content.decode()

    assert "Customer notes saved." in page
    assert ">Prefers DMs</textarea>" in page


def test_the_panel_refuses_a_bad_merge_request_in_words(logged_in, conversation):
    url = reverse("conversation_customer_profile", args=[conversation.pk])

    response = logged_in.post(url, {"link": "x", "action": "merge"})

    assert response.status_code == 400
    assert "Choose a profile to merge or unmerge." in response.content.decode()


def test_api_saves_notes_and_merges(agent, conversation, suggestion):
    api = APIClient()
    api.force_authenticate(agent)
    base = f"/api/customers/{conversation.customer_id}"

    notes = api.post(f"{base}/notes/", {"notes": "VIP"}, format="json")
    merged = api.post(f"{base}/profiles/", {"link": suggestion.pk, "merge": True}, format="json")
    again = api.post(f"{base}/profiles/", {"link": suggestion.pk, "merge": True}, format="json")

    assert (notes.status_code, notes.data["notes"]) == (200, "VIP")
    assert merged.status_code == 200
    assert again.status_code == 400
    assert again.data["detail"] == ["This profile is already merged."]


def test_the_panel_shows_the_audience_with_the_agents_digit_grouping(logged_in, conversation):
    conversation.customer.follower_count = 15300
    conversation.customer.save(update_fields=["follower_count"])
    url = reverse("conversation", args=[conversation.pk])

    english = logged_in.get(url, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    french = logged_in.get(url, HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()

    assert '<span class="followers">15,300 followers</span>' in english
    # French groups digits with a no-break space (Django's fr formats).
    assert '<span class="followers">15\xa0300 abonnés</span>' in french
