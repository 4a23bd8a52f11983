"""Money: a Decimal amount with its ISO 4217 currency, rounded half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Self

from babel.numbers import format_currency, get_currency_precision, list_currencies
from pydantic import BaseModel, ConfigDict, field_serializer, field_validator, model_validator

__all__ = ["CurrencyMismatch", "Money"]


class CurrencyMismatch(ValueError):
    """Raised when amounts in two different currencies are combined."""


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@lru_cache(maxsize=512)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-get_currency_precision(currency))


class Money(BaseModel):
    """An amount of one currency; JSON ``{"amount": "12.50", "currency": "BRL"}`` (amount as a string)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal
    currency: str

    @field_validator("currency", mode="before")
    @classmethod
    def _known_currency(cls, value: Any) -> str:
        code = str(value).strip().upper()
        if code not in _known_currencies():
            raise ValueError(f"'{value}' is not an ISO 4217 currency code")
        return code

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        # A float has already lost precision; amounts come as strings, ints or Decimals.
        if isinstance(value, float):
            raise ValueError("amount must be a decimal string, not a float")
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation as exc:
                raise ValueError(f"'{value}' is not a decimal amount") from exc
        return value

    @model_validator(mode="after")
    def _round(self) -> Self:
        if not self.amount.is_finite():
            raise ValueError("amount must be finite")
        rounded = self.amount.quantize(_quantum(self.currency), rounding=ROUND_HALF_UP)
        object.__setattr__(self, "amount", rounded)
        return self

    @field_serializer("amount")
    def _amount_as_string(self, amount: Decimal) -> str:
        return format(amount, "f")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Build from an amount (rounded half-up) and a currency code."""
        return cls(amount=Decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``."""
        return cls(amount=Decimal(0), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply money by a Decimal or an int, not a float")
        return Money(amount=self.amount * Decimal(factor), currency=self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def format(self, locale: str = "pt_BR") -> str:
        """The amount as a person reads it in ``locale`` (``R$ 12,50``)."""
        return str(format_currency(self.amount, self.currency, locale=locale.replace("-", "_")))
