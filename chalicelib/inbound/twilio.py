"""Twilio status callbacks (SMS and WhatsApp): ``X-Twilio-Signature`` verified as Twilio's ``RequestValidator`` does
(``inbound.signatures.verify_twilio``).

The signing key is the auth token of the account that sent the message: BTRIX's account (``TWILIO_CREDENTIALS``,
callback URL ``…/hooks/twilio``), or a tenant's own Twilio integration, whose messages carry the tenant in the
callback URL (``…/hooks/twilio?tenant=<t>``; Twilio signs the whole URL, so the parameter is covered). Each
(message, status) is applied once to the notification that sent the message (``notifications.status
.apply_status``, which finds it by the message SID) when the account whose auth token verified the callback is the
one that sent it: a tenant's own account changes that tenant's messages sent through it alone, BTRIX's account the
messages it sent (its AccountSid is the one in BTRIX's credentials, not the one the form names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.core.errors import DependencyUnavailable, Unauthorized
from chalicelib.core.resources import TWILIO_CREDENTIALS, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.inbound.receipts import StatusReport, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted
from chalicelib.inbound.signatures import verify_twilio
from chalicelib.inbound.tenants import tenant_credentials, tenant_id_or_none, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.twilio.credentials import TwilioCredentials

__all__ = ["PROVIDER", "handle"]

PROVIDER = "twilio"


def _refuse(detail: str) -> Unauthorized:
    return Unauthorized(detail=detail, title="Invalid signature", code="invalid-signature")


def _platform_account() -> tuple[str, str] | None:
    """BTRIX's own Twilio account: (AccountSid, auth token), or None when it has none in this stage."""
    try:
        credentials = json.loads(get_secret(secret_name(TWILIO_CREDENTIALS)))
    except DependencyUnavailable:
        return None
    if not isinstance(credentials, dict) or not credentials.get("accountSid") or not credentials.get("authToken"):
        return None
    return str(credentials["accountSid"]), str(credentials["authToken"])


@dataclass(frozen=True)
class _Voucher:
    """The account whose auth token verifies the callback: its AccountSid, and its tenant (None: BTRIX's own)."""

    auth_token: str = field(repr=False)
    account_sid: str
    tenant_id: str | None


def _voucher(tenant_id: str | None, account_sid: str | None, fresh: bool) -> _Voucher | None:
    """The account to verify with: the tenant's own when the form names its AccountSid, else BTRIX's (or None)."""
    own = tenant_credentials(tenant_id, Provider.TWILIO, fresh=fresh) if tenant_id else None
    if isinstance(own, TwilioCredentials) and own.account_sid == account_sid:
        return _Voucher(own.auth_token.get_secret_value(), own.account_sid, tenant_id)
    platform = _platform_account()
    return None if platform is None else _Voucher(platform[1], platform[0], None)


def _error(params: Mapping[str, str]) -> str | None:
    # Twilio says why a message failed in ErrorCode (and sometimes ErrorMessage).
    code = params.get("ErrorCode")
    return None if not code else f"{code} {params.get('ErrorMessage') or ''}".strip()


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify the signed URL and form; apply each (message, status) once to its notification."""
    signature = request.header("x-twilio-signature")
    if not signature:
        raise _refuse("X-Twilio-Signature is required")
    # Only messages sent through a tenant's own account name the tenant (to pick its auth token).
    tenant_id = tenant_id_or_none(request.query.get("tenant"))
    form = parse_qsl(request.text, keep_blank_values=True)
    params = dict(form)

    def check(fresh: bool) -> _Voucher:
        voucher = _voucher(tenant_id, params.get("AccountSid"), fresh)
        if voucher is None:
            raise _refuse("X-Twilio-Signature does not match the callback")
        verify_twilio(voucher.auth_token, request.url, form, signature)
        return voucher

    # The verifying account vouches for the messages it sent alone (apply_status checks the message's account).
    vouching = verified_with(check)
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if not message_sid or not status:
        return accepted({"received": True, "recorded": 0})
    report = StatusReport(
        # The vouching account in the key too: a tenant's report on another's message cannot hold the real one off.
        key=f"{vouching.tenant_id or ''}:{message_sid}:{status}",
        provider=PROVIDER,
        provider_message_id=message_sid,
        status=status,
        error=_error(params),
        sent_by=vouching.account_sid,
        tenant_id=vouching.tenant_id,
    )
    receipt = deliver_once(PROVIDER, report, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
