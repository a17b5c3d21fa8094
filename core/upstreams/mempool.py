"""The mempool.space backend (`MEMPOOL_URL`, Node.js, default port 8999).

Follows mempool/mempool `backend/src`: every route is under `/api/v1/` (`config.ts`
API_URL_PREFIX; the bare `/api/…` paths exist only behind the frontend's nginx). From
`api/bitcoin/bitcoin.routes.ts`, `api/prices/…` and `tasks/price-updater.ts`:

- `/api/v1/prices` → `{"time", "USD", …}`; `USD: -1` means no price (fiat prices off or their feeds
  unreachable). `usable_usd` is the one rule for "is this a usable USD price".
- `/api/v1/historical-price?currency=USD&timestamp=T` → the latest point at or before T; only with a
  database and price indexing (404 otherwise), a fake `{time: 1279497600, USD: 0}` when nothing is
  older.
- `/api/v1/fees/recommended` → `{fastestFee, halfHourFee, hourFee, economyFee, minimumFee}`.
- `/api/v1/backend-info` → `{version, gitCommit, backend, coreVersion, …}`; `backend` is `esplora`,
  `electrum` or `none`.
- `/api/v1/mempool/txids`, `/api/v1/tx/:txid`, `/api/v1/tx/:txid/status`: the Esplora routes,
  registered only when the backend's BACKEND is not `esplora` (then ask electrs instead);
  `transactions()` gives an Esplora client for them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from core.http import HttpOptions, UpstreamError
from core.upstreams import Upstream
from core.upstreams.esplora import EsploraClient

API = "/api/v1"
JSON_LIMIT = 1_000_000
MAX_USD_PRICE = 10_000_000.0


def usable_usd(value: Any) -> float | None:
    """A BTC/USD price the service can use: a finite number above 0 and below 10 million (the
    backend says -1 when it has none, 0 when it has nothing older); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 < value < MAX_USD_PRICE:
        return None
    return float(value)


@dataclass(frozen=True)
class PricePoint:
    """One exchange price: the unix time it was taken and the USD price."""

    time: int
    usd: float


@dataclass(frozen=True)
class BackendInfo:
    """What `/api/v1/backend-info` says (None where it said nothing usable)."""

    version: str | None
    backend: str | None
    core_version: str | None

    @property
    def major(self) -> int | None:
        """The major version (`3.4-dev` → 3)."""
        head = (self.version or "").lstrip("v").split(".", 1)[0]
        return int(head) if head.isdigit() else None


class MempoolClient(Upstream):
    """The mempool backend's REST API."""

    service = "mempool"

    def _json(self, path: str, params: dict[str, str] | None = None) -> Any:
        _, body = self.request("GET", API + path, limit=JSON_LIMIT, params=params)
        try:
            return json.loads(body)
        except ValueError:
            raise self.error(API + path, "the answer is not JSON") from None

    def usd_price(self) -> float | None:
        """The current exchange price; None when the backend has none (`USD: -1`)."""
        prices = self._json("/prices")
        if not isinstance(prices, dict):
            raise self.error(API + "/prices", "the answer is not an object")
        return usable_usd(prices.get("USD"))

    def historical_usd(self, timestamp: int) -> list[PricePoint]:
        """The exchange prices the backend gives for `timestamp` (the latest at or before it),
        usable ones only. A backend without price history answers 404 (UpstreamError)."""
        payload = self._json("/historical-price", {"currency": "USD", "timestamp": str(timestamp)})
        points = payload.get("prices") if isinstance(payload, dict) else None
        found = []
        for point in points if isinstance(points, list) else []:
            if not isinstance(point, dict) or type(point.get("time")) is not int:
                continue
            usd = usable_usd(point.get("USD"))
            if usd is not None:
                found.append(PricePoint(point["time"], usd))
        return found

    def fees(self) -> dict[str, Any]:
        """The recommended fee levels (sat/vB), as the backend names them."""
        fees = self._json("/fees/recommended")
        if not isinstance(fees, dict):
            raise self.error(API + "/fees/recommended", "the answer is not an object")
        return fees

    def backend_info(self) -> BackendInfo:
        info = self._json("/backend-info")
        info = info if isinstance(info, dict) else {}

        def text(key: str) -> str | None:
            value = info.get(key)
            return value if isinstance(value, str) else None

        return BackendInfo(text("version"), text("backend"), text("coreVersion"))

    def transactions(self) -> EsploraClient:
        """The backend's Esplora routes (mempool txids, transactions, their status)."""
        return EsploraClient(self.base_url + API, self.http, service=self.service)


def mempool_from_settings(http: HttpOptions | None = None) -> MempoolClient:
    """The client for MEMPOOL_URL."""
    from django.conf import settings

    return MempoolClient(settings.MEMPOOL_URL, http)


__all__ = ["BackendInfo", "MempoolClient", "PricePoint", "UpstreamError", "usable_usd"]
