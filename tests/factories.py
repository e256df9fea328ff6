"""factory_boy factories for Parley's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.models import (
    AgentProfile,
    Conversation,
    Customer,
    DeliveryStatus,
    Direction,
    Platform,
    Post,
    Team,
)
from ingestion.connectors import InboundAuthor, InboundItem
from ingestion.models import PlatformAccount

AGENT_PASSWORD = "correct-horse-battery"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    password = factory.PostGenerationMethodCall("set_password", AGENT_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AgentFactory(UserFactory):
    """A user with an agent profile; `teams=[...]` puts them in teams."""

    @factory.post_generation
    def teams(obj, create, extracted, **kwargs):
        profile = AgentProfile.objects.create(user=obj, is_online=True)
        if extracted:
            profile.teams.add(*extracted)


class PlatformAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformAccount

    platform = Platform.DEMO
    handle = factory.Sequence(lambda n: f"brand{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    platform = Platform.DEMO
    external_id = factory.Sequence(lambda n: f"user-{n}")
    handle = factory.Sequence(lambda n: f"customer{n}")
    display_name = factory.Faker("name")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)
    account = factory.SubFactory(PlatformAccountFactory)


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    conversation = factory.SubFactory(ConversationFactory)
    direction = Direction.INBOUND
    platform = factory.SelfAttribute("conversation.account.platform")
    external_id = factory.Sequence(lambda n: f"post-{n}")
    customer = factory.SelfAttribute("conversation.customer")
    text = "@brand where is my order?"
    created_at = factory.LazyFunction(timezone.now)


def pending_reply(inbound: Post, text: str) -> Post:
    """The brand's answer to `inbound`, stored and waiting to be sent, as any path stores one."""
    return PostFactory(
        conversation=inbound.conversation,
        direction=Direction.OUTBOUND,
        external_id=None,
        customer=None,
        in_reply_to=inbound.external_id,
        text=text,
        delivery_status=DeliveryStatus.PENDING,
    )


class InboundItemFactory(factory.Factory):
    """A post as a connector hands it over, before Parley stores it."""

    class Meta:
        model = InboundItem

    external_id = factory.Sequence(lambda n: f"item-{n}")
    author = factory.LazyFunction(
        lambda: InboundAuthor(external_id="cust-1", handle="maria", display_name="Maria")
    )
    text = "@brand how do I change my delivery address?"
    created_at = factory.LazyFunction(timezone.now)
    in_reply_to = ""
    raw = factory.LazyAttribute(lambda item: {"id": item.external_id, "text": item.text})


def move_in_admin(conversation, team):
    """A superuser moves `conversation` to `team` on its admin change page; the response."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    staff = Client()
    staff.force_login(admin)
    return staff.post(
        f"/admin/core/conversation/{conversation.pk}/change/",
        {
            "customer": conversation.customer_id,
            "account": conversation.account_id,
            "status": conversation.status,
            "team": team.pk,
            "priority": conversation.priority,
            "sentiment": conversation.sentiment,
            "posts-TOTAL_FORMS": "0",
            "posts-INITIAL_FORMS": "0",
        },
    )
