"""What each notification says: a whale above NOTIFY_MIN_BTC, a change of the service's health,
a new day's price. The worker's loops call these; they only queue (see `notify.notifier`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.conf import settings

from notify.notifier import submit


def whale(txid: str, btc: float, usd: float | None, fee_rate: float, rbf: bool) -> bool:
    """A stored whale; sent only from NOTIFY_MIN_BTC up."""
    if btc < settings.NOTIFY_MIN_BTC:
        return False
    title = f"Whale: {btc:,.2f} BTC" + (f" (${usd:,.0f})" if usd is not None else "")
    body = f"Transaction {txid}\nFee rate {fee_rate:.1f} sat/vB" + (", signals RBF" if rbf else "")
    return submit("whale", title, body)


def health_change(
    previous: str | None, status: str, failing: Sequence[tuple[str, str, str]], missing_days: int
) -> bool:
    """The service's status changed (healthy, degraded, unhealthy); `failing` holds each check
    that is not ok as (name, status, short reason)."""
    title = f"oracle is {status}" + (f" (was {previous})" if previous else "")
    lines = [f"{name}: {check_status}, {reason}" for name, check_status, reason in failing]
    if missing_days:
        lines.append(f"{missing_days} day(s) without a valid price")
    return submit("health", title, "\n".join(lines) or "Every check is ok.")


def price_day(day: date, price: float, exchange_price: float | None, confidence: float) -> bool:
    """A new complete day's valid price."""
    lines = [f"On-chain price of {day}: ${price:,.2f} (confidence {confidence:.2f})"]
    if exchange_price:
        deviation = (price - exchange_price) / exchange_price * 100
        lines.append(f"Exchange price: ${exchange_price:,.2f} ({deviation:+.2f} %)")
    return submit("price_day", f"BTC/USD {day}: ${price:,.0f}", "\n".join(lines))
