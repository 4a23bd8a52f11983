"""Orders over HTTP: creation with price snapshots, the restaurant flow to the end with stock, timers, races."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core import aws, clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table
from chalicelib.workflows import store as workflow_store
from tests.support.commerce import create_customer, create_product, stocked_product
from tests.support.identity import Account, add_user, call, signup


@pytest.fixture
def restaurant(api: Any) -> Account:
    admin, _ = signup(api, businessType="restaurant")
    return admin


def _order(api: Any, account: Account, items: list[dict[str, Any]], **fields: Any) -> Any:
    return call(api, "POST", "/orders", {"items": items, **fields}, account.headers())


def _move(api: Any, account: Account, order: dict[str, Any], to: str) -> dict[str, Any]:
    response = call(
        api, "POST", f"/orders/{order['id']}/transitions", {"to": to, "version": order["version"]}, account.headers()
    )
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def _stock(api: Any, account: Account, product_id: str) -> dict[str, Any]:
    return dict(call(api, "GET", f"/inventory/{product_id}", headers=account.headers()).json_body)


def _execution_status(tenant_id: str, order_id: str) -> str:
    arn = workflow_store.get_runtime(tenant_id, Kind.ORDER, order_id).execution_arn
    assert arn is not None
    return str(aws.stepfunctions().describe_execution(executionArn=arn)["status"])


def _parked(tenant_id: str, order_id: str, status: str) -> bool:
    runtime = workflow_store.get_runtime(tenant_id, Kind.ORDER, order_id)
    return runtime.task_token is not None and runtime.parked_status == status


def test_an_order_runs_its_flow_to_the_end_with_history_and_stock(api: Any, restaurant: Account, drain: Any) -> None:
    pizza = stocked_product(
        api, restaurant, 10, name="Pizza Margherita", price={"amount": "39.90", "currency": "BRL"}, taxRate="10"
    )
    soda = stocked_product(api, restaurant, 20, name="Guaraná", price={"amount": "6.55", "currency": "BRL"})
    customer = create_customer(api, restaurant, email="maria@example.com")
    kitchen = add_user(api, restaurant, Role.KITCHEN)
    created = _order(
        api,
        restaurant,
        [
            {"productId": pizza["id"], "quantity": 2},
            {"productId": soda["id"], "quantity": 3, "discount": {"amount": "1.65", "currency": "BRL"}},
        ],
        customerId=customer["id"],
        channel="pos",
    )
    assert created.status_code == 201, created.body
    order = created.json_body
    assert (order["status"], order["number"], order["channel"]) == ("PENDING", 1, "pos")
    assert order["items"][0]["unitPrice"] == {"amount": "39.90", "currency": "BRL"}
    assert order["totals"] == {
        "subtotal": {"amount": "99.45", "currency": "BRL"},
        "discounts": {"amount": "1.65", "currency": "BRL"},
        "tax": {"amount": "7.98", "currency": "BRL"},
        "total": {"amount": "105.78", "currency": "BRL"},
    }
    drain(lambda: _parked(restaurant.tenant_id, order["id"], "PENDING"))
    assert _stock(api, restaurant, pizza["id"])["reserved"] == 0

    order = _move(api, restaurant, order, "CONFIRMED")
    assert (_stock(api, restaurant, pizza["id"])["reserved"], _stock(api, restaurant, pizza["id"])["available"]) == (
        2,
        8,
    )
    drain(lambda: _parked(restaurant.tenant_id, order["id"], "CONFIRMED"))
    order = _move(api, kitchen, order, "PREPARING")
    drain(lambda: _parked(restaurant.tenant_id, order["id"], "PREPARING"))
    order = _move(api, kitchen, order, "READY")
    drain(lambda: _parked(restaurant.tenant_id, order["id"], "READY"))
    order = _move(api, restaurant, order, "DELIVERED")
    stock = _stock(api, restaurant, pizza["id"])
    assert (stock["onHand"], stock["reserved"]) == (8, 0)
    drain(lambda: _execution_status(restaurant.tenant_id, order["id"]) == "SUCCEEDED")

    history = call(api, "GET", f"/orders/{order['id']}/history", headers=restaurant.headers()).json_body["items"]
    assert [(h["from"], h["to"]) for h in history] == [
        ("PENDING", "CONFIRMED"),
        ("CONFIRMED", "PREPARING"),
        ("PREPARING", "READY"),
        ("READY", "DELIVERED"),
    ]
    assert history[1]["actorId"] == kitchen.user_id
    final = call(api, "GET", f"/customers/{customer['id']}", headers=restaurant.headers()).json_body
    assert final["stats"]["ordersCount"] == 1
    terminal = call(
        api,
        "POST",
        f"/orders/{order['id']}/transitions",
        {"to": "CANCELLED", "version": order["version"]},
        restaurant.headers(),
    )
    assert terminal.status_code == 422


def test_cancelling_a_confirmed_order_gives_the_stock_back(api: Any, restaurant: Account) -> None:
    pizza = stocked_product(api, restaurant, 3)
    order = _order(api, restaurant, [{"productId": pizza["id"], "quantity": 3}]).json_body
    order = _move(api, restaurant, order, "CONFIRMED")
    assert _stock(api, restaurant, pizza["id"])["available"] == 0
    _move(api, restaurant, order, "CANCELLED")
    assert (_stock(api, restaurant, pizza["id"])["available"], _stock(api, restaurant, pizza["id"])["onHand"]) == (3, 3)


def test_orders_are_validated_against_the_catalog_and_the_stock(api: Any, restaurant: Account) -> None:
    pizza = stocked_product(api, restaurant, 2)
    unknown = _order(api, restaurant, [{"productId": "01NOPE", "quantity": 1}])
    assert (unknown.status_code, unknown.json_body["errors"][0]["field"]) == (422, "body.items[0].productId")
    short = _order(api, restaurant, [{"productId": pizza["id"], "quantity": 3}])
    assert (short.status_code, short.json_body["errors"][0]["field"]) == (422, "body.items[0].quantity")
    discount = _order(
        api, restaurant, [{"productId": pizza["id"], "quantity": 1, "discount": {"amount": "100", "currency": "BRL"}}]
    )
    assert (discount.status_code, discount.json_body["errors"][0]["field"]) == (422, "body.items[0].discount")
    for amount in ("1e100", "1E+5000", "9" * 40, "-1", "0.001"):
        line = {"productId": pizza["id"], "quantity": 1, "discount": {"amount": amount, "currency": "BRL"}}
        huge = _order(api, restaurant, [line])
        assert (huge.status_code, huge.json_body["errors"][0]["field"]) == (422, "body.items[0].discount.amount")
    empty = _order(api, restaurant, [])
    assert (empty.status_code, empty.json_body["errors"][0]["field"]) == (422, "body.items")
    nobody = _order(api, restaurant, [{"productId": pizza["id"], "quantity": 1}], customerId="01NOBODY")
    assert nobody.json_body["errors"][0]["field"] == "body.customerId"


def test_the_same_idempotency_key_creates_one_order(api: Any, restaurant: Account) -> None:
    pizza = stocked_product(api, restaurant, 5)
    body = {"items": [{"productId": pizza["id"], "quantity": 1}]}
    first = call(api, "POST", "/orders", body, restaurant.headers(**{"Idempotency-Key": "order-abc-1"}))
    again = call(api, "POST", "/orders", body, restaurant.headers(**{"Idempotency-Key": "order-abc-1"}))
    assert first.status_code == again.status_code == 201
    assert first.json_body["id"] == again.json_body["id"]
    other = call(
        api,
        "POST",
        "/orders",
        {"items": [{"productId": pizza["id"], "quantity": 2}]},
        restaurant.headers(**{"Idempotency-Key": "order-abc-1"}),
    )
    assert other.status_code == 409
    listed = call(api, "GET", "/orders", headers=restaurant.headers()).json_body["items"]
    assert [o["id"] for o in listed] == [first.json_body["id"]]


def test_two_concurrent_transitions_exactly_one_wins(api: Any, restaurant: Account) -> None:
    product = create_product(api, restaurant, kind="service", name="Delivery")
    order = _order(api, restaurant, [{"productId": product["id"], "quantity": 1}]).json_body
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def attempt(to: str) -> None:
        barrier.wait()
        response = call(
            api, "POST", f"/orders/{order['id']}/transitions", {"to": to, "version": 1}, restaurant.headers()
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(to,)) for to in ("CONFIRMED", "CANCELLED")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]


def test_stock_never_goes_negative_when_many_orders_are_confirmed_at_once(api: Any, restaurant: Account) -> None:
    pizza = stocked_product(api, restaurant, 5)
    orders = [_order(api, restaurant, [{"productId": pizza["id"], "quantity": 1}]).json_body for _ in range(8)]
    outcomes: list[int] = []
    barrier = threading.Barrier(len(orders))

    def confirm(order: dict[str, Any]) -> None:
        barrier.wait()
        response = call(
            api, "POST", f"/orders/{order['id']}/transitions", {"to": "CONFIRMED", "version": 1}, restaurant.headers()
        )
        outcomes.append(response.status_code)

    threads = [threading.Thread(target=confirm, args=(o,)) for o in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stock = _stock(api, restaurant, pizza["id"])
    assert outcomes.count(200) == 5
    assert (stock["available"], stock["reserved"], stock["onHand"]) == (0, 5, 5)
    assert all(code in (409, 422) for code in outcomes if code != 200)


def test_an_unconfirmed_order_is_cancelled_by_its_timer(api: Any, restaurant: Account, drain: Any) -> None:
    flow = call(api, "GET", "/workflows/order", headers=restaurant.headers()).json_body
    pending = next(s for s in flow["statuses"] if s["name"] == "PENDING")
    pending["timers"] = [{"afterSeconds": 2, "transitionTo": "CANCELLED"}]
    body = {k: flow[k] for k in ("initial", "statuses", "transitions")}
    assert call(api, "PUT", "/workflows/order", body, restaurant.headers()).status_code == 200
    pizza = stocked_product(api, restaurant, 1)
    order = _order(api, restaurant, [{"productId": pizza["id"], "quantity": 1}]).json_body

    def cancelled() -> bool:
        status = call(api, "GET", f"/orders/{order['id']}", headers=restaurant.headers()).json_body["status"]
        return bool(status == "CANCELLED")

    drain(cancelled, timeout_s=60)
    history = call(api, "GET", f"/orders/{order['id']}/history", headers=restaurant.headers()).json_body["items"]
    assert [(h["to"], h["trigger"]) for h in history] == [("CANCELLED", "timer")]
    drain(lambda: _execution_status(restaurant.tenant_id, order["id"]) == "SUCCEEDED")


def test_lists_by_status_customer_and_own(api: Any, restaurant: Account) -> None:
    pizza = stocked_product(api, restaurant, 50)
    customer = create_customer(api, restaurant, email="lists@example.com")
    agent = add_user(api, restaurant, Role.AGENT)
    mine = _order(api, agent, [{"productId": pizza["id"], "quantity": 1}]).json_body
    theirs = _order(api, restaurant, [{"productId": pizza["id"], "quantity": 1}], customerId=customer["id"]).json_body
    _move(api, restaurant, theirs, "CONFIRMED")
    by_status = call(api, "GET", "/orders?status=CONFIRMED", headers=restaurant.headers()).json_body["items"]
    assert [o["id"] for o in by_status] == [theirs["id"]]
    by_customer = call(api, "GET", f"/orders?customerId={customer['id']}", headers=restaurant.headers()).json_body[
        "items"
    ]
    assert [o["id"] for o in by_customer] == [theirs["id"]]
    own = call(api, "GET", "/orders", headers=agent.headers()).json_body["items"]
    assert [o["id"] for o in own] == [mine["id"]]
    assert call(api, "GET", f"/orders/{theirs['id']}", headers=agent.headers()).status_code == 403
    later = call(api, "GET", "/orders?from=2999-01-01T00:00:00Z", headers=restaurant.headers()).json_body["items"]
    assert later == []


def test_a_listed_order_is_the_same_bytes_as_the_order_read_alone(api: Any, restaurant: Account) -> None:
    pizza = stocked_product(api, restaurant, 10, price={"amount": "39.90", "currency": "BRL"}, taxRate="10")
    customer = create_customer(api, restaurant, email="bytes@example.com")
    line = {"productId": pizza["id"], "quantity": 3, "discount": {"amount": "5", "currency": "BRL"}}
    order = _order(api, restaurant, [line], customerId=customer["id"], notes="  ring twice ").json_body
    confirmed = _move(api, restaurant, order, "CONFIRMED")
    alone = call(api, "GET", f"/orders/{order['id']}", headers=restaurant.headers())
    listed = call(api, "GET", "/orders?limit=5", headers=restaurant.headers())
    assert alone.json_body == confirmed
    assert listed.json_body["items"] == [confirmed]
    # The list reads its rows straight into the API's view: the same JSON, to the byte, as the order's own answer.
    assert alone.body.decode() in listed.body.decode()


def test_the_monthly_order_limit_of_the_plan(api: Any) -> None:
    admin, _ = signup(api, plan="lojista", businessType="restaurant")
    pizza = stocked_product(api, admin, 5)
    month = clock.now().strftime("%Y-%m")
    counter = (
        keys.entity_pk(admin.tenant_id, Kind.TENANT, admin.tenant_id),
        keys.child_sk("COUNTER", f"ORDERS-{month}"),
    )
    Table().put({"PK": counter[0], "SK": counter[1], "count": 500})
    refused = _order(api, admin, [{"productId": pizza["id"], "quantity": 1}])
    assert (refused.status_code, refused.json_body["limit"]) == (403, "maxTransactions")
    assert "Lojista" in refused.json_body["detail"]
