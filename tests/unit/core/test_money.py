"""Money: Decimal amounts, ISO 4217 currencies, half-up rounding to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.core.money import CurrencyMismatch, Money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.005", "BRL", "10.01"),
        ("10.004", "BRL", "10.00"),
        ("-10.005", "BRL", "-10.01"),
        ("1.5", "JPY", "2"),
        ("2.5", "JPY", "3"),
        ("1.0005", "KWD", "1.001"),
        ("7", "EUR", "7.00"),
    ],
)
def test_amount_is_rounded_half_up_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert Money.of(amount, currency).model_dump() == {"amount": expected, "currency": currency}


def test_currency_code_is_normalised_and_must_be_iso_4217() -> None:
    assert Money.of("1", "brl").currency == "BRL"
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money.of("1", "XYZ1")


def test_float_amounts_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a float"):
        Money(amount=0.1, currency="BRL")  # type: ignore[arg-type]


def test_garbage_amount_names_the_problem() -> None:
    with pytest.raises(ValidationError, match="not a decimal amount"):
        Money.model_validate({"amount": "12,50", "currency": "BRL"})


def test_arithmetic_keeps_currency_and_rounding() -> None:
    price = Money.of("19.99", "BRL")
    total = price * 3 + Money.of("0.03", "BRL") - Money.of("1", "BRL")
    assert total == Money.of("59.00", "BRL")
    assert (price * Decimal("0.175")).amount == Decimal("3.50")
    assert Money.zero("BRL").is_zero()
    assert price > Money.of("19.98", "BRL")


def test_mixing_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "BRL") + Money.of("1", "USD")


def test_json_amount_is_a_string_and_parses_back() -> None:
    money = Money.of("12.5", "BRL")
    assert money.model_dump_json() == '{"amount":"12.50","currency":"BRL"}'
    assert Money.model_validate_json(money.model_dump_json()) == money


def test_format_follows_the_locale() -> None:
    assert Money.of("1234.5", "BRL").format("pt-BR") == "R$\xa01.234,50"
    assert Money.of("1234.5", "USD").format("en-US") == "$1,234.50"
