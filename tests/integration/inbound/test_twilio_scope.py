"""A Twilio status callback changes only a message the account that signed it sent: a tenant's own account (its
auth token verified the signature) reaches that tenant's messages sent through it, BTRIX's account the messages it
sent. A tenant signing a callback for another tenant's message SID, or BTRIX's account one for a message of a
tenant's own account, changes nothing, and does not take the real callback's place as a duplicate. Messages whose
lookup predates the sending account's record change only on a callback of their tenant's own account."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from chalicelib.core.ids import new_id
from tests.support.identity import Account, call, signup
from tests.support.inbound_hooks import notification_status, sent_notification
from tests.support.provider_api import GOOD

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PLATFORM_SID, PLATFORM_TOKEN = "AC" + "f" * 32, "0123456789abcdef" * 2
OWN_SID, OWN_TOKEN = GOOD["twilio"]["accountSid"], GOOD["twilio"]["authToken"]


@pytest.fixture
def btrix_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """BTRIX's own Twilio account (the notifications' twilio secret: not provisioned locally)."""
    from chalicelib.inbound import twilio

    monkeypatch.setattr(twilio, "_platform_account", lambda: (PLATFORM_SID, PLATFORM_TOKEN))


def _report(hooks: httpx.Client, path: str, token: str, account: str, sid: str, status: str) -> httpx.Response:
    """A status callback of message ``sid`` naming ``account``, signed with ``token`` for ``path``."""
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    params = {"AccountSid": account, "MessageSid": sid, "MessageStatus": status}
    if status in ("failed", "undelivered"):
        params["ErrorCode"] = "30005"
    url = str(hooks.base_url).rstrip("/") + path
    signature = RequestValidator(token).compute_signature(url, params)
    answer = hooks.post(path, content=urlencode(params), headers={**FORM, "X-Twilio-Signature": signature})
    assert answer.status_code == 200, answer.text  # signed: acknowledged, whether applied or not
    return answer


def _own_account(api: object) -> tuple[Account, str]:
    """A tenant with a Twilio account of its own, and the callback path of the messages sent through it."""
    owner, _ = signup(api, plan="corporativo")
    assert call(api, "PUT", "/integrations/twilio", {"credentials": GOOD["twilio"]}, owner.headers()).status_code == 200
    return owner, f"/twilio?{urlencode({'tenant': owner.tenant_id})}"


def _sid() -> str:
    return f"SM{new_id().lower()}"


@pytest.mark.usefixtures("btrix_account")
def test_a_tenant_own_account_reaches_its_messages_alone_and_btrix_account_the_ones_it_sent(
    api: object, hooks: httpx.Client
) -> None:
    owner, path = _own_account(api)
    victim, _ = signup(api)  # a tenant whose messages BTRIX's account sent
    theirs_sid, own_sid = _sid(), _sid()
    theirs = sent_notification(victim.tenant_id, "sms", "+5511988887777", "twilio", theirs_sid, sent_by=PLATFORM_SID)
    own = sent_notification(owner.tenant_id, "sms", "+5511988886666", "twilio", own_sid, sent_by=OWN_SID)

    _report(hooks, path, OWN_TOKEN, OWN_SID, theirs_sid, "failed")  # the tenant's own token: applied to nothing
    assert notification_status(victim.tenant_id, theirs) == "sent"
    assert _report(hooks, path, OWN_TOKEN, OWN_SID, own_sid, "delivered").json()["recorded"] == 1
    assert notification_status(owner.tenant_id, own) == "delivered"
    real = _report(hooks, "/twilio", PLATFORM_TOKEN, PLATFORM_SID, theirs_sid, "failed")
    assert real.json()["recorded"] == 1  # not held off as a duplicate
    assert notification_status(victim.tenant_id, theirs) == "failed"


@pytest.mark.usefixtures("btrix_account")
def test_btrix_account_cannot_change_a_message_a_tenant_sent_through_its_own_account(
    api: object, hooks: httpx.Client
) -> None:
    owner, path = _own_account(api)
    sid = _sid()
    own = sent_notification(owner.tenant_id, "sms", "+5511988885555", "twilio", sid, sent_by=OWN_SID)
    for account in (PLATFORM_SID, OWN_SID):  # whatever AccountSid its form names, BTRIX's token vouches for BTRIX's
        _report(hooks, "/twilio", PLATFORM_TOKEN, account, sid, "undelivered")
        assert notification_status(owner.tenant_id, own) == "sent"
    assert _report(hooks, path, OWN_TOKEN, OWN_SID, sid, "undelivered").json()["recorded"] == 1
    assert notification_status(owner.tenant_id, own) == "failed"


@pytest.mark.usefixtures("btrix_account")
def test_a_message_looked_up_without_its_account_changes_only_on_its_tenant_own_callback(
    api: object, hooks: httpx.Client
) -> None:
    owner, path = _own_account(api)
    platform_sent, own_sent = _sid(), _sid()
    # Lookups as written before the sending account was recorded on them.
    older = sent_notification(owner.tenant_id, "sms", "+5511988884444", "twilio", platform_sent, sent_by=None)
    own = sent_notification(owner.tenant_id, "sms", "+5511988883333", "twilio", own_sent, sent_by=None)
    _report(hooks, "/twilio", PLATFORM_TOKEN, PLATFORM_SID, platform_sent, "delivered")
    assert notification_status(owner.tenant_id, older) == "sent"  # no account to match: BTRIX's does not vouch
    assert _report(hooks, path, OWN_TOKEN, OWN_SID, own_sent, "read").json()["recorded"] == 1
    assert notification_status(owner.tenant_id, own) == "read"
