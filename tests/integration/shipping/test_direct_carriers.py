"""What Correios and JadLog (the carriers BTRIX reaches directly) do alike, against each fake: a label whose create
call's answer was lost is found by our reference and adopted on the retry (one label at the carrier), and tracking
moves the order to shipped, then delivered, and tells the customer."""

from __future__ import annotations

from typing import Any

from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.parcels import carrier_reference
from chalicelib.shipping.tracking import track_labels, track_task
from localdev.fake_correios import FakeCorreios
from localdev.fake_jadlog import FakeJadLog
from tests.integration.shipping.conftest import (
    buy,
    carrier_labels,
    carrier_shop,
    customer_told_shipped_and_delivered,
    new_order,
    quote,
    seen_order,
    sync_logs,
)
from tests.support.identity import call

# The path each carrier's tracking asks, and how the fake hands a parcel over (the carrier takes it).
_TRACKING = {"correios": "/srorastro/v1/objetos", "jadlog": "/tracking/consultar"}


def _hand_over(fake: FakeCorreios | FakeJadLog, code: str) -> None:
    if isinstance(fake, FakeCorreios):
        fake.post(code)
    else:
        fake.collect(code)


def _tracking_calls(fake: FakeCorreios | FakeJadLog) -> int:
    return len([r for r in fake.accepted() if r["path"] == _TRACKING[fake.kind]])


def test_a_label_whose_answer_was_lost_is_found_and_adopted_on_retry(
    api: Any, carrier: FakeCorreios | FakeJadLog
) -> None:
    shop = carrier_shop(api, carrier)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    carrier.configure(loseNext=1)  # the carrier makes the label; its answer never arrives
    lost = buy(api, shop, order["id"], chosen["id"])
    assert lost.status_code == 503, lost.body
    [made] = carrier_labels(carrier)
    resumed = buy(api, shop, order["id"], chosen["id"])
    assert resumed.status_code == 201, resumed.body
    assert carrier_labels(carrier) == [made]
    shipment = resumed.json_body["shipment"]
    assert (shipment["labelId"], shipment["trackingCode"]) == made
    reference = carrier_reference(shop.admin.tenant_id, order["number"])
    if isinstance(carrier, FakeCorreios):
        # Its pre-postings since the purchase began, matched on the observacao we sent.
        [searched] = [r["query"] for r in carrier.accepted() if r["path"] == "/prepostagem/v1/prepostagens"]
        assert searched["dataInicio"] == carrier.objects()[0]["dataHora"][:10]
        assert carrier.objects()[0]["observacao"] == reference
    else:
        asked = [r["body"] for r in carrier.accepted() if r["path"] == "/tracking/consultar"]
        assert asked[-1] == {"consulta": [{"pedido": reference}]}


def test_a_lost_label_is_never_adopted_from_another_tenant_on_the_same_contract(
    api: Any, carrier: FakeCorreios | FakeJadLog
) -> None:
    # A franchise: two tenants ship on one carrier contract, and their order numbers are alike.
    shared = carrier.add_contract() if isinstance(carrier, FakeCorreios) else carrier.add_shipper()
    first, second = carrier_shop(api, carrier, account=shared), carrier_shop(api, carrier, account=shared)
    theirs, ours = new_order(api, first), new_order(api, second)
    assert theirs["number"] == ours["number"]
    made = buy(api, first, theirs["id"], quote(api, first, theirs["id"]).json_body["items"][0]["id"])
    assert made.status_code == 201, made.body
    chosen = quote(api, second, ours["id"]).json_body["items"][0]
    carrier.configure(loseNext=1)
    assert buy(api, second, ours["id"], chosen["id"]).status_code == 503
    resumed = buy(api, second, ours["id"], chosen["id"])
    assert resumed.status_code == 201, resumed.body
    # The second tenant adopted its own label (made when the answer was lost), not the first tenant's.
    [first_label, second_label] = carrier_labels(carrier)
    assert made.json_body["shipment"]["labelId"] == first_label[0]
    assert resumed.json_body["shipment"]["labelId"] == second_label[0]


def test_tracking_moves_the_order_to_shipped_then_delivered_and_tells_the_customer(
    api: Any, carrier: FakeCorreios | FakeJadLog, drain: Any
) -> None:
    shop = carrier_shop(api, carrier)
    provider = Provider(carrier.kind)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    code = buy(api, shop, order["id"], chosen["id"]).json_body["shipment"]["trackingCode"]
    tenant_id = shop.admin.tenant_id
    # Registered, not handed over yet: the carrier does not know the parcel; the order stays where it is.
    assert track_labels(tenant_id, provider) == "tracked 1 label(s), 1 changed"
    assert seen_order(api, shop, order["id"])["status"] == "CONFIRMED"
    _hand_over(carrier, code)
    # What the schedule does every 30 minutes, now.
    synced = call(api, "POST", f"/integrations/{carrier.kind}/sync", None, shop.admin.headers())
    assert synced.status_code == 202, synced.body
    assert synced.json_body["task"] == track_task(provider)
    drain(lambda: seen_order(api, shop, order["id"])["status"] == "SHIPPED", timeout_s=60)
    assert seen_order(api, shop, order["id"])["shipment"]["status"] == "posted"
    carrier.deliver(code)
    jobs.enqueue_task(track_task(provider), tenant_id, {}, key=f"{carrier.kind}-2")
    drain(lambda: seen_order(api, shop, order["id"])["status"] == "DELIVERED", timeout_s=60)
    final = seen_order(api, shop, order["id"])
    assert (final["shipment"]["status"], final["shipment"]["trackingCode"]) == ("delivered", code)
    drain(lambda: customer_told_shipped_and_delivered(tenant_id), timeout_s=60)
    assert any(e["operation"] == "track" and e["ok"] for e in sync_logs(api, shop, carrier.kind))
    # Delivered: off the open list, the next run asks the carrier about nothing.
    before = _tracking_calls(carrier)
    assert track_labels(tenant_id, provider) is None
    assert _tracking_calls(carrier) == before
