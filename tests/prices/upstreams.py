"""Real loopback servers for the prices tests: the mempool backend's price endpoints and the
simulated chain."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from prices.selectors import utc_today
from simulators.chain import ChainParams, SimulatedChain
from tests.support import Hit, StubServer, json_response

CHAIN_DAYS = 4
CURRENT_PRICE = 99_999.0


def historical_price(day: date) -> float:
    """What the stub reports as the exchange price of a past day."""
    return 60_000.0 + day.toordinal() % 1000


@dataclass
class MempoolStub:
    """`/api/v1/prices` (always CURRENT_PRICE) and `/api/v1/historical-price` (hourly points)."""

    failing: bool = False
    empty_history: bool = False
    server: StubServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = StubServer(self._answer)

    def _answer(self, hit: Hit):
        if self.failing:
            return json_response({"error": "down"}, 503)
        url = urlsplit(hit.path)
        if url.path == "/api/v1/prices":
            return json_response({"time": int(time.time()), "USD": CURRENT_PRICE, "EUR": 1.0})
        if url.path == "/api/v1/historical-price":
            timestamp = int(parse_qs(url.query)["timestamp"][0])
            hour = timestamp - timestamp % 3600
            day = datetime.fromtimestamp(hour, UTC).date()
            prices = [] if self.empty_history else [{"time": hour, "USD": historical_price(day)}]
            return json_response({"prices": prices, "exchangeRates": {"USDEUR": 0.9}})
        return json_response({"error": "not found"}, 404)

    def start(self) -> MempoolStub:
        self.server.start()
        return self

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def paths(self) -> list[str]:
        return [hit.path for hit in self.server.hits]


def recent_chain(days: int = CHAIN_DAYS, **overrides) -> SimulatedChain:
    """A chain whose `days` days end yesterday (UTC), so that they are complete today."""
    params = ChainParams(
        seed=overrides.pop("seed", 7),
        start_date=utc_today() - timedelta(days=days),
        days=days,
        txs_per_block=overrides.pop("txs_per_block", 20),
        daily_change=overrides.pop("daily_change", 0.02),
        **overrides,
    )
    return SimulatedChain(params, cache_blocks=(days + 1) * 144 + 48)
