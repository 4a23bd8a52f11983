"""How money and moments read to a person: with Babel, in a locale, a moment in the tenant's time zone.

The JSON API keeps raw values (amounts as decimal strings, moments as ISO 8601 UTC); these are for texts shown to
people. A capability that requests a message passes what it shows as a marked value (``money_value``,
``moment_value``, ``month_value``) and the notifications worker formats it (``render_values``) once it knows the
locale the message goes out in (the customer's own may differ from the one requested) and the tenant's time zone:
``R$ 1.234,56`` and ``6 de dez. de 2026 10:30`` in pt-BR, ``$1,234.56`` and ``Dec 6, 2026, 10:30 AM`` in en-US,
``1.234,56 €`` in es-ES, ``1.234,56 kr.`` in da-DK.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from chalicelib.core.money import Money

__all__ = [
    "format_moment",
    "format_money",
    "format_month",
    "format_weekday",
    "moment_value",
    "money_value",
    "month_value",
    "render_values",
]

_MONEY, _MOMENT, _MONTH = "$money", "$moment", "$month"
DateLength = Literal["full", "long", "medium", "short"]


def _babel(locale: str) -> str:
    return locale.replace("-", "_")


def format_money(value: Money, locale: str) -> str:
    """``value`` as a person of ``locale`` reads it (``R$ 1.234,56``; Babel's spacing, a no-break space)."""
    return value.format(_babel(locale))


def _moment(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_moment(value: datetime | str, locale: str, time_zone: str, *, length: DateLength = "medium") -> str:
    """A moment (a datetime, or ISO 8601) as a person of ``locale`` reads it, on the clock of ``time_zone``: the
    date at ``length`` (``short``: 06/12/2026, ``medium``: 6 de dez. de 2026) and the time to the minute."""
    from babel.dates import format_date, format_time, get_datetime_format

    local = _moment(value).astimezone(ZoneInfo(time_zone))
    date = format_date(local, length, locale=_babel(locale))
    hour = format_time(local, "short", locale=_babel(locale))
    return str(get_datetime_format(length, locale=_babel(locale))).replace("{1}", date).replace("{0}", hour)


def format_month(value: str, locale: str) -> str:
    """A month ``YYYY-MM`` as a person of ``locale`` reads it (``dezembro de 2026``, ``December 2026``)."""
    from babel.dates import format_skeleton

    year, month = (int(part) for part in value.split("-")[:2])
    return str(format_skeleton("yMMMM", datetime(year, month, 1, tzinfo=UTC), locale=_babel(locale)))


def format_weekday(day: int, locale: str) -> str:
    """Day ``day`` of the week (0 is Monday) as ``locale`` abbreviates it (``seg.``, ``Mon``, ``lun``, ``man.``)."""
    from babel.dates import get_day_names

    return str(get_day_names("abbreviated", locale=_babel(locale))[day])


def money_value(value: Money) -> dict[str, Any]:
    """A message variable that shows ``value`` in the message's locale."""
    return {_MONEY: value.model_dump(mode="json")}


def moment_value(value: datetime | str) -> dict[str, Any]:
    """A message variable that shows a moment in the message's locale and the tenant's time zone."""
    return {_MOMENT: value.isoformat() if isinstance(value, datetime) else value}


def month_value(value: str) -> dict[str, Any]:
    """A message variable that shows a month (``YYYY-MM``) in the message's locale."""
    return {_MONTH: value}


def _render(value: Any, locale: str, time_zone: str) -> Any:
    if not isinstance(value, Mapping) or len(value) != 1:
        return value
    ((kind, raw),) = value.items()
    try:
        if kind == _MONEY:
            return format_money(Money.model_validate(raw), locale)
        if kind == _MOMENT:
            return format_moment(str(raw), locale, time_zone)
        if kind == _MONTH:
            return format_month(str(raw), locale)
    except (ValueError, TypeError, ArithmeticError):
        return str(raw)  # a value that does not parse is shown as it is rather than failing the message
    return value


def render_values(variables: Mapping[str, Any], locale: str, time_zone: str) -> dict[str, Any]:
    """``variables`` with every marked value formatted for ``locale`` and ``time_zone``; the rest as they are."""
    return {name: _render(value, locale, time_zone) for name, value in variables.items()}
