"""Field types that validate and normalise what people type: phones, documents, time zones, locales, codes.

Each type's JSON Schema says what its validator takes (the OpenAPI document is exact: a value it allows is
accepted): the time zones, currencies, countries and locales as enums, a phone as E.164. The lists are computed
when a schema is asked for, not when a model validates, so a cold start does not load them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "HTTPS_URL_PATTERN",
    "CountryCode",
    "CurrencyCode",
    "Documented",
    "E164Phone",
    "Instant",
    "LocaleTag",
    "OriginUrl",
    "TimeZoneName",
    "currency_schema",
    "is_loopback_host",
    "locale_tags",
    "normalize_cnpj",
    "normalize_cpf",
    "normalize_origin",
    "normalize_phone",
]

_DIGITS = re.compile(r"\D")

# How the document describes an https URL a field takes (a host and an optional path; the validators may take more
# and also check where the host resolves to).
HTTPS_URL_PATTERN = r"^https://[A-Za-z0-9.-]+(/\S*)?$"


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


@cache
def locale_tags() -> tuple[str, ...]:
    """Every locale tag the validator accepts in its normal form (``pt``, ``pt-BR``), as the document lists them."""
    from babel.localedata import locale_identifiers

    tags = set()
    for identifier in locale_identifiers():
        try:
            tag = _locale(identifier.replace("_", "-"))
            if _locale(tag) == tag:  # az_Latn_TR reads as az-TR, which is no locale of its own
                tags.add(tag)
        except ValueError:
            continue
    return tuple(sorted(tags))


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_ORIGIN = re.compile(
    r"^(https?)://(\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:(\d{1,5}))?$"
)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a Host header's name, port left off) names this machine: 127.0.0.1, localhost, [::1]."""
    return host.lower() in _LOOPBACK_HOSTS


def normalize_origin(value: str) -> str:
    """A browser origin as browsers send it: ``https://app.example.com`` (lower case, no default port, no path).

    Plain ``http`` only for a loopback host (a developer's frontend) and only in the local stage.
    """
    from chalicelib.core.config import get_settings

    found = _ORIGIN.match(value.strip().lower().removesuffix("/"))
    if found is None:
        raise ValueError("must be an origin: https://host[:port], no path, no wildcard")
    scheme, host, port = found.group(1), found.group(2), found.group(7)
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError("the port must be 1-65535")
    if scheme == "http" and not (is_loopback_host(host) and get_settings().stage == "local"):
        raise ValueError("must be https (plain http only for 127.0.0.1/localhost in the local stage)")
    if port is not None and int(port) == {"https": 443, "http": 80}[scheme]:
        port = None
    return f"{scheme}://{host}" + (f":{int(port)}" if port else "")


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


@dataclass(frozen=True)
class Documented:
    """Adds to a type's JSON Schema what its validator enforces: ``Annotated[str, ..., Documented(lambda: {...})]``.
    The addition is computed when a schema is asked for (the OpenAPI document), never on a request path."""

    extra: Callable[[], dict[str, Any]]

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        schema.update(self.extra())
        return schema


def _one_of(values: Callable[[], frozenset[str] | tuple[str, ...]], example: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"enum": sorted(values()), "examples": [example]}


def _phone_schema() -> dict[str, Any]:
    return {"pattern": r"^\+[1-9][0-9]{6,14}$", "examples": ["+5511999990000"]}


currency_schema = _one_of(_currencies, "BRL")

E164Phone = Annotated[str, BeforeValidator(_strip), AfterValidator(normalize_phone), Documented(_phone_schema)]
TimeZoneName = Annotated[
    str, BeforeValidator(_strip), AfterValidator(_time_zone), Documented(_one_of(_time_zones, "America/Sao_Paulo"))
]
LocaleTag = Annotated[str, BeforeValidator(_strip), AfterValidator(_locale), Documented(_one_of(locale_tags, "pt-BR"))]
CurrencyCode = Annotated[str, AfterValidator(_currency), Documented(currency_schema)]
CountryCode = Annotated[str, AfterValidator(_country), Documented(_one_of(_countries, "BR"))]
OriginUrl = Annotated[
    str,
    StringConstraints(max_length=262),
    AfterValidator(normalize_origin),
    Documented(lambda: {"format": "uri", "maxLength": 262, "examples": ["https://app.example.com"]}),
]


# An instant a request names (a booking, a follow-up, a filter's bound), kept a year inside what Python's datetime
# holds once in UTC: 0001-01-01T00:30+01:00 is year 0 in UTC, and the services add durations and days to it.
_FIRST_INSTANT = datetime(2, 1, 1, tzinfo=UTC)
_LAST_INSTANT = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a UTC offset or Z, e.g. 2026-03-02T14:00:00-03:00")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not _FIRST_INSTANT <= in_utc <= _LAST_INSTANT:
        raise ValueError("must be between 0002-01-01T00:00:00Z and 9998-12-31T23:59:59Z")
    return value


Instant = Annotated[datetime, AfterValidator(_instant)]
