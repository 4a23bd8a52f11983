"""Money and moments as people read them, per supported locale; marked message variables formatted, others kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.formatting import (
    format_moment,
    format_money,
    format_month,
    format_weekday,
    moment_value,
    money_value,
    month_value,
    render_values,
)
from chalicelib.core.money import Money

NBSP, NNBSP = "\xa0", "\u202f"


def _plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("pt-BR", "BRL", "R$ 1.234,56"),
        ("en-US", "USD", "$1,234.56"),
        ("es-ES", "EUR", "1.234,56 €"),
        ("da-DK", "DKK", "1.234,56 kr."),
    ],
)
def test_money_reads_as_in_each_locale(locale: str, currency: str, expected: str) -> None:
    assert _plain(format_money(Money(amount=Decimal("1234.56"), currency=currency), locale)) == expected


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("pt-BR", "America/Sao_Paulo", "6 de dez. de 2026 10:30"),
        ("en-US", "America/New_York", "Dec 6, 2026, 8:30 AM"),
        ("es-ES", "Europe/Madrid", "6 dic 2026, 14:30"),
        ("da-DK", "Europe/Copenhagen", "6. dec. 2026 14.30"),
    ],
)
def test_a_utc_moment_reads_on_the_tenants_clock_in_each_locale(locale: str, zone: str, expected: str) -> None:
    assert _plain(format_moment("2026-12-06T13:30:00Z", locale, zone)) == expected


def test_a_month_reads_as_a_month_name() -> None:
    assert [format_month("2026-12", locale) for locale in ("pt-BR", "en-US", "es-ES", "da-DK")] == [
        "dezembro de 2026",
        "December 2026",
        "diciembre de 2026",
        "december 2026",
    ]


@pytest.mark.parametrize(
    ("locale", "monday", "saturday"),
    [("pt-BR", "seg.", "sáb."), ("en-US", "Mon", "Sat"), ("es-ES", "lun", "sáb"), ("da-DK", "man.", "lør.")],
)
def test_a_weekday_reads_as_its_locale_abbreviates_it(locale: str, monday: str, saturday: str) -> None:
    assert (format_weekday(0, locale), format_weekday(5, locale)) == (monday, saturday)


def test_marked_variables_are_formatted_and_the_rest_kept_as_they_are() -> None:
    variables = {
        "amount": money_value(Money(amount=Decimal("52.3"), currency="BRL")),
        "expiresAt": moment_value("2026-12-06T02:00:00Z"),
        "month": month_value("2026-01"),
        "name": "Ana",
        "count": 3,
        "broken": {"$moment": "not a date"},
        "plain": {"a": 1},
    }
    shown = render_values(variables, "pt-BR", "America/Sao_Paulo")
    assert _plain(shown["amount"]) == "R$ 52,30"
    assert shown["expiresAt"] == "5 de dez. de 2026 23:00"  # the day before, on São Paulo's clock
    assert shown["month"] == "janeiro de 2026"
    assert (shown["name"], shown["count"], shown["broken"], shown["plain"]) == ("Ana", 3, "not a date", {"a": 1})
