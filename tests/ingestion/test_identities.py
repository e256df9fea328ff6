"""One customer's identities on several platforms: suggested by handle, linked by hand."""

import pytest

from core.models import Platform
from ingestion.connectors import InboundAuthor
from ingestion.models import CustomerLink, LinkStatus
from ingestion.selectors import linked_identities
from ingestion.services import ingest_item, link_customers
from tests.factories import CustomerFactory, InboundItemFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


def test_new_identity_with_a_handle_known_on_another_platform_is_suggested(default_team):
    on_x = CustomerFactory(platform=Platform.TWITTER, handle="Maria_Travels")
    instagram = PlatformAccountFactory(platform=Platform.INSTAGRAM, external_id="17841")

    post = ingest_item(
        account=instagram,
        item=InboundItemFactory(author=InboundAuthor("ig-55", "maria_travels")),
    ).post

    link = CustomerLink.objects.get()
    assert (link.customer, link.other) == (post.customer, on_x)
    assert link.status == LinkStatus.SUGGESTED
    assert link.reason == "same handle @maria_travels"
    assert not linked_identities(customer=on_x).exists()  # a suggestion links nothing yet


def test_linking_by_hand_makes_each_identity_list_the_other():
    on_x = CustomerFactory(platform=Platform.TWITTER, handle="maria")
    on_facebook = CustomerFactory(platform=Platform.FACEBOOK, handle="Maria Lopez")

    link_customers(customer_id=on_facebook.pk, other_id=on_x.pk)

    assert list(linked_identities(customer=on_x)) == [on_facebook]
    assert list(linked_identities(customer=on_facebook)) == [on_x]


def test_confirming_a_suggestion_keeps_one_link():
    on_x = CustomerFactory(platform=Platform.TWITTER, handle="maria")
    on_ig = CustomerFactory(platform=Platform.INSTAGRAM, handle="maria")
    CustomerLink.objects.create(customer=on_ig, other=on_x, reason="same handle @maria")

    link_customers(customer_id=on_x.pk, other_id=on_ig.pk)

    assert CustomerLink.objects.get().status == LinkStatus.CONFIRMED


def test_an_identity_cannot_be_linked_to_itself():
    customer = CustomerFactory()

    with pytest.raises(ValueError, match="cannot be linked to itself"):
        link_customers(customer_id=customer.pk, other_id=customer.pk)
