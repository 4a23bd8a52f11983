"""Inventory over HTTP: stock levels, movements, thresholds and the low-stock list and event."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Role
from chalicelib.inventory import service
from tests.support.commerce import WrittenEvent, create_product, move_stock, stocked_product
from tests.support.identity import add_user, call, signup


def _field(response: Any) -> str:
    return str(response.json_body["errors"][0]["field"])


def _stock(api: Any, account: Any, product_id: str) -> dict[str, Any]:
    response = call(api, "GET", f"/inventory/{product_id}", headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def test_a_new_product_has_empty_stock_and_a_service_has_none(api: Any) -> None:
    admin, _ = signup(api)
    product = create_product(api, admin, name="Farinha")
    stock = _stock(api, admin, product["id"])
    assert {k: stock[k] for k in ("code", "name", "onHand", "reserved", "available", "low")} == {
        "code": product["code"],
        "name": "Farinha",
        "onHand": 0,
        "reserved": 0,
        "available": 0,
        "low": False,
    }
    service_item = create_product(api, admin, kind="service", name="Montagem")
    refused = call(api, "GET", f"/inventory/{service_item['id']}", headers=admin.headers())
    assert (refused.status_code, _field(refused)) == (422, "path.product_id")
    assert call(api, "GET", "/inventory/01NOSUCHPRODUCT", headers=admin.headers()).status_code == 404
    listed = call(api, "GET", "/inventory", headers=admin.headers()).json_body["items"]
    assert [s["productId"] for s in listed] == [product["id"]]


def test_in_out_and_adjust_move_stock_and_are_listed_newest_first(api: Any, written_events: list[WrittenEvent]) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    product = create_product(api, admin, name="Açúcar")
    pid = product["id"]
    arrived = move_stock(api, staff, pid, "in", 10, reason="supplier delivery")
    assert arrived.status_code == 201
    assert arrived.json_body["stock"]["onHand"] == 10
    assert arrived.json_body["movement"]["onHandChange"] == 10
    assert move_stock(api, staff, pid, "out", 3, reason="damaged").json_body["stock"]["available"] == 7
    too_many = move_stock(api, staff, pid, "out", 8)
    assert (too_many.status_code, _field(too_many)) == (422, "body.quantity")
    zero = move_stock(api, staff, pid, "in", 0)
    assert (zero.status_code, _field(zero)) == (422, "body.quantity")
    counted = move_stock(api, staff, pid, "adjust", 5, reason="stock take")
    assert counted.json_body["movement"]["onHandChange"] == -2
    assert _stock(api, admin, pid)["onHand"] == 5
    assert move_stock(api, staff, pid, "reserve", 1).status_code == 422  # only orders reserve

    first = call(api, "GET", f"/inventory/{pid}/movements?limit=2", headers=admin.headers()).json_body
    rest = call(api, "GET", f"/inventory/{pid}/movements?cursor={first['nextCursor']}", headers=admin.headers())
    movements = first["items"] + rest.json_body["items"]
    assert [(m["type"], m["quantity"], m["reason"]) for m in movements] == [
        ("adjust", 5, "stock take"),
        ("out", 3, "damaged"),
        ("in", 10, "supplier delivery"),
    ]
    assert {m["actorId"] for m in movements} == {staff.user_id}
    recorded = [e for e in written_events if e.type == "inventory.movement_recorded"]
    assert [e.data["type"] for e in recorded] == ["in", "out", "adjust"]
    trail = call(api, "GET", f"/audit-log?entityType=product&entityId={pid}", headers=admin.headers()).json_body
    assert {"inventory.in", "inventory.out", "inventory.adjust"} <= {e["action"] for e in trail["items"]}


def test_reserved_units_cannot_be_taken_out_or_counted_away(api: Any) -> None:
    admin, _ = signup(api)
    product = stocked_product(api, admin, 10, name="Óleo")
    pid = product["id"]
    service.run_stock_transaction(lambda: (service.reserve_ops(admin.tenant_id, [(pid, 4)], "u1", "order-1"), None))
    stock = _stock(api, admin, pid)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (10, 4, 6)
    out = move_stock(api, admin, pid, "out", 7)
    assert (out.status_code, _field(out)) == (422, "body.quantity")
    count = move_stock(api, admin, pid, "adjust", 3)
    assert (count.status_code, _field(count)) == (422, "body.quantity")
    assert move_stock(api, admin, pid, "adjust", 4).json_body["stock"]["available"] == 0


def test_low_stock_is_listed_through_its_index_and_announced_once_when_crossed(
    api: Any, written_events: list[WrittenEvent]
) -> None:
    admin, _ = signup(api)
    product = stocked_product(api, admin, 10, name="Fermento")
    pid = product["id"]
    other = stocked_product(api, admin, 1, name="Sal")
    threshold = call(api, "PATCH", f"/inventory/{pid}", {"lowStockThreshold": 5}, admin.headers())
    assert (threshold.status_code, threshold.json_body["low"]) == (200, False)

    def low_ids() -> list[str]:
        page = call(api, "GET", "/inventory?low=true", headers=admin.headers()).json_body
        return [s["productId"] for s in page["items"]]

    assert low_ids() == []
    move_stock(api, admin, pid, "out", 5)  # 5 left: not under 5
    assert low_ids() == []
    assert move_stock(api, admin, pid, "out", 1).json_body["stock"]["low"] is True
    assert low_ids() == [pid]
    move_stock(api, admin, pid, "out", 1)  # already low: no second announcement
    lows = [e for e in written_events if e.type == "inventory.low_stock"]
    assert [(e.subject, e.data["available"], e.data["threshold"]) for e in lows] == [(pid, 4, 5)]
    move_stock(api, admin, pid, "in", 10)
    assert low_ids() == []
    call(api, "PATCH", f"/inventory/{other['id']}", {"lowStockThreshold": 2}, admin.headers())
    assert low_ids() == [other["id"]]
    assert [e.subject for e in written_events if e.type == "inventory.low_stock"][-1] == other["id"]
    call(api, "PATCH", f"/inventory/{other['id']}", {"lowStockThreshold": 0}, admin.headers())
    assert low_ids() == []
    bad = call(api, "PATCH", f"/inventory/{pid}", {"lowStockThreshold": -1}, admin.headers())
    assert (bad.status_code, _field(bad)) == (422, "body.lowStockThreshold")


def test_stock_list_pages_by_code_and_follows_product_renames(api: Any) -> None:
    admin, _ = signup(api)
    products = [create_product(api, admin, name=f"Item {i}") for i in range(3)]
    first = call(api, "GET", "/inventory?limit=2", headers=admin.headers()).json_body
    rest = call(api, "GET", f"/inventory?limit=2&cursor={first['nextCursor']}", headers=admin.headers()).json_body
    codes = [s["code"] for s in first["items"] + rest["items"]]
    assert codes == sorted(p["code"] for p in products)
    pid = products[0]["id"]
    call(api, "PATCH", f"/products/{pid}", {"version": 1, "name": "Renomeado"}, admin.headers())
    call(api, "DELETE", f"/products/{pid}", headers=admin.headers())
    stock = _stock(api, admin, pid)
    assert (stock["name"], stock["active"]) == ("Renomeado", False)


def test_viewers_read_stock_but_cannot_move_it(api: Any) -> None:
    admin, _ = signup(api)
    viewer = add_user(api, admin, Role.VIEWER)
    product = create_product(api, admin)
    assert call(api, "GET", f"/inventory/{product['id']}", headers=viewer.headers()).status_code == 200
    assert move_stock(api, viewer, product["id"], "in", 1).status_code == 403


def test_an_idempotent_movement_is_applied_once(api: Any) -> None:
    admin, _ = signup(api)
    product = create_product(api, admin)
    headers = admin.headers(**{"Idempotency-Key": "delivery-2026-11-23"})
    body = {"type": "in", "quantity": 12, "reason": "delivery"}
    first = call(api, "POST", f"/inventory/{product['id']}/movements", body, headers)
    again = call(api, "POST", f"/inventory/{product['id']}/movements", body, headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body
    assert _stock(api, admin, product["id"])["onHand"] == 12
