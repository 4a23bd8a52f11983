"""Sale arithmetic: tax on (base - discount) at the rate, rounded half-up to the currency; final = taxable + tax."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.core.money import Money
from chalicelib.sales.models import SaleAmounts

__all__ = ["AmountError", "compute_amounts"]

_HUNDRED = Decimal(100)


class AmountError(ValueError):
    """Raised when amounts do not add up; ``field`` names the request field (``body.discount``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def compute_amounts(base: Money, discount: Money | None, tax_rate: Decimal, currency: str) -> SaleAmounts:
    """The sale's amounts in ``currency`` (the tenant's): base and discount must be in it, 0 <= discount <= base."""
    if base.currency != currency:
        raise AmountError("body.baseAmount", f"must be in {currency}")
    if base.amount < 0:
        raise AmountError("body.baseAmount", "must not be negative")
    off = discount or Money.zero(currency)
    if off.currency != currency:
        raise AmountError("body.discount", f"must be in {currency}")
    if off.amount < 0 or off > base:
        raise AmountError("body.discount", "must be between zero and the base amount")
    taxable = base - off
    tax = taxable * (tax_rate / _HUNDRED)
    return SaleAmounts(base=base, discount=off, tax_rate=tax_rate, tax=tax, final=taxable + tax)
