"""A Twilio status callback changes only a notification of the account that signed it: a tenant's own account (its
auth token verified the signature) reaches that tenant's messages alone, BTRIX's account the messages it sent. A
tenant signing a callback for another tenant's message SID changes nothing, and does not take the real callback's
place as a duplicate."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from chalicelib.core.ids import new_id
from tests.support.identity import call, signup
from tests.support.inbound_hooks import notification_status, sent_notification
from tests.support.provider_api import GOOD

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post(hooks: httpx.Client, path: str, params: dict[str, str], token: str) -> httpx.Response:
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    url = str(hooks.base_url).rstrip("/") + path
    signature = RequestValidator(token).compute_signature(url, params)
    return hooks.post(path, content=urlencode(params), headers={**FORM, "X-Twilio-Signature": signature})


def test_a_tenant_own_account_reaches_its_messages_alone_and_btrix_account_the_ones_it_sent(
    api: object, hooks: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.inbound import twilio

    platform_token = "0123456789abcdef" * 2
    monkeypatch.setattr(twilio, "_platform_auth_token", lambda: platform_token)
    owner, _ = signup(api, plan="corporativo")  # a tenant with a Twilio account of its own
    credentials = {"credentials": GOOD["twilio"]}
    assert call(api, "PUT", "/integrations/twilio", credentials, owner.headers()).status_code == 200
    victim, _ = signup(api)  # a tenant whose messages BTRIX's account sent
    theirs_sid, own_sid = f"SM{new_id().lower()}", f"SM{new_id().lower()}"
    theirs = sent_notification(victim.tenant_id, "sms", "+5511988887777", "twilio", theirs_sid)
    own = sent_notification(owner.tenant_id, "sms", "+5511988886666", "twilio", own_sid)
    path = f"/twilio?{urlencode({'tenant': owner.tenant_id})}"
    account = GOOD["twilio"]["accountSid"]

    forged = {"AccountSid": account, "MessageSid": theirs_sid, "MessageStatus": "failed", "ErrorCode": "30005"}
    answer = _post(hooks, path, forged, GOOD["twilio"]["authToken"])
    assert answer.status_code == 200, answer.text  # signed by the tenant's own token: acknowledged, applied to nothing
    assert notification_status(victim.tenant_id, theirs) == "sent"

    mine = {"AccountSid": account, "MessageSid": own_sid, "MessageStatus": "delivered"}
    assert _post(hooks, path, mine, GOOD["twilio"]["authToken"]).json()["recorded"] == 1
    assert notification_status(owner.tenant_id, own) == "delivered"

    real = {"AccountSid": "AC" + "f" * 32, "MessageSid": theirs_sid, "MessageStatus": "failed", "ErrorCode": "30005"}
    assert _post(hooks, "/twilio", real, platform_token).json()["recorded"] == 1  # not held off as a duplicate
    assert notification_status(victim.tenant_id, theirs) == "failed"
