"""The stock writes orders put in their transactions: reserve, release, consume, check, under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.core.db.store import Table
from chalicelib.core.errors import AppError, Conflict, InvalidInput
from chalicelib.inventory import service
from tests.support.commerce import WrittenEvent, create_product, move_stock, stocked_product
from tests.support.identity import call, signup


def _stock(api: Any, account: Any, product_id: str) -> dict[str, Any]:
    return dict(call(api, "GET", f"/inventory/{product_id}", headers=account.headers()).json_body)


def _reserve(tenant_id: str, lines: list[tuple[str, int]], reference: str) -> None:
    service.run_stock_transaction(lambda: (service.reserve_ops(tenant_id, lines, "u-orders", reference), None))


def _race(workers: int, attempt: Any) -> list[str]:
    """Run ``attempt`` in ``workers`` threads released at once; the outcome of each: ok or the error's class."""
    start = threading.Barrier(workers)

    def one(i: int) -> str:
        start.wait()
        try:
            attempt(i)
        except AppError as exc:
            return type(exc).__name__
        return "ok"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(workers)))


@pytest.mark.parametrize("threshold", [0, 3])
def test_parallel_reservations_of_the_last_units_succeed_exactly_as_many_as_are_available(
    api: Any, threshold: int, written_events: list[WrittenEvent]
) -> None:
    admin, _ = signup(api)
    product = stocked_product(api, admin, 5, name="Último lote")
    pid = product["id"]
    call(api, "PATCH", f"/inventory/{pid}", {"lowStockThreshold": threshold}, admin.headers())
    outcomes = _race(12, lambda i: _reserve(admin.tenant_id, [(pid, 1)], f"order-{i}"))
    assert sorted(outcomes) == ["InvalidInput"] * 7 + ["ok"] * 5
    stock = _stock(api, admin, pid)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (5, 5, 0)
    movements = call(api, "GET", f"/inventory/{pid}/movements?limit=100", headers=admin.headers()).json_body["items"]
    assert sorted(m["type"] for m in movements) == ["in"] + ["reserve"] * 5
    lows = [e for e in written_events if e.type == "inventory.low_stock" and e.subject == pid]
    assert len(lows) == (1 if threshold else 0)
    if threshold:
        assert lows[0].data["available"] == 2  # the reservation that took it from 3 to 2


def test_unretried_conditional_reservations_never_oversell(api: Any) -> None:
    admin, _ = signup(api)
    product = stocked_product(api, admin, 3, name="Raro")
    pid = product["id"]

    def attempt(i: int) -> None:
        Table().transact(service.reserve_ops(admin.tenant_id, [(pid, 1)], "u-orders", f"order-{i}"))

    outcomes = _race(10, attempt)
    won = outcomes.count("ok")
    assert 1 <= won <= 3
    assert set(outcomes) <= {"ok", "TransactionConflict", "Conflict", "InvalidInput"}
    stock = _stock(api, admin, pid)
    assert (stock["reserved"], stock["available"]) == (won, 3 - won)


def test_parallel_people_taking_stock_out_never_go_negative(api: Any) -> None:
    admin, _ = signup(api)
    product = stocked_product(api, admin, 2, name="Disputado")
    statuses = _race(3, lambda i: _expect_created(move_stock(api, admin, product["id"], "out", 1)))
    assert sorted(statuses) == ["InvalidInput", "ok", "ok"]
    assert _stock(api, admin, product["id"])["onHand"] == 0


def _expect_created(response: Any) -> None:
    if response.status_code == 422:
        raise InvalidInput(detail=str(response.json_body))
    assert response.status_code == 201, response.body


def test_reserve_release_and_consume_follow_an_order_and_name_the_short_line(api: Any) -> None:
    admin, _ = signup(api)
    flour = stocked_product(api, admin, 10, name="Farinha")["id"]
    salt = stocked_product(api, admin, 2, name="Sal")["id"]
    delivery = create_product(api, admin, kind="service", name="Entrega")["id"]
    tenant = admin.tenant_id

    with pytest.raises(InvalidInput) as short:
        service.check_available(tenant, [(flour, 4), (salt, 2), (delivery, 1), (salt, 1)])
    assert short.value.errors[0].loc == "body.items[3].quantity"
    with pytest.raises(InvalidInput) as unknown:
        service.check_available(tenant, [(flour, 1), ("01NOSUCHPRODUCT", 1)])
    assert unknown.value.errors[0].loc == "body.items[1].productId"
    with pytest.raises(InvalidInput) as zero:
        service.check_available(tenant, [(flour, 0)])
    assert zero.value.errors[0].loc == "body.items[0].quantity"
    service.check_available(tenant, [(flour, 4), (flour, 6), (delivery, 3)])

    ops = service.reserve_ops(tenant, [(flour, 3), (delivery, 1), (flour, 1), (salt, 2)], "u1", "order-A")
    assert len(ops) == 4  # two products (merged lines), a write and a movement each; the service has no stock
    Table().transact(ops)
    assert (_stock(api, admin, flour)["reserved"], _stock(api, admin, salt)["available"]) == (4, 0)
    with pytest.raises(InvalidInput) as sold_out:
        service.reserve_ops(tenant, [(salt, 1)], "u1", "order-B")
    assert sold_out.value.errors[0].loc == "body.items[0].quantity"

    Table().transact(service.consume_ops(tenant, [(flour, 3)], "u1", "order-A"))
    Table().transact(service.release_ops(tenant, [(flour, 1), (salt, 2)], "u1", "order-A"))
    flour_stock = _stock(api, admin, flour)
    assert (flour_stock["onHand"], flour_stock["reserved"], flour_stock["available"]) == (7, 0, 7)
    assert _stock(api, admin, salt)["available"] == 2
    with pytest.raises(Conflict):
        service.release_ops(tenant, [(flour, 1)], "u1", "order-A")

    Table().transact(service.consume_ops(tenant, [(flour, 2)], "u1", "order-POS", from_reserved=False))
    assert _stock(api, admin, flour)["onHand"] == 5
    movements = call(api, "GET", f"/inventory/{flour}/movements", headers=admin.headers()).json_body["items"]
    assert [(m["type"], m["reference"], m["onHandChange"], m["reservedChange"]) for m in movements[:4]] == [
        ("consume", "order-POS", -2, 0),
        ("release", "order-A", 0, -1),
        ("consume", "order-A", -3, -3),
        ("reserve", "order-A", 0, 4),
    ]
