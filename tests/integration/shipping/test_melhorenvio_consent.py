"""Connecting MelhorEnvio by OAuth consent against its fake: the connect URL, the callback keeping the tokens (the
consent's access token used, its rotating refresh token kept), a forged, reused or refused consent connecting
nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from chalicelib.core.db.store import Table
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.store import integration_key
from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import consent as _consent
from tests.integration.shipping.conftest import consent_callback as _callback
from tests.integration.shipping.conftest import new_order, quote, ready_shop
from tests.support.identity import call


def test_consent_connects_melhorenvio_and_its_tokens_work(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio, connected=False)
    melhorenvio.accounts.clear()
    started = call(api, "POST", "/integrations/melhorenvio/connect", {"sandbox": True}, shop.admin.headers()).json_body
    asked = parse_qs(urlsplit(started["url"]).query)
    assert asked["response_type"] == ["code"]
    assert "shipping-calculate" in asked["scope"][0].split()
    connected = _callback(api, _consent(api, shop.admin, {"sandbox": True, "email": "ti@loja.example"}))
    assert connected.status_code == 200, connected.body
    assert connected.json_body["status"] == "connected"
    assert connected.json_body["summary"] == {"mode": "sandbox", "account": "loja@example.com"}
    raw = str(Table().get(*integration_key(shop.admin.tenant_id, Provider.MELHORENVIO)))
    assert "me_rt_" not in raw
    assert "me_at_" not in raw
    order = new_order(api, shop)
    assert quote(api, shop, order["id"]).status_code == 200
    assert melhorenvio.refreshes == 0  # the consent's own access token was kept
    melhorenvio.expire_tokens()
    assert quote(api, shop, order["id"]).status_code == 200
    assert melhorenvio.refreshes == 1  # the refresh token the consent gave, kept encrypted
    assert {r["userAgent"] for r in melhorenvio.accepted() if r["path"].startswith("/api/")} == {
        "BTRIX (ti@loja.example)"
    }


def test_a_forged_reused_refused_or_misdirected_consent_connects_nothing(
    api: Any, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = ready_shop(api, melhorenvio, connected=False)
    query = _consent(api, shop.admin, {})
    payload, _, signature = query["state"].partition(".")
    forged = _callback(api, {**query, "state": f"{payload}.{signature[::-1]}"})
    assert forged.status_code == 422
    assert [e["field"] for e in forged.json_body["errors"]] == ["query.state"]
    # A state issued for MelhorEnvio is no good at Google's callback.
    elsewhere = call(api, "GET", f"/integrations/google-calendar/callback?{urlencode(query)}")
    assert elsewhere.status_code == 422
    assert _callback(api, query).status_code == 200
    again = _callback(api, query)
    assert again.status_code == 422
    assert "used" in again.json_body["detail"]
    refused = _callback(api, {**_consent(api, shop.admin, {}), "error": "access_denied"})
    assert refused.status_code == 403
    assert refused.json_body["type"].endswith("consent-refused")
    dead = _callback(api, {**_consent(api, shop.admin, {}), "code": "not-a-code"})
    assert dead.status_code == 422
    assert [e["field"] for e in dead.json_body["errors"]] == ["query.code"]
