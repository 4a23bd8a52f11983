"""The webhook of BTRIX's own Bling app: one server URL (no ``?tenant=``) for every company that authorized it, signed
with BTRIX's app secret, routed by the event's ``companyId`` to the tenant that connected that company by consent.
Among two tenants a stock event reaches only its company's; a company no tenant has is answered 200 and recorded
nowhere; a disconnect stops the routing and frees the company; two tenants cannot connect one company; a body not
signed by BTRIX's app is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from chalicelib.integrations import accounts
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.service import mark_disconnected
from localdev.fake_bling import FakeBling
from tests.integration.erp.conftest import Deliver, connect_bling, get_json, sync_logs
from tests.support.commerce import create_product, move_stock
from tests.support.consent import allow, callback
from tests.support.identity import Account, call, signup


def _shared_url(hooks: httpx.Client) -> str:
    return f"{str(hooks.base_url).rstrip('/')}/bling"


def _post(hooks: httpx.Client, secret: str, company_id: str, event_id: str) -> httpx.Response:
    """A ``stock.updated`` of ``company_id`` posted to the shared URL, signed with ``secret``."""
    event = {"eventId": event_id, "event": "stock.updated", "companyId": company_id, "data": {"produto": {"id": 1}}}
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hooks.post("/bling", content=body, headers={"X-Bling-Signature-256": signature})


def test_a_stock_event_on_btrixs_app_reaches_the_tenant_of_its_company_among_two(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver, hooks: httpx.Client
) -> None:
    first_company = bling.company_id
    connect_bling(api, admin, sourceOfTruth="erp")
    other, _ = signup(api, plan="corporativo")
    product = create_product(api, other, name="Doce de leite")
    assert move_stock(api, other, product["id"], "in", 4).status_code == 201
    bling.add_product(product["code"], "Doce de leite (Bling)")
    bling.company_id = second_company = "c0ffee" + first_company[6:]  # the user authorizes another company
    connect_bling(api, other, sourceOfTruth="erp")
    assert accounts.tenant_of(Provider.BLING, first_company) == admin.tenant_id
    assert accounts.tenant_of(Provider.BLING, second_company) == other.tenant_id

    bling.configure(webhookUrl=_shared_url(hooks))  # BTRIX's app: one URL for every company
    bling.set_stock(product["code"], 11)  # the second company's count: its webhook names it
    deliver(lambda: get_json(api, other, f"/inventory/{product['id']}")["onHand"] == 11)
    assert [w["status"] for w in bling.webhooks] == [200]
    assert bling.webhooks[0]["event"]["companyId"] == second_company
    assert any(e["operation"] == "stock_webhook" for e in sync_logs(api, other))
    assert not [e for e in sync_logs(api, admin) if e["operation"] == "stock_webhook"]


def test_a_company_no_tenant_connected_is_answered_and_recorded_nowhere(bling: FakeBling, hooks: httpx.Client) -> None:
    answered = _post(hooks, bling.client_secret or "", "0" * 32, "evt-unknown-1")
    assert answered.status_code == 200, answered.text
    assert answered.json()["recorded"] == 0  # Bling stops retrying; nothing is queued


def test_a_body_not_signed_by_btrixs_app_is_refused(
    api: Any, admin: Account, bling: FakeBling, hooks: httpx.Client
) -> None:
    connect_bling(api, admin)
    for secret in ("not-btrixs-app-secret", ""):
        refused = _post(hooks, secret, bling.company_id, "evt-forged-1")
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_two_tenants_cannot_connect_one_company_and_a_disconnect_frees_it(
    api: Any, admin: Account, bling: FakeBling, hooks: httpx.Client
) -> None:
    connect_bling(api, admin)
    other, _ = signup(api, plan="corporativo")
    taken = callback(api, "bling", allow(api, other, "bling", {}))  # the same company again
    assert taken.status_code == 409, taken.body
    assert bling.company_id in taken.json_body["detail"]
    listed = call(api, "GET", "/integrations", headers=other.headers()).json_body["items"]
    assert next(i for i in listed if i["provider"] == "bling")["connected"] is False

    assert call(api, "DELETE", "/integrations/bling", headers=admin.headers()).status_code == 204
    assert accounts.tenant_of(Provider.BLING, bling.company_id) is None
    gone = _post(hooks, bling.client_secret or "", bling.company_id, "evt-after-disconnect")
    assert (gone.status_code, gone.json()["recorded"]) == (200, 0)
    connect_bling(api, other)
    assert accounts.tenant_of(Provider.BLING, bling.company_id) == other.tenant_id


def test_a_company_bling_disconnected_stays_its_tenants_until_they_disconnect_it(
    api: Any, admin: Account, bling: FakeBling
) -> None:
    # Bling refuses the tenant's grant for good (invalid_grant): the integration is disconnected, not the company.
    connect_bling(api, admin)
    assert mark_disconnected(admin.tenant_id, Provider.BLING, "invalid_grant")
    other, _ = signup(api, plan="corporativo")
    taken = callback(api, "bling", allow(api, other, "bling", {}))
    assert taken.status_code == 409, taken.body
    assert taken.json_body["type"] == "urn:btrix:problem:account-taken"
    assert bling.company_id in taken.json_body["detail"]
    assert accounts.tenant_of(Provider.BLING, bling.company_id) == admin.tenant_id
    # Its tenant consents again and has it back; once it disconnects, the company is free.
    connect_bling(api, admin)
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    assert next(i for i in listed if i["provider"] == "bling")["connected"] is True
    assert call(api, "DELETE", "/integrations/bling", headers=admin.headers()).status_code == 204
    connect_bling(api, other)
    assert accounts.tenant_of(Provider.BLING, bling.company_id) == other.tenant_id
