"""The exchange (USD) price of a day from the mempool backend at MEMPOOL_URL.

The current day asks `/api/v1/prices` (the price now). A past day asks
`/api/v1/historical-price?currency=USD&timestamp=<noon UTC of that day>` and accepts only a point
whose time lies inside that UTC day, so a past day never gets today's price. Any failure is logged
and gives None: a day without an exchange price is still stored.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import requests
import structlog
from django.conf import settings

from core.http import UpstreamError, fetch, http_session

log = structlog.get_logger(__name__)

SERVICE = "mempool"


def _day_bounds(day: date) -> tuple[int, int]:
    start = int(datetime.combine(day, time(), tzinfo=UTC).timestamp())
    return start, start + 86_400


def _usd(point: Any) -> float | None:
    """The positive USD price of a `{"time", "USD"}` object, else None."""
    if not isinstance(point, dict):
        return None
    value = point.get("USD")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return float(value)


class ExchangePrices:
    """Fetches exchange prices of days; one HTTP session for many days."""

    def __init__(self, base_url: str | None = None, session: requests.Session | None = None):
        self.base_url = (base_url or settings.MEMPOOL_URL).rstrip("/")
        self.session = session or http_session()

    def price_on(self, day: date, today: date) -> float | None:
        """The USD price of `day` (None when unknown); `today` is the current UTC date."""
        try:
            if day >= today:
                return self._current()
            return self._historical(day)
        except (UpstreamError, ValueError) as exc:
            log.warning("exchange_price_unavailable", day=day.isoformat(), reason=str(exc))
            return None

    def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        _, body = fetch(self.session, SERVICE, "GET", f"{self.base_url}{path}", params=params)
        return json.loads(body)

    def _current(self) -> float | None:
        price = _usd(self._get_json("/api/v1/prices"))
        if price is None:
            raise ValueError("/api/v1/prices gave no USD price")
        return price

    def _historical(self, day: date) -> float | None:
        start, end = _day_bounds(day)
        noon = start + 43_200
        payload = self._get_json(
            "/api/v1/historical-price", {"currency": "USD", "timestamp": str(noon)}
        )
        points = payload.get("prices") if isinstance(payload, dict) else None
        candidates = [
            (abs(point["time"] - noon), price)
            for point in points or []
            if (price := _usd(point)) is not None
            and isinstance(point.get("time"), int)
            and start <= point["time"] < end
        ]
        if not candidates:
            raise ValueError(f"/api/v1/historical-price had no USD price inside {day}")
        return min(candidates)[1]
