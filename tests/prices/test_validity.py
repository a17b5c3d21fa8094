"""The validity rules of a computed day."""

from __future__ import annotations

from prices.validity import ValidityRules

RULES = ValidityRules(min_usd=10_000, max_usd=500_000, min_outputs=1000, max_deviation=0.2)


def test_a_day_within_every_bound_is_valid() -> None:
    assert RULES.problems(63_000.0, 1000, 0.2) == []
    assert RULES.problems(10_000.0, 5000, 0.0) == []
    assert RULES.problems(500_000.0, 5000, 0.1) == []


def test_each_broken_rule_is_named() -> None:
    assert RULES.problems(9_999.99, 1000, 0.1) == ["price 9,999.99 outside 10,000..500,000 USD"]
    assert RULES.problems(500_000.01, 1000, 0.1) == ["price 500,000.01 outside 10,000..500,000 USD"]
    assert RULES.problems(63_000.0, 999, 0.1) == ["999 outputs, fewer than 1000"]
    assert RULES.problems(63_000.0, 1000, 0.2001) == ["deviation 0.2001 above 0.2"]
    assert RULES.problems(1.0, 0, 0.3) == [
        "price 1.00 outside 10,000..500,000 USD",
        "0 outputs, fewer than 1000",
        "deviation 0.3000 above 0.2",
    ]


def test_rules_come_from_settings(settings) -> None:
    settings.PRICE_MIN_USD, settings.PRICE_MAX_USD = 1.0, 2.0
    settings.PRICE_MIN_OUTPUTS, settings.PRICE_MAX_DEVIATION = 3, 0.1
    assert ValidityRules.from_settings() == ValidityRules(1.0, 2.0, 3, 0.1)
