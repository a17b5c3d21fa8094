"""What the operator dashboard shows, gathered from the apps that own it: the two latest complete
days of the price series against the exchange price, today's provisional price so far, the 90-day
chart with its gaps, the health
summary (each check's latest sample and 24 h uptime, from the check history) and the whales of the
last 24 hours. The live whale feed is the page's own WebSocket (alerts/feed.js)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from alerts import store as alert_store
from health.base import registered_checks
from health.history import CheckOverview, check_overviews
from health.models import CheckSample
from prices import selectors
from prices.overview import OVERVIEW_DAYS, series_chart
from prices.selectors import DayStatus, SeriesDay
from prices.store import ProvisionalRecord, StoreUnavailable

PHONE_CHART_WIDTH = 420  # the chart drawn for narrow screens, so its labels stay legible


@dataclass(frozen=True)
class PriceCard:
    """One complete day as the dashboard shows it."""

    label: str
    day: SeriesDay

    @property
    def valid(self) -> bool:
        return self.day.status is DayStatus.VALID

    @property
    def price(self) -> float | None:
        record = self.day.record
        return record.utxoracle_price if record is not None else None


@dataclass(frozen=True)
class TodayCard:
    """The UTC day in progress: its provisional row, if the worker wrote one for it."""

    date: date
    record: ProvisionalRecord | None
    min_blocks: int
    yesterday: PriceCard | None = None

    @property
    def price(self) -> float | None:
        return None if self.record is None else self.record.price

    @property
    def change_percent(self) -> float | None:
        """Today so far against yesterday, when both are valid."""
        if self.yesterday is None or not self.yesterday.valid:
            return None
        if self.record is None or self.price is None or not self.record.is_valid:
            return None
        return round((self.price / self.yesterday.price - 1) * 100, 2)


@dataclass(frozen=True)
class PriceSection:
    """The latest two complete days and the chart of the last 90 (None when the store failed)."""

    cards: list[PriceCard]
    chart: str
    phone_chart: str
    days: list[SeriesDay]
    today: TodayCard | None = None
    error: str | None = None

    def count(self, status: DayStatus) -> int:
        return sum(1 for day in self.days if day.status is status)

    @property
    def valid_count(self) -> int:
        return self.count(DayStatus.VALID)

    @property
    def gap_count(self) -> int:
        return len(self.days) - self.valid_count

    @property
    def change_percent(self) -> float | None:
        """The on-chain price change from the day before to yesterday, when both are valid."""
        latest, previous = self.cards
        if not (latest.valid and previous.valid):
            return None
        return round((latest.price / previous.price - 1) * 100, 2)


@dataclass(frozen=True)
class HealthSection:
    """Every registered check (and any other sampled in the last 30 days) with its 24 h uptime."""

    checks: list[CheckOverview]

    @property
    def failing(self) -> list[str]:
        """Checks whose latest sample is not ok, or that have no sample yet."""
        return [
            check.name
            for check in self.checks
            if check.latest is None or check.latest.status != CheckSample.Status.OK
        ]


@dataclass(frozen=True)
class Dashboard:
    prices: PriceSection
    health: HealthSection
    whales_24h: dict[str, object]
    last_alert_id: int  # the page counts live alerts above it into the 24 h figures
    today: date


def price_section(today: date | None = None) -> PriceSection:
    """The price part; a store that cannot be read gives empty cards and the error."""
    today = today or selectors.utc_today()
    first, last = selectors.complete_days(OVERVIEW_DAYS, today)
    try:
        days = selectors.series_days(first, last)
        provisional = selectors.provisional_record()
    except StoreUnavailable as exc:
        return PriceSection([], "", "", [], error=str(exc))
    cards = [PriceCard("Yesterday", days[-1]), PriceCard("Day before", days[-2])]
    current = provisional if provisional is not None and provisional.date == today else None
    return PriceSection(
        cards=cards,
        chart=series_chart(days),
        phone_chart=series_chart(days, width=PHONE_CHART_WIDTH, labels=3),
        days=days,
        today=TodayCard(today, current, settings.PRICE_TODAY_MIN_BLOCKS, cards[0]),
    )


def health_section(now: datetime) -> HealthSection:
    return HealthSection(check_overviews([check.name for check in registered_checks()], now))


def dashboard(now: datetime | None = None) -> Dashboard:
    """Everything the page shows at `now` (default: the current time)."""
    now = now or timezone.now()
    today = now.date()
    return Dashboard(
        prices=price_section(today),
        health=health_section(now),
        whales_24h=alert_store.summary(now - timedelta(hours=24)),
        last_alert_id=alert_store.latest_alert_id(),
        today=today,
    )
