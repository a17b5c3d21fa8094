"""Whether a computed day is trustworthy enough to serve: the validity rules of the price series.

A day is valid when its price lies within [PRICE_MIN_USD, PRICE_MAX_USD], at least
PRICE_MIN_OUTPUTS outputs went into it, and its deviation is at most PRICE_MAX_DEVIATION. The
deviation is the median absolute deviation of the price points within ±10 % of the price, divided
by that window's width (20 % of the price): 0 when every point sits on the price, 0.25 when the
points spread evenly over the window (no cluster at all). The default bound, 0.2, rejects days
whose points are nearly spread evenly.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ValidityRules:
    """The bounds a computed day must meet."""

    min_usd: float
    max_usd: float
    min_outputs: int
    max_deviation: float

    @classmethod
    def from_settings(cls) -> ValidityRules:
        return cls(
            min_usd=settings.PRICE_MIN_USD,
            max_usd=settings.PRICE_MAX_USD,
            min_outputs=settings.PRICE_MIN_OUTPUTS,
            max_deviation=settings.PRICE_MAX_DEVIATION,
        )

    def problems(self, price: float, output_count: int, deviation: float) -> list[str]:
        """Every rule the result breaks, in words; an empty list means the day is valid."""
        found = []
        if not self.min_usd <= price <= self.max_usd:
            found.append(f"price {price:,.2f} outside {self.min_usd:,.0f}..{self.max_usd:,.0f} USD")
        if output_count < self.min_outputs:
            found.append(f"{output_count} outputs, fewer than {self.min_outputs}")
        if deviation > self.max_deviation:
            found.append(f"deviation {deviation:.4f} above {self.max_deviation:g}")
        return found
