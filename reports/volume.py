"""How long each account's volume has been watched: spike detection compares an account's
volume with its usual only once it has a baseline's worth of history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core.models import Direction, Post
from ingestion.models import PlatformAccount

from .models import VolumeHistory


def history_since(accounts: Iterable[PlatformAccount]) -> dict[int, datetime]:
    """When each account's inbound history starts (accounts without posts are left out).

    Read once per account from the oldest post and kept (VolumeHistory): history only grows,
    so detection never searches for it again. The search walks the (direction, created_at)
    index from its oldest entry to the account's first post.
    """
    accounts = list(accounts)
    known = dict(
        VolumeHistory.objects.filter(account__in=accounts).values_list(
            "account_id", "first_post_at"
        )
    )
    for account in accounts:
        if account.pk in known:
            continue
        first = (
            # Through the conversation: a post written without save() may lack its account.
            Post.objects.filter(direction=Direction.INBOUND, conversation__account=account)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if first is None:
            continue
        VolumeHistory.objects.get_or_create(account=account, defaults={"first_post_at": first})
        known[account.pk] = first
    return known


def volume_learning(
    *, now: datetime | None = None
) -> list[tuple[PlatformAccount, datetime | None]]:
    """Active accounts with less than a baseline's worth of history, and from when their
    spikes can be alerted (None: no post yet). Their usual volume is still being learned."""
    now = now or timezone.now()
    baseline = timedelta(hours=settings.SPIKE_BASELINE_HOURS)
    window = timedelta(minutes=settings.SPIKE_WINDOW_MINUTES)
    accounts = list(PlatformAccount.objects.filter(is_active=True).order_by("platform", "handle"))
    since = history_since(accounts)
    learning = []
    for account in accounts:
        first = since.get(account.pk)
        if first is None or first > now - window - baseline:
            learning.append((account, first + window + baseline if first else None))
    return learning
