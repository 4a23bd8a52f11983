"""Order totals: Decimal arithmetic, tax per line rounded half-up, discounts bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.money import Money
from chalicelib.orders.totals import Priced, price_line, sum_lines

PIZZA = Priced("p1", "RP000001A", "Pizza", "product", Money.of("39.90", "BRL"), Decimal("10"))
SODA = Priced("p2", "RP000002B", "Soda", "product", Money.of("6.55", "BRL"), Decimal("17.5"))


def test_line_tax_is_on_the_discounted_subtotal_and_rounded_half_up() -> None:
    line = price_line(PIZZA, 3, Money.of("9.70", "BRL"))
    assert (line.subtotal, line.discount) == (Money.of("119.70", "BRL"), Money.of("9.70", "BRL"))
    assert line.tax == Money.of("11.00", "BRL")
    assert line.total == Money.of("121.00", "BRL")
    soda = price_line(SODA, 1, None)
    assert soda.tax == Money.of("1.15", "BRL")  # 1.14625 → 1.15


def test_totals_add_up_the_lines() -> None:
    lines = [price_line(PIZZA, 2, None), price_line(SODA, 3, Money.of("1.65", "BRL"))]
    totals = sum_lines(lines, "BRL")
    assert totals.subtotal == Money.of("99.45", "BRL")
    assert totals.discounts == Money.of("1.65", "BRL")
    assert totals.tax == Money.of("7.98", "BRL") + Money.of("3.15", "BRL")
    assert totals.total == totals.subtotal - totals.discounts + totals.tax


@pytest.mark.parametrize("discount", [Money.of("80", "BRL"), Money.of("-1", "BRL"), Money.of("1", "USD")])
def test_discounts_outside_the_line_are_refused(discount: Money) -> None:
    with pytest.raises(ValueError, match="discount"):
        price_line(PIZZA, 2, discount)
