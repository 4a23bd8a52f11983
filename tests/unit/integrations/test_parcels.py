"""What the shipping clients compute before they call anyone: the one box an order travels in, the weight JadLog
bills, and Correios' money and expiry formats."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chalicelib.integrations.correios.client import _expiry, _money
from chalicelib.integrations.jadlog.client import billable_kg
from chalicelib.integrations.parcels import Package, parcel


def _line(width: int, height: int, length: int, kg: str, value: str, quantity: int) -> Package:
    return Package("p", width, height, length, Decimal(kg), Decimal(value), quantity)


def test_lines_are_packed_side_by_side_lengths_stacked() -> None:
    box = parcel([_line(20, 25, 30, "1.5", "120.00", 2), _line(30, 10, 15, "0.250", "9.90", 1)])
    assert (box.width_cm, box.height_cm, box.length_cm) == (30, 25, 75)
    assert box.weight_kg == Decimal("3.250")
    assert box.weight_grams == 3250
    assert box.declared_value == Decimal("249.90")


def test_jadlog_bills_the_cubed_weight_when_it_is_greater() -> None:
    light_and_big = parcel([_line(40, 40, 60, "2", "50", 1)])
    assert billable_kg(light_and_big, 9) == Decimal("16.000")  # by air: 96000 cm³ / 6000
    assert billable_kg(light_and_big, 3) == Decimal("28.803")  # by road: / 3333
    heavy_and_small = parcel([_line(10, 10, 10, "12", "50", 1)])
    assert billable_kg(heavy_and_small, 3) == Decimal("12.000")


def test_correios_money_has_a_decimal_comma() -> None:
    assert _money("24,84") == Decimal("24.84")
    assert _money("1.024,50") == Decimal("1024.50")
    assert _money("18.5") == Decimal("18.5")
    assert _money(None) is None


def test_correios_expiry_without_an_offset_is_brasilia_time() -> None:
    assert _expiry("2026-12-06T21:00:00") == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert _expiry("2026-12-06T21:00:00Z") == datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
