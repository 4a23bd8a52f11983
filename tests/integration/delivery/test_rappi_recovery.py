"""Rappi's recovery poll on the local stack against the fake Rappi: orders whose webhook never reached BTRIX come in
by the poll of ``GET /orders/status/sent``, a webhook and a poll of one order (in either order) end in one order, an
order Rappi cancelled ends cancelled (and Rappi is not told back), a rate limit and an expired token are handled
inside the poll, and an outage fails the poll visibly until Rappi is back."""

from __future__ import annotations

from typing import Any

from chalicelib.core.ids import new_id
from chalicelib.delivery import rappi as delivery_rappi
from chalicelib.integrations import jobs, redrive
from chalicelib.integrations.credentials import Provider
from localdev.fake_rappi import FakeRappi
from tests.integration.delivery.conftest import Deliver, platform_order
from tests.support.identity import Account, call


def _poll(admin: Account) -> None:
    jobs.enqueue_task(delivery_rappi.SYNC_TASK, admin.tenant_id, {}, key=new_id())


def _order(api: Any, admin: Account, rappi_order: str) -> dict[str, Any] | None:
    return platform_order(api, admin, Provider.RAPPI, rappi_order)


def _status(api: Any, admin: Account, rappi_order: str) -> str | None:
    return (_order(api, admin, rappi_order) or {}).get("status")


def _orders(api: Any, admin: Account) -> list[str]:
    listed = call(api, "GET", "/orders?limit=50", headers=admin.headers()).json_body["items"]
    return sorted(o["platform"]["orderId"] for o in listed)


def _logs(api: Any, admin: Account) -> list[dict[str, Any]]:
    response = call(api, "GET", "/integrations/rappi/logs?limit=100", headers=admin.headers())
    assert response.status_code == 200, response.body
    return list(response.json_body["items"])


def _pizza_order(rappi: FakeRappi, store: dict[str, str], pizza: dict[str, Any]) -> str:
    return rappi.place_order(store["storeId"], [{"sku": pizza["code"], "name": "Pizza", "quantity": 1, "price": 45.0}])


def test_an_order_whose_webhook_was_lost_arrives_by_sync_now_once(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi.lose()
    rappi_order = _pizza_order(rappi, rappi_store, pizza)
    assert rappi.webhooks == [{"event": "NEW_ORDER", "status": 0}]  # Rappi gave up on it
    deliver.settle()
    assert _order(api, admin, rappi_order) is None

    synced = call(api, "POST", "/integrations/rappi/sync", headers=admin.headers())
    assert synced.status_code == 202, synced.body
    assert synced.json_body["task"] == "rappi.sync"
    deliver(lambda: _order(api, admin, rappi_order) is not None)
    order = _order(api, admin, rappi_order)
    assert order is not None
    assert (order["channel"], order["status"], order["items"][0]["productId"]) == ("rappi", "PENDING", pizza["id"])
    assert order["platform"]["total"]["amount"] == "50.50"
    recovered = [e for e in _logs(api, admin) if e["operation"] == "recovery"]
    assert [(e["ok"], e["detail"]) for e in recovered] == [(True, "1 order(s) recovered, 0 cancelled")]

    # Still listed (not taken yet): the next polls find it in BTRIX and make nothing.
    _poll(admin)
    _poll(admin)
    deliver.settle()
    assert _orders(api, admin) == [rappi_order]
    assert len([e for e in _logs(api, admin) if e["operation"] == "recovery"]) == 1

    # Taken on Rappi once the restaurant confirms: it leaves the listing.
    current = _order(api, admin, rappi_order)
    assert current is not None
    body = {"to": "CONFIRMED", "version": current["version"]}
    assert call(api, "POST", f"/orders/{current['id']}/transitions", body, admin.headers()).status_code == 200
    deliver(lambda: rappi.actions(rappi_order) == ["take"])
    assert rappi.orders[rappi_order]["status"] == "TAKEN"


def test_a_poll_and_a_late_webhook_of_one_order_end_in_one_order_either_way(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi.hold()
    late = _pizza_order(rappi, rappi_store, pizza)
    _poll(admin)  # the poll first
    deliver(lambda: _order(api, admin, late) is not None)
    rappi.release()  # then the webhook
    assert rappi.webhooks == [{"event": "NEW_ORDER", "status": 200}]
    early = _pizza_order(rappi, rappi_store, pizza)  # the webhook first
    deliver(lambda: _order(api, admin, early) is not None)
    _poll(admin)  # then the poll
    deliver.settle()
    assert _orders(api, admin) == sorted([late, early])
    assert {_status(api, admin, o) for o in (late, early)} == {"PENDING"}
    details = [e["detail"] for e in _logs(api, admin) if e["operation"] == "recovery"]
    assert details == ["1 order(s) recovered, 0 cancelled"]


def test_orders_rappi_cancelled_end_cancelled_whichever_webhooks_were_lost(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    # Both webhooks lost: the listing shows the order cancelled.
    rappi.lose(2)
    both_lost = _pizza_order(rappi, rappi_store, pizza)
    rappi.cancel_order(both_lost, "Cliente desistiu")
    # Its order lost, its cancellation delivered (remembered until the order comes).
    rappi.lose(1)
    order_lost = _pizza_order(rappi, rappi_store, pizza)
    rappi.cancel_order(order_lost, "Endereço não atendido")
    deliver.settle()
    # Its order delivered, its cancellation lost: BTRIX has it pending.
    arrived = _pizza_order(rappi, rappi_store, pizza)
    deliver(lambda: _status(api, admin, arrived) == "PENDING")
    rappi.lose(1)
    rappi.cancel_order(arrived, "Loja fechada")

    _poll(admin)
    deliver(lambda: {_status(api, admin, o) for o in (both_lost, order_lost, arrived)} == {"CANCELLED"})
    reasons = {o: (_order(api, admin, o) or {})["platform"]["cancelReason"] for o in (both_lost, order_lost, arrived)}
    assert reasons == {
        both_lost: "Cliente desistiu",
        order_lost: "Endereço não atendido",
        arrived: "Loja fechada",
    }
    deliver.settle()
    assert _orders(api, admin) == sorted([both_lost, order_lost, arrived])
    assert [rappi.actions(o) for o in (both_lost, order_lost, arrived)] == [[], [], []]  # Rappi's own: not told back
    details = [e["detail"] for e in _logs(api, admin) if e["operation"] == "recovery"]
    assert details == ["2 order(s) recovered, 3 cancelled"]
    _poll(admin)  # still listed, cancelled: nothing new
    deliver.settle()
    assert len([e for e in _logs(api, admin) if e["operation"] == "recovery"]) == 1


def test_a_rate_limit_and_an_expired_token_are_handled_within_the_poll(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    _poll(admin)  # logs in (the token is kept) and lists nothing
    deliver.settle()
    rappi.lose()
    lost = _pizza_order(rappi, rappi_store, pizza)
    rappi.expire_tokens()  # the kept token gets 401: a new login, then the listing again
    rappi.received.clear()
    rappi.configure(failNext=2, failStatus=429)  # and Rappi throttles twice first (Retry-After: 1)
    _poll(admin)
    deliver(lambda: _order(api, admin, lost) is not None)
    calls = [(r["method"], r["path"], r["status"]) for r in rappi.received]
    assert calls == [
        ("GET", "/orders/status/sent", 429),
        ("GET", "/orders/status/sent", 429),
        ("GET", "/orders/status/sent", 401),
        ("POST", "/restaurants/auth/v1/token/login/integrations", 200),
        ("GET", "/orders/status/sent", 200),
    ]
    assert all(e["ok"] for e in _logs(api, admin) if e["operation"] == "recovery")


def test_an_outage_fails_the_poll_visibly_and_the_orders_arrive_once_rappi_is_back(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi.lose()
    lost = _pizza_order(rappi, rappi_store, pizza)
    rappi.configure(failRate=1.0, failStatus=503)
    _poll(admin)

    def failed() -> bool:
        return any(e["operation"] == "recovery" and "gave up after" in (e["error"] or "") for e in _logs(api, admin))

    deliver(failed)  # retried with the queue's backoff, then the DLQ
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    shown = next(i for i in listed if i["provider"] == "rappi")
    assert shown["status"] == "failing"
    assert _order(api, admin, lost) is None
    rappi.configure(failRate=0.0)
    deliver(lambda: redrive.redrive() >= 1)  # an operator redrives the DLQ (or the next scheduled poll finds it)
    deliver(lambda: _order(api, admin, lost) is not None)
    assert _orders(api, admin) == [lost]


def test_an_order_btrix_cannot_read_is_noted_once_and_the_orders_listed_after_it_still_arrive(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi.lose(4)
    unreadable = _pizza_order(rappi, rappi_store, pizza)
    rappi.orders[unreadable]["order"]["order_detail"]["items"][0]["quantity"] = "two"
    unkeyable = _pizza_order(rappi, rappi_store, pizza)
    rappi.orders[unkeyable]["order"]["order_detail"]["order_id"] = "7#7"
    storeless = _pizza_order(rappi, rappi_store, pizza)
    rappi.orders[storeless]["order"]["store"] = "Loja"  # not the object Rappi documents: taken as the store's own
    fine = _pizza_order(rappi, rappi_store, pizza)
    deliver.settle()

    _poll(admin)
    deliver(lambda: _order(api, admin, fine) is not None and _order(api, admin, storeless) is not None)
    deliver.settle()
    assert _orders(api, admin) == sorted([storeless, fine])
    recovered = [(e["ok"], e["detail"]) for e in _logs(api, admin) if e["operation"] == "recovery"]
    assert len(recovered) == 1
    ok, detail = recovered[0]
    assert ok
    assert detail.startswith(f"2 order(s) recovered, 0 cancelled; unreadable: {unreadable} (Rappi sent an order")
    assert "ValueError" in detail
    _poll(admin)  # noted once: the next polls pass it by
    deliver.settle()
    assert len([e for e in _logs(api, admin) if e["operation"] == "recovery"]) == 1
