"""The webhook of BTRIX's own MelhorEnvio app: one URL (no ``?tenant=``) for every account that consented to it,
signed with BTRIX's app secret, routed by the label's ``data.user_id`` to the tenant that connected that account.
Among two tenants a label's update moves only its own order; an account no tenant has is answered 200 and recorded
nowhere; a disconnected account's updates stop reaching its old tenant (and another may connect it); two tenants
cannot connect one account; a body not signed by BTRIX's app is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from chalicelib.core.db import keys
from chalicelib.core.db.store import Table
from chalicelib.integrations import accounts
from chalicelib.integrations.credentials import Provider
from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import Shop, buy, consent, consent_callback, new_order, quote, ready_shop
from tests.support.identity import call


def _shared_url(hooks: httpx.Client) -> str:
    return f"{str(hooks.base_url).rstrip('/')}/melhorenvio"


def _signed(secret: str, body: bytes) -> dict[str, str]:
    return {"X-ME-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()}


def _consented_shop(api: Any, fake: FakeMelhorEnvio) -> tuple[Shop, str]:
    """A shop connected by consent to a new account of the fake (BTRIX's app); the account's id."""
    shop = ready_shop(api, fake, connected=False)
    account_id = fake.sign_in(f"{shop.admin.tenant_id.lower()}@loja.example")
    connected = consent_callback(api, consent(api, shop.admin, {"sandbox": True}))
    assert connected.status_code == 200, connected.body
    return shop, account_id


def _status(api: Any, shop: Shop, order_id: str) -> str:
    return str(call(api, "GET", f"/orders/{order_id}", headers=shop.admin.headers()).json_body["status"])


def _label(api: Any, shop: Shop) -> tuple[str, str]:
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    return order["id"], str(buy(api, shop, order["id"], chosen["id"]).json_body["shipment"]["labelId"])


def test_a_label_update_on_btrixs_app_reaches_the_tenant_of_its_account_among_two(
    api: Any, melhorenvio: FakeMelhorEnvio, drain: Any, hooks: httpx.Client
) -> None:
    first, _ = _consented_shop(api, melhorenvio)
    second, _ = _consented_shop(api, melhorenvio)
    melhorenvio.set_webhook(_shared_url(hooks))  # BTRIX's app: one URL for every account, no tenant in it
    first_order, first_label = _label(api, first)
    second_order, second_label = _label(api, second)

    posted = melhorenvio.post(second_label)  # no tracking task is queued: the webhook's job runs it
    drain(lambda: _status(api, second, second_order) == "SHIPPED", timeout_s=60)
    seen = call(api, "GET", f"/orders/{second_order}", headers=second.admin.headers()).json_body
    assert seen["shipment"]["trackingCode"] == posted["tracking"]
    assert _status(api, first, first_order) == "CONFIRMED"  # the other tenant's label did not move

    melhorenvio.deliver(second_label)
    melhorenvio.post(first_label)
    drain(lambda: _status(api, first, first_order) == "SHIPPED", timeout_s=60)
    drain(lambda: _status(api, second, second_order) == "DELIVERED", timeout_s=60)
    assert [w["status"] for w in melhorenvio.webhooks] == [200, 200, 200]


def test_an_account_no_tenant_connected_is_answered_and_recorded_nowhere(
    api: Any, melhorenvio: FakeMelhorEnvio, hooks: httpx.Client
) -> None:
    body = json.dumps(
        {"event": "order.posted", "data": {"id": "label-x", "status": "posted", "user_id": "nobody-at-btrix"}}
    ).encode()
    answered = hooks.post("/melhorenvio", content=body, headers=_signed(melhorenvio.client_secret, body))
    assert answered.status_code == 200, answered.text
    assert answered.json()["recorded"] == 0  # MelhorEnvio stops retrying; nothing is queued
    no_user = json.dumps({"event": "order.posted", "data": {"id": "label-y", "status": "posted"}}).encode()
    answered = hooks.post("/melhorenvio", content=no_user, headers=_signed(melhorenvio.client_secret, no_user))
    assert (answered.status_code, answered.json()["recorded"]) == (200, 0)


def test_a_body_not_signed_by_btrixs_app_is_refused(
    api: Any, melhorenvio: FakeMelhorEnvio, hooks: httpx.Client
) -> None:
    _, account_id = _consented_shop(api, melhorenvio)
    body = json.dumps({"event": "order.posted", "data": {"id": "l-1", "status": "posted", "user_id": account_id}})
    for headers in (_signed("not-btrixs-app-secret", body.encode()), {}):
        refused = hooks.post("/melhorenvio", content=body.encode(), headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_two_tenants_cannot_connect_one_account_and_a_disconnect_frees_it(
    api: Any, melhorenvio: FakeMelhorEnvio, hooks: httpx.Client
) -> None:
    first, account_id = _consented_shop(api, melhorenvio)
    route = (keys.provider_account_pk(Provider.MELHORENVIO.value, account_id), keys.ROUTE_SK)
    assert (Table().get(*route) or {}).get("tenantId") == first.admin.tenant_id
    other = ready_shop(api, melhorenvio, connected=False)
    taken = consent_callback(api, consent(api, other.admin, {"sandbox": True}))  # the same signed-in account
    assert taken.status_code == 409, taken.body
    assert account_id in taken.json_body["detail"]
    listed = call(api, "GET", "/integrations", headers=other.admin.headers()).json_body["items"]
    assert next(i for i in listed if i["provider"] == "melhorenvio")["connected"] is False

    assert call(api, "DELETE", "/integrations/melhorenvio", headers=first.admin.headers()).status_code == 204
    assert Table().get(*route) is None
    body = json.dumps({"event": "order.posted", "data": {"id": "l-2", "status": "posted", "user_id": account_id}})
    gone = hooks.post("/melhorenvio", content=body.encode(), headers=_signed(melhorenvio.client_secret, body.encode()))
    assert (gone.status_code, gone.json()["recorded"]) == (200, 0)

    again = consent_callback(api, consent(api, other.admin, {"sandbox": True}))
    assert again.status_code == 200, again.body
    assert accounts.tenant_of(Provider.MELHORENVIO, account_id) == other.admin.tenant_id


def test_credentials_put_by_hand_replace_the_consented_account_and_its_route(
    api: Any, melhorenvio: FakeMelhorEnvio
) -> None:
    shop, account_id = _consented_shop(api, melhorenvio)
    tokens = melhorenvio.add_account("outra@loja.example")
    credentials = {**tokens, "email": "ti@loja.example", "sandbox": True}
    put = call(api, "PUT", "/integrations/melhorenvio", {"credentials": credentials}, shop.admin.headers())
    assert put.status_code == 200, put.body
    assert accounts.tenant_of(Provider.MELHORENVIO, account_id) is None  # not known to be this tenant's any more
