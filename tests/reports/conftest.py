import pytest
from django.contrib.auth.models import Permission

from tests.factories import AgentFactory
from tests.reports.dataset import build_week


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.fixture
def supervisor(db):
    """A supervisor who sees every team's conversations."""
    user = AgentFactory(username="sam")
    grant(user, "receive_team_alerts", "view_all_conversations")
    return user


@pytest.fixture
def week(db):
    return build_week()
