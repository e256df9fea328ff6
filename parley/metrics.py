"""Prometheus metrics: django-prometheus's request and process metrics, plus Parley's own
read from the database, the broker and the cache at each scrape, and the protected `/metrics`.

Parley's metrics describe the whole deployment, not one process: every web process answers
with the same numbers, read from PostgreSQL and Redis, so scraping any one of them is enough
and workers need no endpoint of their own. Each read uses an index, a small table or a cache
key; what only a scan of the posts could tell is counted as it happens instead (posts
ingested, core.counters) or kept from the sweep that finds it anyway (stranded work).
"""

from __future__ import annotations

import ipaddress
import logging
import statistics
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric

from core import counters
from core.models import DeliveryStatus, Direction, IntegrationDelivery, Platform, Post
from ingestion.models import WebhookDelivery
from ingestion.sweeps import STRANDED_COUNTS_KEY
from reliability.models import DeadLetter
from reliability.services import queue_backlog
from sla.models import SlaTimer, TimerState

from .webhook_fast_path import flush_request_metrics

logger = logging.getLogger(__name__)

# Triage latency is measured over this many most recently processed webhook deliveries.
LATENCY_SAMPLE = 200


class ParleyCollector:
    """Parley's gauges, computed when Prometheus scrapes. A family whose read fails (the
    broker or database down) is left out of that scrape and logged, not a failed scrape."""

    def collect(self) -> Iterator[Metric]:
        for family in (
            self._queue_backlog,
            self._dead_letters,
            self._stranded_work,
            self._webhook_deliveries_pending,
            self._integration_deliveries_pending,
            self._sla_timers,
            self._posts_ingested,
            self._reply_delivery_failures,
            self._triage_latency,
        ):
            try:
                yield from family()
            except Exception as error:
                logger.warning("Metric %s unavailable: %s", family.__name__, error)

    def _queue_backlog(self) -> Iterator[Metric]:
        backlog = queue_backlog()
        if backlog is not None:  # in-process tasks, or the broker cannot say
            yield GaugeMetricFamily(
                "parley_queue_backlog",
                "Messages waiting in the Celery queue for a worker.",
                value=backlog,
            )

    def _dead_letters(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "parley_dead_letters",
            "Tasks that gave up and were not replayed yet (Admin > Dead letters).",
            value=DeadLetter.objects.filter(replayed_at__isnull=True).count(),
        )

    def _stranded_work(self) -> Iterator[Metric]:
        counts = cache.get(STRANDED_COUNTS_KEY)
        if counts is None:  # no sweep ran lately (or the broker is behind: it waits)
            return
        family = GaugeMetricFamily(
            "parley_stranded_work",
            "Committed work whose task never ran or was lost, as the reliability sweep last "
            "found it (up to 500 of each kind) before queueing it again.",
            labels=["kind"],
        )
        for kind in ("deliveries", "posts", "replies"):
            family.add_metric([kind], counts.get(kind, 0))
        yield family

    def _webhook_deliveries_pending(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "parley_webhook_deliveries_pending",
            "Platform webhook deliveries stored and not processed yet.",
            labels=["platform"],
        )
        for platform, pending in _counts_by(
            WebhookDelivery.objects.filter(processed_at__isnull=True), "platform"
        ):
            family.add_metric([platform], pending)
        yield family

    def _integration_deliveries_pending(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "parley_integration_deliveries_pending",
            "Outbound integration webhook events not delivered yet.",
            value=IntegrationDelivery.objects.filter(delivered_at__isnull=True).count(),
        )

    def _sla_timers(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "parley_sla_timers",
            "Running SLA timers at risk or breached.",
            labels=["state"],
        )
        counts = dict(
            _counts_by(
                SlaTimer.objects.filter(
                    state__in=[TimerState.AT_RISK, TimerState.BREACHED], stopped_at__isnull=True
                ),
                "state",
            )
        )
        for state in (TimerState.AT_RISK, TimerState.BREACHED):
            family.add_metric([state.value], counts.get(state.value, 0))
        yield family

    def _posts_ingested(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "parley_posts_ingested",
            "Inbound posts stored, per platform (since Redis last started empty).",
            labels=["platform"],
        )
        names = {counters.posts_ingested_counter(platform): platform for platform in Platform}
        for name, stored in counters.read(names).items():
            family.add_metric([names[name]], stored)
        yield family

    def _reply_delivery_failures(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "parley_reply_delivery_failures",
            "Agents' replies the platform did not take after every retry, per platform.",
            labels=["platform"],
        )
        # Through the small reply-attempt table: every reply that was tried has a row there.
        failed = Post.objects.filter(
            reply_attempt__isnull=False,
            direction=Direction.OUTBOUND,
            delivery_status=DeliveryStatus.FAILED,
        )
        for platform, count in _counts_by(failed, "platform"):
            family.add_metric([platform], count)
        yield family

    def _triage_latency(self) -> Iterator[Metric]:
        since = timezone.now() - timedelta(hours=1)
        latencies = [
            latency.total_seconds()
            for latency in WebhookDelivery.objects.filter(
                processed_at__isnull=False, received_at__gte=since
            )
            .order_by("-pk")
            .annotate(latency=F("processed_at") - F("received_at"))
            .values_list("latency", flat=True)[:LATENCY_SAMPLE]
        ]
        family = GaugeMetricFamily(
            "parley_triage_latency_seconds",
            f"Seconds from a webhook delivery's arrival to its posts stored, triaged and "
            f"routed: quantiles over the last {LATENCY_SAMPLE} processed in the past hour.",
            labels=["quantile"],
        )
        if latencies:
            quantiles = (
                statistics.quantiles(latencies, n=20, method="inclusive")
                if len(latencies) > 1
                else [latencies[0]] * 19
            )
            family.add_metric(["0.5"], statistics.median(latencies))
            family.add_metric(["0.95"], quantiles[18])
        yield family


def _counts_by(queryset: Any, field: str) -> list[tuple[str, int]]:
    return list(
        queryset.order_by()
        .values_list(field)
        .annotate(count=Count("pk"))
        .values_list(field, "count")
    )


_collector: ParleyCollector | None = None


def register_collector() -> None:
    """Add Parley's gauges to the default registry, once per process."""
    global _collector
    if _collector is None:
        _collector = ParleyCollector()
        REGISTRY.register(_collector)


def _allowed(request: HttpRequest) -> bool:
    """The bearer token when one is set, else the caller's address in an allowed network."""
    token = settings.METRICS_TOKEN
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return constant_time_compare(offered, token)
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Metrics need the bearer token (METRICS_TOKEN) or an address in "
            "METRICS_ALLOWED_NETWORKS.\n",
            status=403,
            content_type="text/plain",
        )
    register_collector()
    flush_request_metrics()
    export: Callable[[HttpRequest], HttpResponse] = ExportToDjangoView
    return export(request)
