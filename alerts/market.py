"""The market facts the detector needs: recommended fee levels and the latest USD price.

Both come from the mempool backend and are refreshed at most once a minute; a failed refresh keeps
the previous values (and says so in the log). When the exchange price is unknown, the oracle's own
latest price is used through `oracle_price_usd`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
import structlog

from alerts.detector import FeeLevels, MalformedData
from core.http import UpstreamError, fetch

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 60.0
MAX_USD_PRICE = 10_000_000.0


def oracle_price_usd() -> float | None:
    """The oracle's own latest BTC/USD price: the hook for the price store (None until it exists)."""
    return None


@dataclass
class MarketData:
    """Latest fee levels and USD price, with the time of their last successful refresh."""

    fees: FeeLevels | None = None
    exchange_usd: float | None = None
    refreshed_at: float | None = None

    def usd_price(self, fallback: Callable[[], float | None] = oracle_price_usd) -> float | None:
        """The exchange price when known, else the oracle's."""
        return self.exchange_usd if self.exchange_usd is not None else fallback()

    def is_stale(self, now: float, max_age: float = REFRESH_SECONDS) -> bool:
        return self.refreshed_at is None or now - self.refreshed_at >= max_age

    def refresh(self, session: requests.Session, base_url: str, now: float | None = None) -> None:
        """Fetch both values (blocking); keep the old one of any that fails."""
        self.refreshed_at = time.time() if now is None else now
        try:
            self.fees = FeeLevels.from_json(
                _get_json(session, f"{base_url}/api/v1/fees/recommended")
            )
        except (UpstreamError, MalformedData) as exc:
            log.warning("fee_levels_unavailable", reason=str(exc))
        try:
            self.exchange_usd = _usd(_get_json(session, f"{base_url}/api/v1/prices"))
        except (UpstreamError, MalformedData) as exc:
            log.warning("exchange_price_unavailable", reason=str(exc))


def _get_json(session: requests.Session, url: str) -> object:
    _, body = fetch(session, "mempool", "GET", url, limit=1_000_000)
    try:
        return json.loads(body)
    except ValueError:
        raise MalformedData(f"{url.split('/api/', 1)[-1]} did not return JSON") from None


def _usd(data: object) -> float:
    price = data.get("USD") if isinstance(data, dict) else None
    if type(price) not in (int, float) or not 0 < price < MAX_USD_PRICE:  # type: ignore[operator]
        raise MalformedData("prices has no plausible USD price")
    return float(price)  # type: ignore[arg-type]
