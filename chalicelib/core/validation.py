"""Field types that validate and normalise what people type: phones, documents, time zones, locales, codes."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

__all__ = [
    "CountryCode",
    "CurrencyCode",
    "E164Phone",
    "LocaleTag",
    "TimeZoneName",
    "normalize_cnpj",
    "normalize_cpf",
    "normalize_phone",
]

_DIGITS = re.compile(r"\D")


def normalize_phone(value: str) -> str:
    """The number in E.164 (``+5511999990000``); raises ValueError when it is not a valid phone number."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must be a phone number in international format, e.g. +5511999990000") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("is not a valid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_cpf(value: str) -> str:
    """The CPF's 11 digits; raises ValueError when its check digits are wrong."""
    from validate_docbr import CPF

    digits = _DIGITS.sub("", value)
    if len(digits) != 11 or len(set(digits)) == 1 or not CPF().validate(digits):
        raise ValueError("is not a valid CPF")
    return digits


def normalize_cnpj(value: str) -> str:
    """The CNPJ's 14 digits; raises ValueError when its check digits are wrong."""
    from validate_docbr import CNPJ

    digits = _DIGITS.sub("", value)
    if len(digits) != 14 or len(set(digits)) == 1 or not CNPJ().validate(digits):
        raise ValueError("is not a valid CNPJ")
    return digits


@cache
def _time_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("must be an IANA time zone, e.g. America/Sao_Paulo")
    return value


def _locale(value: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        parsed = Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError("must be a locale tag such as pt-BR, en-US, es-ES, da-DK") from exc
    return f"{parsed.language}-{parsed.territory}" if parsed.territory else parsed.language


@cache
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in _currencies():
        raise ValueError("must be an ISO 4217 currency code, e.g. BRL")
    return code


@cache
def _countries() -> frozenset[str]:
    from babel import Locale

    return frozenset(str(code) for code in Locale("en").territories if len(str(code)) == 2 and str(code).isalpha())


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in _countries():
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. BR")
    return code


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


E164Phone = Annotated[str, BeforeValidator(_strip), AfterValidator(normalize_phone)]
TimeZoneName = Annotated[str, BeforeValidator(_strip), AfterValidator(_time_zone)]
LocaleTag = Annotated[str, BeforeValidator(_strip), AfterValidator(_locale)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
CountryCode = Annotated[str, AfterValidator(_country)]
