"""The currency table Money validates with is Babel's (the installed version's), so that an amount is read without
loading Babel and still means what Babel says it means."""

from __future__ import annotations

from babel.numbers import get_currency_precision, list_currencies

from chalicelib.core.currencies import CURRENCIES, minor_digits


def test_the_table_lists_exactly_babels_currencies() -> None:
    assert sorted(CURRENCIES ^ set(list_currencies())) == [], (
        "add to or remove from CURRENCIES in core/currencies.py (under its first letter)"
    )


def test_every_currency_has_babels_number_of_decimals() -> None:
    differ = {
        code: get_currency_precision(code) for code in CURRENCIES if minor_digits(code) != get_currency_precision(code)
    }
    assert differ == {}, (
        "put each code under its number of decimals in _DIGITS (core/currencies.py, under its first letter)"
    )


def test_a_code_babel_does_not_know_has_two_decimals_as_in_babel() -> None:
    assert minor_digits("ZZZ") == get_currency_precision("ZZZ") == 2
