"""Read-side queries of ingestion."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.models import Customer

from .models import CustomerLink, LinkStatus


def linked_identities(*, customer: Customer) -> QuerySet[Customer]:
    """The customer's confirmed identities on other platforms."""
    links = CustomerLink.objects.filter(status=LinkStatus.CONFIRMED).filter(
        Q(customer=customer) | Q(other=customer)
    )
    ids = {pk for pair in links.values_list("customer_id", "other_id") for pk in pair}
    ids.discard(customer.pk)
    return Customer.objects.filter(pk__in=ids).order_by("platform", "handle")
