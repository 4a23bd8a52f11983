"""iFood's webhook, where the restaurant's iFood application has one, on the local stack against the fake iFood:
events arrive at once, signed with the application's client secret (a forged one is refused and nothing is queued),
and with the poll running too every order is made once and ends in its right state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chalicelib.core.ids import new_id
from chalicelib.delivery import ifood as delivery_ifood
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from localdev.fake_ifood import FakeIFood
from tests.integration.delivery.conftest import Deliver, hook_url, platform_order
from tests.support.identity import Account, call


@pytest.fixture
def webhook(admin: Account, ifood: FakeIFood, store: dict[str, str], hooks: httpx.Client) -> str:
    """The restaurant's iFood application posts its events to BTRIX's iFood webhook for the tenant."""
    url = hook_url(hooks, "ifood", admin)
    ifood.set_webhook(store["clientId"], url)
    return url


def _order(api: Any, admin: Account, ifood_order: str) -> dict[str, Any] | None:
    return platform_order(api, admin, Provider.IFOOD, ifood_order)


def _pizza_order(ifood: FakeIFood, store: dict[str, str], pizza: dict[str, Any]) -> str:
    items = [{"name": "Pizza", "externalCode": pizza["code"], "quantity": 1, "unitPrice": 45.0}]
    return ifood.place_order(store["merchantId"], items)


def test_an_order_arrives_by_the_webhook_without_a_poll_and_its_cancellation_too(
    api: Any,
    admin: Account,
    ifood: FakeIFood,
    store: dict[str, str],
    webhook: str,
    pizza: dict[str, Any],
    deliver: Deliver,
) -> None:
    ifood_order = _pizza_order(ifood, store, pizza)
    assert [post["status"] for post in ifood.webhooks] == [200]
    deliver(lambda: _order(api, admin, ifood_order) is not None)
    assert ifood.polls == 0  # no poll ran: the webhook brought it
    ifood.cancel_order(ifood_order, "Cliente desistiu")
    deliver(lambda: (_order(api, admin, ifood_order) or {}).get("status") == "CANCELLED")
    order = _order(api, admin, ifood_order)
    assert order is not None
    assert (order["channel"], order["platform"]["cancelReason"]) == ("ifood", "Cliente desistiu")
    logs = call(api, "GET", "/integrations/ifood/logs?limit=50", headers=admin.headers()).json_body["items"]
    assert ("webhook", True) in [(entry["operation"], entry["ok"]) for entry in logs]


def test_a_forged_event_is_refused_and_the_poll_still_brings_the_order_once(
    api: Any,
    admin: Account,
    ifood: FakeIFood,
    store: dict[str, str],
    webhook: str,
    pizza: dict[str, Any],
    deliver: Deliver,
) -> None:
    ifood.configure(forgeNext=1)
    forged = _pizza_order(ifood, store, pizza)
    assert [post["status"] for post in ifood.webhooks] == [401]
    deliver.settle()
    assert _order(api, admin, forged) is None  # nothing was queued for it
    jobs.enqueue_task(delivery_ifood.SYNC_TASK, admin.tenant_id, {}, key=new_id())
    deliver(lambda: _order(api, admin, forged) is not None and not ifood.pending_events())
    assert _order(api, admin, forged) is not None


def test_the_webhook_and_the_poll_delivering_the_same_events_end_in_one_order_in_its_final_state(
    api: Any,
    admin: Account,
    ifood: FakeIFood,
    store: dict[str, str],
    webhook: str,
    pizza: dict[str, Any],
    deliver: Deliver,
) -> None:
    ifood.configure(duplicates=True, shuffle=True)
    ifood_order = _pizza_order(ifood, store, pizza)
    ifood.cancel_order(ifood_order, "Loja fechada")
    # The poll runs while the webhook's jobs are queued: both deliver PLC and CAN, in any order.
    jobs.enqueue_task(delivery_ifood.SYNC_TASK, admin.tenant_id, {}, key=new_id())
    deliver(lambda: (_order(api, admin, ifood_order) or {}).get("status") == "CANCELLED" and not ifood.pending_events())
    deliver.settle()
    listed = call(api, "GET", "/orders?limit=50", headers=admin.headers()).json_body["items"]
    assert [o["platform"]["orderId"] for o in listed] == [ifood_order]
    assert [post["status"] for post in ifood.webhooks] == [200, 200]
    assert ifood.actions(ifood_order) == []  # iFood's own cancellation is not sent back
