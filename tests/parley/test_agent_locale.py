"""Each agent's own language and time zone: chosen on the profile page, applied to every page
they open, over whatever their browser says."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from core.models import AgentProfile
from parley.agent_locale import SESSION_KEY
from parley.people import update_profile
from tests.factories import AGENT_PASSWORD, AgentFactory, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db

# Wednesday 2 December 2026, 15:00 UTC: 10:00 in New York (EST), 16:00 in Paris.
POSTED_AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def choose(user, **choice) -> None:
    AgentProfile.objects.filter(user=user).update(**choice)


def test_an_agent_who_chose_french_sees_the_inbox_in_french_in_an_english_browser(client, agent):
    choose(agent, language="fr")
    client.force_login(agent)

    page = client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "fr"
    assert '<html lang="fr">' in html
    assert "<h1>Boîte de réception</h1>" in html
    assert "Attente la plus longue" in html  # a sort label, from Python
    assert "Inbox</h1>" not in html


def test_without_a_choice_the_browser_language_decides(client, agent):
    client.force_login(agent)

    french = client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    english = client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert "<h1>Boîte de réception</h1>" in french
    assert "<h1>Inbox</h1>" in english


def test_an_agent_who_chose_english_keeps_it_in_a_french_browser(client, agent):
    choose(agent, language="en")
    client.force_login(agent)

    html = client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()

    assert "<h1>Inbox</h1>" in html


def test_an_agent_in_new_york_sees_new_york_times_on_the_conversation_page(
    client, agent, default_team
):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation, created_at=POSTED_AT)
    colleague = AgentFactory(teams=[default_team])
    choose(agent, time_zone="America/New_York")
    url = reverse("conversation", args=[conversation.pk])

    client.force_login(agent)
    in_new_york = client.get(url).content.decode()
    client.force_login(colleague)
    on_the_server_zone = client.get(url).content.decode()

    iso = POSTED_AT.isoformat()
    assert '<body data-time-zone="America/New_York">' in in_new_york
    assert f'<time datetime="{iso}">Wed 2 Dec, 10:00</time>' in in_new_york
    assert '<body data-time-zone="UTC">' in on_the_server_zone
    assert f'<time datetime="{iso}">Wed 2 Dec, 15:00</time>' in on_the_server_zone


def test_french_and_paris_together_name_the_day_in_french(client, agent, default_team):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation, created_at=POSTED_AT)
    choose(agent, language="fr", time_zone="Europe/Paris")
    client.force_login(agent)

    html = client.get(reverse("conversation", args=[conversation.pk])).content.decode()

    assert f'<time datetime="{POSTED_AT.isoformat()}">mer 2 Déc, 16:00</time>' in html
    assert "Envoyer la réponse" in html


def test_the_profile_page_saves_the_choice_and_the_next_page_uses_it(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)

    saved = client.post(
        reverse("profile"),
        {"first_name": "Dana", "language": "fr", "time_zone": "America/New_York"},
        follow=True,
    )

    html = saved.content.decode()
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.language, profile.time_zone) == ("fr", "America/New_York")
    assert "Profil enregistré." in html
    assert '<body data-time-zone="America/New_York">' in html
    assert '<option value="America/New_York" selected>America/New York</option>' in html


def test_an_unknown_time_zone_or_language_is_refused_on_the_form(client, agent):
    client.force_login(agent)

    refused = client.post(reverse("profile"), {"language": "xx", "time_zone": "Mars/Olympus_Mons"})

    html = refused.content.decode()
    assert refused.status_code == 400
    assert "Select a valid choice. xx is not one of the available choices." in html
    assert "Select a valid choice. Mars/Olympus_Mons is not one of the available choices." in html
    assert AgentProfile.objects.filter(user=agent, language="", time_zone="").exists()


def test_the_service_refuses_an_unknown_zone_too(agent):
    data = {"first_name": "", "last_name": "", "signature": "", "notify_in_page": True}
    data |= {"notify_desktop": False, "notify_by_email": False}

    with pytest.raises(ValueError, match="Unknown time zone 'Europe/Atlantis'"):
        update_profile(user=agent, data=data | {"time_zone": "Europe/Atlantis"})
    with pytest.raises(ValueError, match="Unknown language 'tlh'"):
        update_profile(user=agent, data=data | {"language": "tlh"})


def test_the_choice_is_kept_in_the_session_from_login(client, agent):
    choose(agent, language="fr", time_zone="Asia/Tokyo")
    client.force_login(agent)
    client.get(reverse("profile"))

    assert client.session[SESSION_KEY] == {"language": "fr", "time_zone": "Asia/Tokyo"}
    # A session from before the choice existed is filled once, from the profile.
    session = client.session
    del session[SESSION_KEY]
    session.save()
    client.get(reverse("profile"))
    assert client.session[SESSION_KEY] == {"language": "fr", "time_zone": "Asia/Tokyo"}


def test_a_zone_that_no_longer_exists_falls_back_to_the_server_zone(client, agent):
    client.force_login(agent)
    session = client.session
    session[SESSION_KEY] = {"language": "zz", "time_zone": "Nowhere/Gone"}
    session.save()

    page = client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert '<body data-time-zone="UTC">' in page.content.decode()
