"""The price series' health checks, registered by the prices app: `database` (the price store
answers) and `price_freshness` (is yesterday's price in the series once it is due?); the app also
registers `selectors.missing_price_dates` as the report's finder of missing days.

A UTC day can be computed once its last block has 6 confirmations, about an hour after midnight
(6 blocks of 10 minutes); the worker then computes it within PRICE_UPDATE_SECONDS. The check is
degraded when yesterday still has no valid row at midnight + 6 blocks +
PRICE_FRESHNESS_GRACE_SECONDS (default 1 h), or when the series cannot be read.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.conf import settings

from health.base import Check, CheckError, first_line, register, register_gap_finder
from prices.selectors import day_record, missing_price_dates, ping_price_store
from prices.store import StoreUnavailable

OK = "ok"
DEGRADED = "degraded"
SIX_BLOCKS = timedelta(minutes=60)
STORE_UNAVAILABLE = "price store unavailable"  # the public reason: the detail names files


def price_freshness(now: datetime, grace: timedelta | None = None) -> tuple[str, str | None]:
    """(OK, None) or (DEGRADED, why); `now` is timezone-aware."""
    if grace is None:
        grace = timedelta(seconds=settings.PRICE_FRESHNESS_GRACE_SECONDS)
    today = now.astimezone(UTC).date()
    yesterday = today - timedelta(days=1)
    due = datetime.combine(today, time(), UTC) + SIX_BLOCKS + grace
    if now < due:
        return OK, None
    try:
        record = day_record(yesterday)
    except StoreUnavailable as exc:
        return DEGRADED, f"{STORE_UNAVAILABLE}: {exc}"
    if record is None:
        return DEGRADED, f"no price for {yesterday} (due since {due:%H:%M} UTC)"
    if not record.is_valid:
        return DEGRADED, f"the price of {yesterday} is invalid: {record.invalid_reason}"
    return OK, None


class PriceFreshnessCheck(Check):
    """`price_freshness` (non-critical): yesterday's valid price is in the series once it is due."""

    name = "price_freshness"
    critical = False
    component_type = "datastore"

    def probe(self) -> None:
        status, error = price_freshness(datetime.now(UTC))
        if status != OK:
            error = error or "price series not fresh"
            public = STORE_UNAVAILABLE if error.startswith(STORE_UNAVAILABLE) else None
            raise CheckError(error, public)


class PriceStoreCheck(Check):
    """The DuckDB price store's published snapshot answers a trivial query (the earlier API's
    "database"); readers never wait for the worker's writes."""

    name = "database"
    critical = True
    component_type = "datastore"

    def probe(self) -> None:
        try:
            ping_price_store()
        except StoreUnavailable as exc:
            raise CheckError(f"price store: {first_line(exc)}", STORE_UNAVAILABLE) from None


def register_checks() -> None:
    """Register the price series' checks and its finder of missing days (once, at start)."""
    register(PriceStoreCheck())
    register(PriceFreshnessCheck())
    register_gap_finder(missing_price_dates)
