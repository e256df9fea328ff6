import pytest
from django.contrib.auth.models import Group, Permission

from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_permissions_from_the_user_and_their_groups_are_read_in_one_query(
    django_assert_num_queries,
):
    user = AgentFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_note"))
    group = Group.objects.create(name="Watchers")
    group.permissions.add(Permission.objects.get(codename="view_all_conversations"))
    user.groups.add(group)

    with django_assert_num_queries(1):
        assert user.has_perm("core.add_note")
        assert user.has_perm("core.view_all_conversations")
        assert not user.has_perm("routing.change_routingrule")


def test_inactive_users_have_no_permissions():
    user = AgentFactory(is_superuser=True, is_active=False)

    assert not user.has_perm("core.add_note")


def test_superusers_have_every_permission():
    assert AgentFactory(is_superuser=True).has_perm("routing.change_routingrule")
