"""Sale arithmetic: tax on the discounted base, rounded half-up to the currency; refusals name the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.money import Money
from chalicelib.sales.amounts import AmountError, compute_amounts


def _dkk(amount: str) -> Money:
    return Money.of(amount, "DKK")


def test_tax_is_on_the_base_less_the_discount_and_rounds_half_up() -> None:
    amounts = compute_amounts(_dkk("999.99"), _dkk("0.01"), Decimal("12.5"), "DKK")
    assert amounts.tax.amount == Decimal("125.00")  # 999.98 x 12.5 % = 124.9975
    assert amounts.final.amount == Decimal("1124.98")


def test_no_discount_is_a_zero_discount() -> None:
    amounts = compute_amounts(_dkk("100"), None, Decimal(25), "DKK")
    assert (amounts.discount, amounts.tax, amounts.final) == (_dkk("0"), _dkk("25"), _dkk("125"))


@pytest.mark.parametrize(
    ("base", "discount", "field"),
    [
        (Money.of("10", "EUR"), None, "body.baseAmount"),
        (_dkk("-1"), None, "body.baseAmount"),
        (_dkk("10"), _dkk("10.01"), "body.discount"),
        (_dkk("10"), _dkk("-1"), "body.discount"),
        (_dkk("10"), Money.of("1", "EUR"), "body.discount"),
    ],
)
def test_amounts_that_do_not_add_up_name_their_field(base: Money, discount: Money | None, field: str) -> None:
    with pytest.raises(AmountError) as raised:
        compute_amounts(base, discount, Decimal(25), "DKK")
    assert raised.value.field == field
