"""The exchange (USD) price of a day from the mempool backend at MEMPOOL_URL.

The current day asks for the price now. A past day asks for the historical price at noon UTC of
that day and accepts only a point whose time lies inside that UTC day, so a past day never gets
today's price. A backend without a price (`USD: -1`) or without price history (no database: 404)
gives None, as does any failure, which is logged: a day without an exchange price is still stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import structlog

from core.upstreams import UpstreamError
from core.upstreams.mempool import MempoolClient, mempool_from_settings

log = structlog.get_logger(__name__)


def _day_bounds(day: date) -> tuple[int, int]:
    start = int(datetime.combine(day, time(), tzinfo=UTC).timestamp())
    return start, start + 86_400


class ExchangePrices:
    """Fetches exchange prices of days; one client (and HTTP session) for many days."""

    def __init__(self, base_url: str | None = None) -> None:
        self.client = MempoolClient(base_url) if base_url else mempool_from_settings()

    def price_on(self, day: date, today: date) -> float | None:
        """The USD price of `day` (None when unknown); `today` is the current UTC date."""
        try:
            if day >= today:
                price = self.client.usd_price()
                reason = "/api/v1/prices gave no usable USD price (-1: the backend has none)"
            else:
                price = self._historical(day)
                reason = f"/api/v1/historical-price had no USD price inside {day}"
        except UpstreamError as exc:
            price, reason = None, str(exc)
        if price is None:
            log.warning("exchange_price_unavailable", day=day.isoformat(), reason=reason)
        return price

    def _historical(self, day: date) -> float | None:
        start, end = _day_bounds(day)
        noon = start + 43_200
        inside = [p for p in self.client.historical_usd(noon) if start <= p.time < end]
        if not inside:
            return None
        return min(inside, key=lambda point: abs(point.time - noon)).usd
