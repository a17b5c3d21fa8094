"""The market facts the detector needs: recommended fee levels and the latest USD price.

Both come from the mempool backend and are refreshed at most once a minute; a failed refresh keeps
the previous values (and says so in the log). A backend without exchange prices (`USD: -1`) leaves
the USD price unknown; the oracle's own latest price then stands in through `oracle_price_usd`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from alerts.detector import FeeLevels, MalformedData
from core.upstreams import UpstreamError
from core.upstreams.mempool import MempoolClient

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 60.0


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

    def refresh(self, backend: MempoolClient, now: float | None = None) -> None:
        """Fetch both values (blocking); keep the old one of any that fails."""
        self.refreshed_at = time.time() if now is None else now
        try:
            self.fees = FeeLevels.from_json(backend.fees())
        except (UpstreamError, MalformedData) as exc:
            log.warning("fee_levels_unavailable", reason=str(exc))
        try:
            usd = backend.usd_price()
        except UpstreamError as exc:
            log.warning("exchange_price_unavailable", reason=str(exc))
            return
        if usd is None:
            log.warning("exchange_price_unavailable", reason="the backend has no USD price (-1)")
        self.exchange_usd = usd
