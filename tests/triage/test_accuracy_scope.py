"""`/triage/accuracy/` counts what the caller may see (security, item 10): an agent, the
verdicts on their own teams' posts; a supervisor, every team's."""

import pytest
from django.contrib.auth.models import Group

from core.roles import SUPERVISOR
from tests.factories import AgentFactory, PostFactory, TeamFactory
from triage.services import record_feedback

pytestmark = pytest.mark.django_db


def _reviewed(client, user) -> int:
    client.force_login(user)
    answer = client.get("/triage/accuracy/")
    assert answer.status_code == 200
    return sum(day["reviewed"] for day in answer.json()["intent"]["by_day"])


def test_an_agent_sees_accuracy_over_their_own_teams_only(client, agent, default_team):
    other_team = TeamFactory()
    outsider = AgentFactory(teams=[other_team])
    ours = PostFactory(intent="complaint", conversation__team=default_team)
    theirs = PostFactory.create_batch(3, intent="complaint", conversation__team=other_team)
    record_feedback(post_id=ours.pk, field="intent", label="complaint", agent=agent)
    for post in theirs:
        record_feedback(post_id=post.pk, field="intent", label="question", agent=outsider)
    supervisor = AgentFactory(teams=[])
    supervisor.groups.add(Group.objects.get(name=SUPERVISOR))

    assert _reviewed(client, agent) == 1
    assert _reviewed(client, outsider) == 3
    assert _reviewed(client, supervisor) == 4
