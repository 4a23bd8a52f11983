"""Money: a Decimal amount with its ISO 4217 currency, a whole number of the currency's minor unit.

On the wire an amount is a string in plain decimal notation (``"12.50"``): at most ``MAX_INTEGER_DIGITS`` digits
before the point and at most 4 after it (the most any currency has), and no more decimals than its currency allows
(``"0.001"`` BRL is refused, ``"12.500"`` BRL is 12.50). Exponents, NaN, infinities and JSON numbers are refused:
an input is never rounded, so what a client sends is what is stored. Arithmetic in code rounds half-up to the
minor unit (``Money.of``, ``*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from chalicelib.core.currencies import CURRENCIES, minor_digits
from chalicelib.core.models import invalid_at
from chalicelib.core.validation import Documented, currency_schema

__all__ = ["MAX_INTEGER_DIGITS", "CurrencyMismatch", "Money", "MoneyBelow"]

# Amounts are below 10^18 in absolute value: with at most 4 decimals they fit DynamoDB numbers and the 28 digits
# of Decimal arithmetic exactly, with room for sums of amounts (totals, a customer's spending).
MAX_INTEGER_DIGITS = 18
_MAX_DECIMALS = 4


def _amount_pattern(integer_digits: int, *, negative: bool) -> str:
    sign = "-?" if negative else ""
    return rf"^{sign}[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{_MAX_DECIMALS}}})?$"


_AMOUNT = re.compile(_amount_pattern(MAX_INTEGER_DIGITS, negative=True))
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
# How many validated amounts a process keeps (see ``Money._once_per_text``): a few hundred KiB at most.
_KEPT_AMOUNTS = 4096


def _amount_schema(integer_digits: int, *, negative: bool) -> dict[str, Any]:
    sign = "" if negative else ", not negative"
    return {
        "type": "string",
        "pattern": _amount_pattern(integer_digits, negative=negative),
        "description": f"A decimal string (no exponent) below 10^{integer_digits}{sign}, with no more decimals than"
        ' the currency has (BRL 2: "12.50", JPY 0, KWD 3): an amount is refused (422), never rounded.',
        "examples": ["12.50"],
    }


def _currency_schema() -> dict[str, Any]:
    return {"description": "ISO 4217 code, e.g. BRL", **currency_schema()}


class CurrencyMismatch(ValueError):
    """Raised when amounts in two different currencies are combined."""


@lru_cache(maxsize=512)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_digits(currency))


def _rounded(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to ``currency``'s minor unit (left as it is when it cannot be: the validator
    then refuses it with a message)."""
    if not amount.is_finite() or abs(amount) >= _LIMIT or currency.upper() not in CURRENCIES:
        return amount
    return amount.quantize(_quantum(currency.upper()), rounding=ROUND_HALF_UP)


def _amount_error(message: str, amount: object) -> ValidationError:
    # Raised from the model validator (which knows the currency) but located at the amount: body.price.amount.
    return invalid_at(("amount",), message, str(amount), title="Money")


class Money(BaseModel):
    """An amount of one currency; JSON ``{"amount": "12.50", "currency": "BRL"}``. The amount is a decimal string
    with no more decimals than the currency has: anything else is refused (422), never rounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[Decimal, WithJsonSchema(_amount_schema(MAX_INTEGER_DIGITS, negative=True))]
    currency: Annotated[str, Documented(_currency_schema)]

    @field_validator("currency", mode="before")
    @classmethod
    def _known_currency(cls, value: Any) -> str:
        code = str(value).strip().upper()
        if code not in CURRENCIES:
            raise ValueError(f"'{value}' is not an ISO 4217 currency code")
        return code

    @field_validator("amount", mode="before")
    @classmethod
    def _decimal_string(cls, value: Any, info: ValidationInfo) -> Any:
        # A float has already lost precision; a JSON number may have too (and the document says string).
        if isinstance(value, float):
            raise ValueError("amount must be a decimal string, not a float")
        if isinstance(value, bool) or (isinstance(value, int) and info.mode == "json"):
            raise ValueError('amount must be a decimal string such as "12.50", not a number')
        if isinstance(value, str):
            if not _AMOUNT.fullmatch(value):
                raise ValueError(
                    f"'{value[:40]}' is not a decimal amount: digits with an optional point and at most"
                    f" {_MAX_DECIMALS} decimals, below 10^{MAX_INTEGER_DIGITS} (no exponent)"
                )
            return Decimal(value)
        return value

    @model_validator(mode="after")
    def _minor_units(self) -> Self:
        amount = self.amount
        if not amount.is_finite():
            raise _amount_error("amount must be finite", amount)
        if abs(amount) >= _LIMIT:
            raise _amount_error(f"amount must be below 10^{MAX_INTEGER_DIGITS} in absolute value", amount)
        exact = amount.quantize(_quantum(self.currency))
        if exact != amount:
            places = minor_digits(self.currency)
            raise _amount_error(f"amount has more decimals than {self.currency} allows ({places})", amount)
        # One representation per value: 12.5 is stored and shown as 12.50, -0 as 0.00.
        object.__setattr__(self, "amount", exact.copy_abs() if exact.is_zero() else exact)
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _once_per_text(cls, value: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # Defined after the other validators, so that it runs around all of them. A Money is immutable and a
        # function of its two texts, and a page of 25 orders validates some 225 of them, mostly the same few (the
        # catalog's prices, 0.00): each was a nested model through three Python validators, most of what reading
        # the page cost. So a text already validated gives the Money it gave then. Anything else (another shape,
        # a refused amount) goes through the validators every time.
        if cls is not Money or type(value) is not dict or len(value) != 2:
            return handler(value)
        amount, currency = value.get("amount"), value.get("currency")
        if type(amount) is not str or type(currency) is not str:
            return handler(value)
        known = _validated.get((amount, currency))
        if known is None:
            known = handler(value)
            if len(_validated) >= _KEPT_AMOUNTS:
                _validated.clear()
            _validated[(amount, currency)] = known
        return known  # type: ignore[return-value]

    @field_serializer("amount")
    def _amount_as_string(self, amount: Decimal) -> str:
        return format(amount, "f")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Build from an amount computed in code, rounded half-up to the currency's minor unit."""
        try:
            value = Decimal(amount)
        except InvalidOperation as exc:
            raise ValueError(f"'{amount}' is not a decimal amount") from exc
        return cls(amount=_rounded(value, currency), currency=currency)

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
        return Money.of(self.amount * Decimal(factor), self.currency)

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

    @property
    def minor_units(self) -> int:
        """The amount in the currency's smallest unit (centavos, cents; yen are already whole): what card
        processors such as Stripe take."""
        return int(self.amount.scaleb(minor_digits(self.currency)))

    @classmethod
    def of_minor(cls, units: int, currency: str) -> Money:
        """Inverse of ``minor_units``: 1250 BRL centavos is R$ 12,50."""
        code = str(currency).strip().upper()
        return cls(amount=Decimal(units).scaleb(-minor_digits(code)), currency=code)

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def format(self, locale: str = "pt_BR") -> str:
        """The amount as a person reads it in ``locale`` (``R$ 12,50``)."""
        from babel.numbers import format_currency

        return str(format_currency(self.amount, self.currency, locale=locale.replace("-", "_")))


_validated: dict[tuple[str, str], Money] = {}


@dataclass(frozen=True)
class MoneyBelow:
    """Annotation of a request field: ``Annotated[Money, MoneyBelow(9)]`` is not negative and below ``10^9`` (a
    price, a discount). Its documented amount pattern says so; an amount outside is a 422 naming the field."""

    integer_digits: int

    def _unsigned(self, value: Any) -> Any:
        amount = value.get("amount") if isinstance(value, dict) else None
        if isinstance(amount, str) and amount.startswith("-"):
            raise _amount_error("amount must not be negative", amount)
        return value

    def _within(self, money: Money) -> Money:
        limit = Decimal(10) ** self.integer_digits
        if money.amount < 0 or money.amount >= limit:
            raise _amount_error(f"amount must be between 0 and {limit} (excluded)", money.amount)
        return money

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        checked = core_schema.no_info_after_validator_function(self._within, handler(source))
        return core_schema.no_info_before_validator_function(self._unsigned, checked)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {
            "type": "object",
            "description": Money.__doc__,
            "properties": {
                "amount": _amount_schema(self.integer_digits, negative=False),
                "currency": {"type": "string", **_currency_schema()},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        }
