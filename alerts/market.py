"""The market facts the detector needs: recommended fee levels and the latest USD price.

Both come from the mempool backend and are refreshed at most once a minute; a failed refresh keeps
the previous values (and says so in the log). A backend without exchange prices (`USD: -1`, an
offline node) leaves the exchange price unknown: the oracle's own price then stands in
(`oracle_price_usd`, read from the price store at each refresh), and whales are valued with
`usd_source` "onchain" instead of "exchange".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from alerts.detector import EXCHANGE, ONCHAIN, FeeLevels, MalformedData
from core.upstreams import UpstreamError
from core.upstreams.mempool import MempoolClient
from prices.selectors import onchain_usd_price
from prices.store import StoreUnavailable

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 60.0


def oracle_price_usd() -> float | None:
    """The oracle's own BTC/USD price: today's provisional price once shown and valid, else the
    latest valid day of the last week (`prices.selectors.onchain_usd_price`); None without one or
    when the price store cannot be read."""
    try:
        return onchain_usd_price()
    except StoreUnavailable as exc:
        log.warning("onchain_price_unavailable", reason=str(exc))
        return None


@dataclass
class MarketData:
    """Latest fee levels and USD prices, with the time of their last refresh."""

    fees: FeeLevels | None = None
    exchange_usd: float | None = None
    onchain_usd: float | None = None
    refreshed_at: float | None = None

    def usd_price(self) -> tuple[float | None, str]:
        """The price to value whales at and where it comes from: the exchange price when known,
        else the oracle's own (None when neither is)."""
        if self.exchange_usd is not None:
            return self.exchange_usd, EXCHANGE
        return self.onchain_usd, ONCHAIN

    def is_stale(self, now: float, max_age: float = REFRESH_SECONDS) -> bool:
        return self.refreshed_at is None or now - self.refreshed_at >= max_age

    def refresh(
        self,
        backend: MempoolClient,
        now: float | None = None,
        onchain: Callable[[], float | None] = oracle_price_usd,
    ) -> None:
        """Fetch the values (blocking); keep the old one of any the backend fails to give."""
        self.refreshed_at = time.time() if now is None else now
        try:
            self.fees = FeeLevels.from_json(backend.fees())
        except (UpstreamError, MalformedData) as exc:
            log.warning("fee_levels_unavailable", reason=str(exc))
        try:
            usd = backend.usd_price()
        except UpstreamError as exc:
            log.warning("exchange_price_unavailable", reason=str(exc))
        else:
            if usd is None:
                log.warning(
                    "exchange_price_unavailable", reason="the backend has no USD price (-1)"
                )
            self.exchange_usd = usd
        self.onchain_usd = onchain()
