"""Money: Decimal amounts, ISO 4217 currencies, exact input, half-up rounding of amounts computed in code."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from chalicelib.core.money import MAX_INTEGER_DIGITS, CurrencyMismatch, Money, MoneyBelow


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


def _refusal(amount: Any, currency: str = "BRL", model: Any = Money) -> dict[str, Any]:
    body = json.dumps({"amount": amount, "currency": currency})
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(model).validate_json(body)
    errors = refused.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


HOSTILE_AMOUNTS = [
    "1e100",
    "1e26",
    "1E+5000",
    "1" * 40,
    "9" * (MAX_INTEGER_DIGITS + 1),
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e2",
    "12.5e-1",
    "0.0000000000000000000000001",
    "12,50",
    " 12.50",
    "12.",
    ".5",
    "+1",
    "",
    "0x10",
    "١٢",  # Arabic-Indic digits: Decimal reads them, the documented pattern does not
]


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
def test_amounts_too_large_or_not_in_plain_decimal_notation_are_refused_at_the_amount(amount: str) -> None:
    # Before: "1e26" and longer raised decimal.InvalidOperation out of validation (a 500), "1e-25" became 0.00.
    assert _refusal(amount)["loc"] == ("amount",)


@pytest.mark.parametrize(
    ("amount", "currency"), [("12.505", "BRL"), ("1.5", "JPY"), ("1.0005", "KWD"), ("0.01", "JPY")]
)
def test_more_decimals_than_the_currency_allows_are_refused_not_rounded(amount: str, currency: str) -> None:
    error = _refusal(amount, currency)
    assert error["loc"] == ("amount",)
    assert f"more decimals than {currency} allows" in error["msg"]


def test_trailing_zeros_and_negative_zero_read_as_the_plain_amount() -> None:
    assert Money.model_validate_json('{"amount": "12.500", "currency": "BRL"}').model_dump()["amount"] == "12.50"
    assert Money.model_validate_json('{"amount": "100.00", "currency": "JPY"}').model_dump()["amount"] == "100"
    assert Money.model_validate_json('{"amount": "-0.00", "currency": "BRL"}').model_dump()["amount"] == "0.00"
    assert Money.of("-0.001", "BRL").model_dump()["amount"] == "0.00"


def test_json_numbers_are_refused_while_code_may_pass_ints_and_decimals() -> None:
    assert _refusal(12)["loc"] == ("amount",)
    assert _refusal(True)["loc"] == ("amount",)
    assert Money(amount=12, currency="BRL").amount == Decimal("12.00")  # type: ignore[arg-type]
    assert Money.model_validate({"amount": Decimal("12.5"), "currency": "BRL"}).amount == Decimal("12.50")
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": Decimal("1e30"), "currency": "BRL"})


def test_arithmetic_beyond_the_limit_is_a_validation_error_not_an_invalid_operation() -> None:
    big = Money.of("9" * MAX_INTEGER_DIGITS, "BRL")
    with pytest.raises(ValidationError):
        big * 10
    with pytest.raises(ValidationError):
        Money.of("1e30", "BRL")


class _Priced(BaseModel):
    price: Annotated[Money, MoneyBelow(9)]


@pytest.mark.parametrize("amount", ["-1", "-0", "1000000000", "1000000000.00", "-0.01"])
def test_a_bounded_amount_outside_its_range_is_refused_at_the_amount(amount: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _Priced.model_validate_json(json.dumps({"price": {"amount": amount, "currency": "BRL"}}))
    assert [e["loc"] for e in refused.value.errors()] == [("price", "amount")]


SAMPLES = [
    *HOSTILE_AMOUNTS,
    "0",
    "-0",
    "7",
    "12.5",
    "12.50",
    "12.5000",
    "12.50000",
    "-12.5",
    "999999999",
    "999999999.9999",
    "1000000000",
    "9" * MAX_INTEGER_DIGITS,
    "9" * MAX_INTEGER_DIGITS + ".9999",
    "0000000000000000000000",
]


@pytest.mark.parametrize("model", [Money, _Priced])
def test_the_documented_pattern_accepts_exactly_what_validation_accepts(model: Any) -> None:
    # CLF has 4 decimals, the most any currency has: there the currency adds no rule of its own.
    schema = model.model_json_schema()
    if model is _Priced:
        schema = schema["properties"]["price"]
    pattern = schema["properties"]["amount"]["pattern"]
    for amount in SAMPLES:
        documented = re.fullmatch(pattern, amount, flags=re.ASCII) is not None
        money = {"amount": amount, "currency": "CLF"}
        try:
            model.model_validate_json(json.dumps(money if model is Money else {"price": money}))
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == documented, amount


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


@pytest.mark.parametrize(
    ("amount", "currency", "units"), [("12.50", "BRL", 1250), ("0.01", "USD", 1), ("500", "JPY", 500)]
)
def test_minor_units_round_trip(amount: str, currency: str, units: int) -> None:
    money = Money.of(amount, currency)
    assert money.minor_units == units
    assert Money.of_minor(units, currency.lower()) == money


class _Line(BaseModel):
    price: Money
    discount: Annotated[Money, MoneyBelow(9)] | None = None


def test_an_amount_read_again_gives_the_same_money_and_a_refused_one_stays_refused() -> None:
    rows = [{"price": {"amount": "12.5", "currency": " brl"}, "discount": {"amount": "0", "currency": "BRL"}}] * 3
    rows += [{"price": {"amount": "-0", "currency": "BRL"}}] * 2
    shown = [_Line.model_validate(row).model_dump_json() for row in rows]
    assert (
        shown
        == [
            '{"price":{"amount":"12.50","currency":"BRL"},"discount":{"amount":"0.00","currency":"BRL"}}',
        ]
        * 3
        + ['{"price":{"amount":"0.00","currency":"BRL"},"discount":null}'] * 2
    )
    negative = {"price": {"amount": "1", "currency": "BRL"}, "discount": {"amount": "-1.00", "currency": "BRL"}}
    for _ in range(2):
        with pytest.raises(ValidationError) as too_precise:
            _Line.model_validate({"price": {"amount": "12.505", "currency": "BRL"}})
        assert [error["loc"] for error in too_precise.value.errors()] == [("price", "amount")]
        with pytest.raises(ValidationError) as below_zero:
            _Line.model_validate(negative)
        assert [error["loc"] for error in below_zero.value.errors()] == [("discount", "amount")]


def test_the_amounts_kept_are_bounded() -> None:
    from chalicelib.core import money

    for cents in range(money._KEPT_AMOUNTS + 10):
        assert Money.model_validate({"amount": f"{cents / 100:.2f}", "currency": "EUR"}).minor_units == cents
    assert len(money._validated) <= money._KEPT_AMOUNTS
