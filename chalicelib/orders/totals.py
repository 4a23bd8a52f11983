"""Order arithmetic: line subtotals, discounts, tax per line (rounded per line, half-up) and totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chalicelib.core.money import Money
from chalicelib.orders.models import OrderLine, OrderTotals

__all__ = ["Priced", "price_line", "sum_lines"]

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Priced:
    """What the catalog says of a product at the moment of the order."""

    product_id: str
    code: str
    name: str
    kind: str
    unit_price: Money
    tax_rate: Decimal


def price_line(product: Priced, quantity: int, discount: Money | None) -> OrderLine:
    """One line: subtotal = price x quantity; tax on (subtotal - discount) at the product's rate."""
    subtotal = product.unit_price * quantity
    off = discount or Money.zero(subtotal.currency)
    if off.currency != subtotal.currency:
        raise ValueError(f"the discount must be in {subtotal.currency}")
    if off.amount < 0 or off > subtotal:
        raise ValueError("the discount must be between zero and the line's subtotal")
    taxable = subtotal - off
    tax = taxable * (product.tax_rate / _HUNDRED)
    return OrderLine(
        product_id=product.product_id,
        code=product.code,
        name=product.name,
        kind=product.kind,
        quantity=quantity,
        unit_price=product.unit_price,
        tax_rate=product.tax_rate,
        subtotal=subtotal,
        discount=off,
        tax=tax,
        total=taxable + tax,
    )


def sum_lines(lines: Sequence[OrderLine], currency: str) -> OrderTotals:
    """The order's totals."""
    zero = Money.zero(currency)
    subtotal, discounts, tax, total = zero, zero, zero, zero
    for line in lines:
        subtotal, discounts = subtotal + line.subtotal, discounts + line.discount
        tax, total = tax + line.tax, total + line.total
    return OrderTotals(subtotal=subtotal, discounts=discounts, tax=tax, total=total)
