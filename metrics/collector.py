"""The figures read from the stores at each scrape: the latest valid price, missing days, the
latest sample of each health check, the feed's last message, stored whales by status.

Each read is one small indexed query; a store that cannot be read leaves its figures out and
reports `oracle_metrics_source_up{source} 0` (and the reason in the log), so a scrape never fails
because of one store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta

import structlog
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric

from alerts import store as alert_store
from alerts.models import FeedStatus
from core.redaction import redact
from health.base import registered_checks
from health.history import latest_samples
from health.models import CheckSample
from prices import selectors

log = structlog.get_logger(__name__)

CHECK_STATUS = {
    CheckSample.Status.OK: 0,
    CheckSample.Status.ERROR: 1,
    CheckSample.Status.TIMEOUT: 2,
}


def gauge(name: str, documentation: str, value: float, labels: dict[str, str] | None = None):
    """One gauge family with one sample."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def price_metrics(now: datetime) -> Iterator[Metric]:
    """The latest valid day's prices, its age and the missing days."""
    day = selectors.latest_valid_day()
    if day is not None:
        yield gauge(
            "oracle_price_usd",
            "On-chain BTC/USD price of the latest valid day.",
            day.utxoracle_price,
        )
        yield gauge(
            "oracle_price_confidence",
            "Confidence of the latest valid day's price (0 to 1).",
            day.confidence,
        )
        yield gauge(
            "oracle_price_spread",
            "Spread of the latest valid day's price cluster (deviation: 0 tight … 0.25 none).",
            day.deviation,
        )
        if day.exchange_price:
            yield gauge(
                "oracle_price_exchange_usd",
                "Exchange BTC/USD price of that day.",
                day.exchange_price,
            )
            yield gauge(
                "oracle_price_exchange_deviation_ratio",
                "(on-chain - exchange) / exchange price of that day.",
                (day.utxoracle_price - day.exchange_price) / day.exchange_price,
            )
        end = datetime.combine(day.date + timedelta(days=1), time(), UTC)
        yield gauge(
            "oracle_price_latest_day_age_seconds",
            "Seconds since the end (UTC midnight) of the latest valid day.",
            (now - end).total_seconds(),
        )
    missing = selectors.missing_price_dates(settings.HEALTH_GAP_DAYS)
    yield gauge(
        "oracle_price_missing_days",
        "Complete days of the last HEALTH_GAP_DAYS without a valid price.",
        len(missing),
    )


def health_metrics(now: datetime) -> Iterator[Metric]:
    """The newest recorded sample of every enabled check (the worker samples them)."""
    status = GaugeMetricFamily(
        "oracle_health_check_status",
        "Latest recorded result of each check: 0 ok, 1 error, 2 timeout.",
        labels=["check"],
    )
    latency = GaugeMetricFamily(
        "oracle_health_check_latency_seconds", "Latency of that result.", labels=["check"]
    )
    age = GaugeMetricFamily(
        "oracle_health_check_age_seconds", "Seconds since that result.", labels=["check"]
    )
    samples = latest_samples(check.name for check in registered_checks())
    for name, sample in samples.items():
        status.add_metric([name], CHECK_STATUS.get(sample.status, 1))
        latency.add_metric([name], sample.latency_ms / 1000)
        age.add_metric([name], (now - sample.checked_at).total_seconds())
    yield from (status, latency, age)


def alert_metrics(now: datetime) -> Iterator[Metric]:
    """Stored whales by status and the mempool feed's last message."""
    whales = GaugeMetricFamily(
        "oracle_whale_alerts", "Stored whale alerts by status.", labels=["status"]
    )
    for status, count in alert_store.count_by_status().items():
        whales.add_metric([status], count)
    yield whales
    feed = FeedStatus.objects.filter(id=FeedStatus.SINGLETON_ID).first()
    if feed is not None:
        yield gauge(
            "oracle_feed_connected",
            "1 while the worker's mempool feed is connected.",
            int(feed.connected),
        )
        if feed.last_message_at is not None:
            yield gauge(
                "oracle_feed_last_message_age_seconds",
                "Seconds since the mempool feed's last message.",
                (now - feed.last_message_at).total_seconds(),
            )


SOURCES: dict[str, Callable[[datetime], Iterator[Metric]]] = {
    "prices": price_metrics,
    "health": health_metrics,
    "alerts": alert_metrics,
}


class StoreCollector:
    """A prometheus-client collector reading the stores once per scrape."""

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        up = GaugeMetricFamily(
            "oracle_metrics_source_up",
            "1 when the store was read for this scrape, 0 when it could not be.",
            labels=["source"],
        )
        for source, read in SOURCES.items():
            try:
                found = list(read(now))
            except Exception as exc:
                log.warning("metrics_source_failed", source=source, error=redact(repr(exc)))
                up.add_metric([source], 0)
            else:
                up.add_metric([source], 1)
                yield from found
        yield up
