"""Numbers of a tenant's own Meta app: its webhooks verify with that app's secret (and only for its own numbers),
and its subscription challenge with the channel's verify token."""

from __future__ import annotations

from typing import Any

import httpx

from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from tests.integration.channels.conftest import connect_number
from tests.support.gateway import meta_message, meta_notification, signed_meta
from tests.support.identity import Account, signup
from tests.support.inbound_hooks import SECRETS, take_messages

OWN_SECRET = "tenant-own-app-secret-0001"


def _queued(phone_number_id: str) -> list[dict[str, Any]]:
    found = take_messages(QueueKind.WHATSAPP_INBOUND, lambda b: b.get("phoneNumberId") == phone_number_id)
    return [body for body, _ in found]


def test_a_number_of_a_tenant_app_is_verified_with_that_app_secret(
    api: Any, admin: Account, hooks: httpx.Client
) -> None:
    number = connect_number(api, admin, appSecret=OWN_SECRET)
    wamid = f"wamid.{new_id()}"
    payload = meta_notification(number["phoneNumberId"], messages=[meta_message("5511988887777", wamid, "Oi")])

    body, headers = signed_meta(payload, OWN_SECRET)
    accepted = hooks.post("/meta", content=body, headers=headers)
    forged_body, forged_headers = signed_meta(payload, "not-the-app-secret-000")
    forged = hooks.post("/meta", content=forged_body, headers=forged_headers)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["recorded"] == 1
    assert forged.status_code == 401
    queued = _queued(number["phoneNumberId"])
    assert [(b["channelId"], b["message"]["id"]) for b in queued] == [(number["id"], wamid)]


def test_a_tenant_app_secret_does_not_vouch_for_another_tenant_number(
    api: Any, admin: Account, hooks: httpx.Client
) -> None:
    own = connect_number(api, admin, appSecret=OWN_SECRET)
    victim, _ = signup(api, plan="corporativo")
    theirs = connect_number(api, victim, appSecret="the-victim-app-secret-0")
    entry = meta_notification(
        theirs["phoneNumberId"], messages=[meta_message("5511900000001", f"wamid.{new_id()}", "x")]
    )
    mine = meta_notification(own["phoneNumberId"], messages=[meta_message("5511900000002", f"wamid.{new_id()}", "y")])
    payload = {"object": "whatsapp_business_account", "entry": mine["entry"] + entry["entry"]}

    body, headers = signed_meta(payload, OWN_SECRET)
    refused = hooks.post("/meta", content=body, headers=headers)

    assert refused.status_code == 401
    assert _queued(theirs["phoneNumberId"]) == []
    assert _queued(own["phoneNumberId"]) == []


def test_btrix_app_secret_still_verifies_every_number(api: Any, admin: Account, hooks: httpx.Client) -> None:
    number = connect_number(api, admin, appSecret=OWN_SECRET)
    payload = meta_notification(
        number["phoneNumberId"], messages=[meta_message("5511977776666", f"wamid.{new_id()}", "Oi")]
    )

    body, headers = signed_meta(payload)
    accepted = hooks.post("/meta", content=body, headers=headers)

    assert accepted.status_code == 200, accepted.text
    assert len(_queued(number["phoneNumberId"])) == 1


def test_the_challenge_of_a_tenant_app_uses_the_channel_verify_token(
    api: Any, admin: Account, hooks: httpx.Client
) -> None:
    number = connect_number(api, admin, verifyToken="tenant-verify-token-xyz")
    channel = f"{admin.tenant_id}.{number['id']}"

    def challenge(token: str, channel_param: str | None = channel) -> httpx.Response:
        params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
        if channel_param is not None:
            params["channel"] = channel_param
        return hooks.get("/meta", params=params)

    ok = challenge("tenant-verify-token-xyz")
    wrong = challenge(SECRETS["meta-verify-token"])
    unknown = challenge("tenant-verify-token-xyz", f"{admin.tenant_id}.01J0000000000000000000NONE")
    malformed = challenge("tenant-verify-token-xyz", "T#1.x")
    platform = challenge(SECRETS["meta-verify-token"], None)

    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert [r.status_code for r in (wrong, unknown, malformed)] == [403, 403, 403]
    assert platform.status_code == 200
