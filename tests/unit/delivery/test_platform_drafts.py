"""A delivery platform's order of a shape BTRIX cannot read is the platform's data BTRIX cannot take (``rejected``:
noted by the pollers, dead-lettered by the webhook jobs), never an exception that fails every poll after it."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.delivery import ifood, rappi
from chalicelib.integrations.http import Failure, ProviderError

_RAPPI_ITEM = {"sku": "P1", "name": "Pizza", "quantity": 1, "price": 45.0}
_IFOOD_ITEM = {"name": "Pizza", "quantity": 1, "unitPrice": 45.0, "totalPrice": 45.0}


def _rappi(**detail: Any) -> dict[str, Any]:
    return {"order_detail": {"order_id": "R1", "items": [_RAPPI_ITEM], **detail}}


def _ifood(**order: Any) -> dict[str, Any]:
    return {"id": "I1", "items": [_IFOOD_ITEM], **order}


@pytest.mark.parametrize(
    "order",
    [
        "not an order",
        {"order_detail": ["R1"]},
        _rappi(items=[{**_RAPPI_ITEM, "quantity": "two"}]),
        _rappi(items=[{**_RAPPI_ITEM, "quantity": 1e400}]),
        _rappi(items=[{**_RAPPI_ITEM, "price": "NaN"}]),
        _rappi(totals=[50.5]),
        _rappi(customer="Ana"),
    ],
)
def test_a_rappi_order_btrix_cannot_read_is_rejected(order: Any) -> None:
    with pytest.raises(ProviderError) as refused:
        rappi.draft_of(order)
    assert refused.value.failure is Failure.REJECTED


@pytest.mark.parametrize(
    "order",
    [
        ["I1"],
        _ifood(items=[{**_IFOOD_ITEM, "quantity": "two"}]),
        _ifood(total={"orderAmount": "Infinity"}),
        _ifood(total={"orderAmount": "NaN"}),
        _ifood(customer=["Ana"]),
        _ifood(delivery="motoboy"),
    ],
)
def test_an_ifood_order_btrix_cannot_read_is_rejected(order: Any) -> None:
    with pytest.raises(ProviderError) as refused:
        ifood.draft_of(order)
    assert refused.value.failure is Failure.REJECTED


def test_orders_of_the_documented_shape_still_read() -> None:
    assert rappi.draft_of(_rappi()).lines[0].quantity == 1
    assert str(ifood.draft_of(_ifood()).lines[0].unit_price.amount) == "45.00"
