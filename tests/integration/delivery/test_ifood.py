"""iFood on the local stack against the fake iFood: the restaurant connects its store, orders placed on iFood arrive
by the polls (acknowledged only once stored, duplicates and out-of-order events ending in one order), the
restaurant's status flow drives iFood's order actions, and iFood's cancellations cancel the BTRIX order. Jobs travel
the real way: the integrations queue, the table stream, the bus rule of platform orders."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.ids import new_id
from chalicelib.delivery import ifood as delivery_ifood
from chalicelib.delivery import service as delivery
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.notifications.outbox import list_messages
from localdev.fake_ifood import FakeIFood
from tests.integration.delivery.conftest import Deliver
from tests.support.identity import Account, call


def _poll(tenant_id: str) -> None:
    jobs.enqueue_task(delivery_ifood.SYNC_TASK, tenant_id, {}, key=new_id())


def _order_id(tenant_id: str, ifood_order: str) -> str | None:
    return delivery.order_of(tenant_id, Provider.IFOOD, ifood_order)


def _get(api: Any, account: Account, path: str) -> dict[str, Any]:
    response = call(api, "GET", path, headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def _move(api: Any, account: Account, order_id: str, to: str) -> dict[str, Any]:
    order = _get(api, account, f"/orders/{order_id}")
    moved = call(
        api, "POST", f"/orders/{order_id}/transitions", {"to": to, "version": order["version"]}, account.headers()
    )
    assert moved.status_code == 200, moved.body
    return dict(moved.json_body)


def _logs(api: Any, account: Account) -> list[dict[str, Any]]:
    return list(_get(api, account, "/integrations/ifood/logs?limit=100")["items"])


def _arrived(api: Any, admin: Account, ifood: FakeIFood, deliver: Deliver, ifood_order: str) -> dict[str, Any]:
    _poll(admin.tenant_id)
    deliver(lambda: _order_id(admin.tenant_id, ifood_order) is not None and not ifood.pending_events())
    order_id = _order_id(admin.tenant_id, ifood_order)
    assert order_id is not None
    return _get(api, admin, f"/orders/{order_id}")


def test_connect_tests_the_store_and_never_shows_the_secret(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str]
) -> None:
    tested = call(api, "POST", "/integrations/ifood/test", headers=admin.headers())
    assert tested.status_code == 200, tested.body
    assert tested.json_body["ok"] is True, tested.json_body
    assert tested.json_body["account"] == "Cantina da Nona - Centro"
    listed = call(api, "GET", "/integrations", headers=admin.headers())
    [shown] = [i for i in listed.json_body["items"] if i["provider"] == "ifood"]
    assert shown["summary"] == {"clientId": store["clientId"], "merchantId": store["merchantId"]}
    assert store["clientSecret"] not in listed.body.decode()
    assert (
        store["clientSecret"] not in call(api, "GET", "/integrations/ifood/logs", headers=admin.headers()).body.decode()
    )

    # Credentials iFood does not take: the test says so, it is not an error of the request.
    wrong = {**{k: store[k] for k in ("clientId", "merchantId")}, "clientSecret": "not-the-secret"}
    assert call(api, "PUT", "/integrations/ifood", {"credentials": wrong}, admin.headers()).status_code == 200
    refused = call(api, "POST", "/integrations/ifood/test", headers=admin.headers())
    assert refused.status_code == 200
    assert refused.json_body["ok"] is False
    assert "refused" in refused.json_body["detail"]
    bad = call(api, "PUT", "/integrations/ifood", {"credentials": {"clientId": "x"}}, admin.headers())
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json_body["errors"]} >= {
        "body.credentials.clientSecret",
        "body.credentials.merchantId",
    }


def test_an_ifood_order_goes_through_the_restaurant_flow_to_delivered_with_ifood_told_each_step(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    ifood_order = ifood.place_order(
        store["merchantId"],
        [
            {"name": "Pizza Margherita G", "externalCode": pizza["code"].lower(), "quantity": 2, "unitPrice": 49.9},
            {"name": "Refrigerante lata", "externalCode": "COCA350", "quantity": 1, "unitPrice": 6.5},
        ],
        delivered_by="MERCHANT",
        customer_name="João Silva",
    )
    order = _arrived(api, admin, ifood, deliver, ifood_order)
    assert (order["channel"], order["status"], order["createdBy"]) == ("ifood", "PENDING", "platform")
    matched, unmatched = order["items"]
    # Matched by the external code (the product's code), at iFood's price; the unknown item kept as text, for review.
    assert (matched["productId"], matched["quantity"], matched["unitPrice"]["amount"]) == (pizza["id"], 2, "49.90")
    assert (unmatched["productId"], unmatched["name"], unmatched["externalCode"]) == (
        None,
        "Refrigerante lata",
        "COCA350",
    )
    assert order["needsReview"] is True
    assert order["totals"]["total"] == {"amount": "106.30", "currency": "BRL"}
    platform = order["platform"]
    assert (platform["orderId"], platform["customerName"], platform["deliveredBy"]) == (
        ifood_order,
        "João Silva",
        "MERCHANT",
    )
    assert platform["deliveryFee"]["amount"] == "5.00"
    assert platform["total"]["amount"] == "112.29"
    assert platform["fees"] == [{"kind": "SMALL_ORDER_FEE", "amount": {"amount": "0.99", "currency": "BRL"}}]
    assert "Rua das Flores" in platform["address"]
    # Acknowledged once stored: nothing comes back.
    assert ifood.pending_events() == []

    for status in ("CONFIRMED", "PREPARING", "READY", "DELIVERED"):
        _move(api, admin, order["id"], status)
    deliver(lambda: ifood.actions(ifood_order) == ["confirm", "startPreparation", "dispatch"])
    stock = _get(api, admin, f"/inventory/{pizza['id']}")
    assert (stock["onHand"], stock["reserved"]) == (
        18,
        0,
    )  # the matched line's stock was consumed; the unmatched one moved none
    # iFood's echo events (CFM, PRS, DSP) are acknowledged by the next poll and change nothing.
    _poll(admin.tenant_id)
    deliver(lambda: not ifood.pending_events())
    assert _get(api, admin, f"/orders/{order['id']}")["status"] == "DELIVERED"
    operations = [(e["operation"], e["ok"]) for e in _logs(api, admin)]
    assert ("order_status", True) in operations
    assert ("poll", True) in operations


def test_duplicate_and_out_of_order_events_end_in_one_order_in_its_final_state(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    ifood.configure(shuffle=True, duplicates=True)
    items = [{"name": "Pizza", "externalCode": pizza["code"], "quantity": 1, "unitPrice": 45.0}]
    cancelled = ifood.place_order(store["merchantId"], items)
    ifood.cancel_order(cancelled, "Cliente desistiu")  # CAN may come before PLC, each of them twice
    kept = ifood.place_order(store["merchantId"], items)
    # Two polls at once (the schedule's and "sync now"): still one order each.
    _poll(admin.tenant_id)
    _poll(admin.tenant_id)
    deliver(
        lambda: not ifood.pending_events() and None not in (_order_id(admin.tenant_id, o) for o in (cancelled, kept))
    )
    gone = _get(api, admin, f"/orders/{_order_id(admin.tenant_id, cancelled)}")
    assert gone["status"] == "CANCELLED"
    assert gone["platform"]["cancelReason"] == "Cliente desistiu"
    assert _get(api, admin, f"/orders/{_order_id(admin.tenant_id, kept)}")["status"] == "PENDING"
    listed = _get(api, admin, "/orders?limit=50")["items"]
    assert sorted(o["platform"]["orderId"] for o in listed) == sorted([cancelled, kept])
    # iFood's own cancellation is not sent back to it.
    deliver.settle()
    assert ifood.actions(cancelled) == []

    # The store confirms; iFood's echo comes back shuffled and twice: the order stays confirmed, iFood told once.
    kept_id = _order_id(admin.tenant_id, kept)
    assert kept_id is not None
    _move(api, admin, kept_id, "CONFIRMED")
    deliver(lambda: ifood.actions(kept) == ["confirm"])
    _poll(admin.tenant_id)
    deliver(lambda: not ifood.pending_events())
    deliver.settle()
    assert _get(api, admin, f"/orders/{kept_id}")["status"] == "CONFIRMED"
    assert ifood.actions(kept) == ["confirm"]


def test_ifood_cancelling_a_confirmed_order_cancels_it_and_gives_the_stock_back(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    items = [{"name": "Pizza", "externalCode": pizza["code"], "quantity": 3, "unitPrice": 45.0}]
    ifood_order = ifood.place_order(store["merchantId"], items)
    order = _arrived(api, admin, ifood, deliver, ifood_order)
    _move(api, admin, order["id"], "CONFIRMED")
    deliver(lambda: ifood.actions(ifood_order) == ["confirm"])
    assert _get(api, admin, f"/inventory/{pizza['id']}")["reserved"] == 3
    ifood.cancel_order(ifood_order, "Pedido cancelado pelo cliente")
    _poll(admin.tenant_id)
    deliver(lambda: _get(api, admin, f"/orders/{order['id']}")["status"] == "CANCELLED")
    assert _get(api, admin, f"/inventory/{pizza['id']}")["reserved"] == 0
    deliver(lambda: not ifood.pending_events())
    deliver.settle()
    assert ifood.actions(ifood_order) == ["confirm"]


def test_the_store_cancelling_asks_ifood_to_cancel_with_the_reason(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    items = [{"name": "Pizza", "externalCode": pizza["code"], "quantity": 1, "unitPrice": 45.0}]
    ifood_order = ifood.place_order(store["merchantId"], items, delivered_by="IFOOD")
    order = _arrived(api, admin, ifood, deliver, ifood_order)
    _move(api, admin, order["id"], "CONFIRMED")
    _move(api, admin, order["id"], "PREPARING")
    _move(api, admin, order["id"], "READY")
    deliver(lambda: ifood.actions(ifood_order) == ["confirm", "startPreparation", "readyToPickup"])
    _move(api, admin, order["id"], "CANCELLED")
    deliver(lambda: ifood.actions(ifood_order)[-1:] == ["requestCancellation"])
    # iFood's CAN that follows does not cancel twice nor ask again.
    _poll(admin.tenant_id)
    deliver(lambda: not ifood.pending_events())
    deliver.settle()
    assert ifood.actions(ifood_order).count("requestCancellation") == 1
    assert _get(api, admin, f"/orders/{order['id']}")["status"] == "CANCELLED"


def test_an_expired_token_is_replaced_and_revoked_credentials_disconnect_with_the_admin_told(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    items = [{"name": "Pizza", "externalCode": pizza["code"], "quantity": 1, "unitPrice": 45.0}]
    _arrived(api, admin, ifood, deliver, ifood.place_order(store["merchantId"], items))
    ifood.expire_tokens()  # the stored token now answers 401: one new grant, and the poll goes on
    second = ifood.place_order(store["merchantId"], items)
    _arrived(api, admin, ifood, deliver, second)
    assert [e["ok"] for e in _logs(api, admin) if e["operation"] == "refresh_token"].count(True) >= 2

    ifood.revoke(store["clientId"])
    _poll(admin.tenant_id)
    deliver(lambda: _ifood(api, admin)["status"] == "disconnected")
    assert "refused" in (_ifood(api, admin)["disconnectedReason"] or "")
    told = [m for m in list_messages(admin.tenant_id) if m.template == "integration.disconnected"]
    assert len(told) == 1
    assert store["clientSecret"] not in str(told[0].variables)


def _ifood(api: Any, admin: Account) -> dict[str, Any]:
    return next(i for i in _get(api, admin, "/integrations")["items"] if i["provider"] == "ifood")


@pytest.mark.parametrize("status", [429, 503])
def test_a_rate_limit_or_an_outage_is_retried_and_nothing_is_lost(
    api: Any,
    admin: Account,
    ifood: FakeIFood,
    store: dict[str, str],
    pizza: dict[str, Any],
    deliver: Deliver,
    status: int,
) -> None:
    items = [{"name": "Pizza", "externalCode": pizza["code"], "quantity": 1, "unitPrice": 45.0}]
    ifood.configure(notReadyReads=1)  # iFood does not have the order's details at the first read either
    first = ifood.place_order(store["merchantId"], items)
    ifood.configure(failNext=3, failStatus=status)
    order = _arrived(api, admin, ifood, deliver, first)
    assert order["channel"] == "ifood"
    # iFood refused three calls, then answered: the job ran again (the queue's backoff) until it got through.
    statuses = [r["status"] for r in ifood.received]
    assert statuses[:3] == [status] * 3
    assert 200 in statuses[3:]
    # The order iFood did not have yet held its event back (not acknowledged); the next run took it.
    held = [e for e in _logs(api, admin) if e["operation"] == "poll" and not e["ok"]]
    assert any("does not have order" in (e["error"] or "") for e in held)
    assert len(_get(api, admin, "/orders?limit=50")["items"]) == 1
    assert _ifood(api, admin)["status"] == "connected"


def test_an_ifood_customer_is_one_btrix_customer_across_their_orders_and_the_store_does_not_message_them(
    api: Any, admin: Account, ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    name = f"Benedita Ifoodiana {new_id()[-6:].lower()}"
    item = {"name": "Pizza", "externalCode": pizza["code"], "quantity": 1, "unitPrice": 45.0}
    first = _arrived(api, admin, ifood, deliver, ifood.place_order(store["merchantId"], [item], customer_name=name))
    second = _arrived(api, admin, ifood, deliver, ifood.place_order(store["merchantId"], [item], customer_name=name))
    other = _arrived(
        api, admin, ifood, deliver, ifood.place_order(store["merchantId"], [item], customer_name=f"Outro {name}")
    )
    assert first["customerId"] is not None
    assert first["customerId"] == second["customerId"] != other["customerId"]
    customer = _get(api, admin, f"/customers/{first['customerId']}")
    # iFood's number is its own line and a localizer: not theirs, and never what makes two people one.
    assert (customer["name"], customer["phone"], customer["stats"]["ordersCount"]) == (name, None, 2)
    assert first["platform"]["customerPhone"] == other["platform"]["customerPhone"]
    listed = _get(api, admin, f"/orders?customerId={first['customerId']}")["items"]
    assert {o["id"] for o in listed} == {first["id"], second["id"]}

    # iFood talks to its customers: the restaurant flow's messages to the customer are not sent.
    _move(api, admin, first["id"], "CONFIRMED")
    deliver(lambda: ifood.actions(first["platform"]["orderId"]) == ["confirm"])
    deliver.settle()
    sent = _get(api, admin, f"/notifications?recipient=customer:{first['customerId']}")["items"]
    assert sent == []
