import pytest
from django.contrib.auth.models import Group

from core import roles
from routing.models import RoutingRule
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = AgentFactory(is_staff=True)
    admin.groups.add(Group.objects.get(name=roles.ADMIN))
    client.force_login(admin)
    return client


def test_rule_tester_says_whether_the_rule_and_which_rule_would_route_a_sample(admin_client):
    legal = RoutingRule.objects.create(
        name="Legal", position=1, keywords="court, lawyer", team=TeamFactory(name="Legal team")
    )
    vip = RoutingRule.objects.create(
        name="VIP", position=2, influencers_only=True, team=TeamFactory(name="VIP team")
    )

    page = admin_client.post(
        f"/admin/routing/routingrule/{vip.pk}/test/",
        {"text": "@brand see you in court", "platform": "twitter", "follower_count": 500000},
    ).content.decode()

    assert "“VIP” matches this post" in page
    assert f"It would be routed by “{legal.name}” to Legal team" in page


def test_rule_tester_reports_bad_input_as_form_errors(admin_client):
    rule = RoutingRule.objects.create(name="Any", team=TeamFactory())

    page = admin_client.post(
        f"/admin/routing/routingrule/{rule.pk}/test/",
        {"text": "", "platform": "myspace", "follower_count": -1},
    ).content.decode()

    assert "This field is required." in page
    assert "Select a valid choice" in page
    assert "greater than or equal to 0" in page
