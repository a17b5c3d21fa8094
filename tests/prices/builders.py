"""Rows of the price series for tests, built directly (no engine involved)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from prices.store import BlockRecord, DayRecord, ProvisionalRecord, compare_prices


def day_record(day: date, price: float = 63_000.0, **overrides: Any) -> DayRecord:
    """A valid day at `price` with an exchange price 0.5 % above it, unless overridden."""
    exchange = overrides.pop("exchange_price", round(price * 1.005, 2))
    difference, percent = compare_prices(price, exchange)
    values: dict[str, Any] = {
        "date": day,
        "utxoracle_price": price,
        "exchange_price": exchange,
        "price_difference": difference,
        "avg_pct_diff": percent,
        "confidence": 0.9,
        "deviation": 0.05,
        "output_count": 20_000,
        "price_point_count": 3_000,
        "block_first": 870_000,
        "block_last": 870_143,
        "is_valid": True,
        "invalid_reason": None,
        "algorithm": "utxoracle-9.1",
        "source": "esplora",
        "computed_at": datetime(2025, 1, 2, 1, 0),
    }
    values.update(overrides)
    return DayRecord(**values)


def provisional_record(
    day: date, blocks: int, price: float | None = 64_321.5, **overrides: Any
) -> ProvisionalRecord:
    """The day in progress after `blocks` blocks; without `price` it is not formed yet."""
    formed = price is not None
    values: dict[str, Any] = {
        "date": day,
        "block_count": blocks,
        "block_first": 900_000 if blocks else None,
        "block_last": 900_000 + blocks - 1 if blocks else None,
        "last_block_time": datetime.combine(day, time(3, 25)) if blocks else None,
        "price": price,
        "output_count": 4_000 if formed else None,
        "price_point_count": 900 if formed else None,
        "deviation": 0.1 if formed else None,
        "confidence": 0.54 if formed else None,
        "is_valid": True if formed else None,
        "invalid_reason": None,
        "algorithm": "utxoracle-9.1",
        "source": "esplora",
        "computed_at": datetime.combine(day, time(3, 26)),
    }
    values.update(overrides)
    return ProvisionalRecord(**values)


def invalid(record: DayRecord, reason: str = "deviation 0.3000 above 0.2") -> DayRecord:
    return record._replace(is_valid=False, invalid_reason=reason)


def block_records(day: date, count: int = 3, first_height: int = 870_000) -> list[BlockRecord]:
    start = datetime.combine(day, time())
    return [
        BlockRecord(
            date=day,
            height=first_height + i,
            block_time=start + timedelta(minutes=10 * i + 5),
            median_price=None if i == 1 else 63_000.0 + i,
            price_points=0 if i == 1 else 10 + i,
        )
        for i in range(count)
    ]
