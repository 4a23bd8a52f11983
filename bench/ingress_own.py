"""Webhook ingress of the functions a tenant's own provider account signs (issue 20, target 3), for ``bench.ingress``:
Rappi, iFood, MelhorEnvio (the tenant's own app) and Twilio (status callbacks of the tenant's own account).

``own_accounts`` connects the four integrations for the bench tenant (fresh secrets, as ``PUT
/integrations/<provider>`` does), and each ``*_case`` builds that provider's deliveries as it sends them: Rappi's
``NEW_ORDER`` signed ``Rappi-Signature: t=<ts>,sign=<hex HMAC>`` (``integrations.rappi.client.sign``, as the fake
signs), iFood's order event signed ``X-IFood-Signature`` (``localdev.fakes.sign_hex``), MelhorEnvio's label update
signed ``X-ME-Signature`` (base64 HMAC of the body, as ``localdev.fake_melhorenvio`` signs) and Twilio's status
callback form signed ``X-Twilio-Signature`` by Twilio's own ``RequestValidator``. A Twilio callback names a message we
sent: each event's notification (status ``sent``, with its provider route) is written when the event is built,
outside the timing, so the function applies a real ``delivered``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bench.ingress import FunctionCase

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal

__all__ = ["OWN_CASES", "OwnAccounts", "ifood_case", "melhorenvio_case", "own_accounts", "rappi_case", "twilio_case"]

STORE_ID = "900123"
MERCHANT_ID = "b7e1c0de-0001-4b1d-9c3e-000000000001"
ACCOUNT_SID = "AC" + "b" * 32
# The host a function URL is called at (Twilio signs the whole URL it called).
HOOKS_HOST = "hooks.bench.btrix.test"


@dataclass(frozen=True)
class OwnAccounts:
    """The bench tenant and the secrets its own accounts sign their webhooks with."""

    tenant_id: str
    rappi_secret: str
    ifood_secret: str
    melhorenvio_secret: str
    twilio_token: str


@contextlib.contextmanager
def own_accounts(admin: Principal) -> Iterator[OwnAccounts]:
    """Connect the tenant's own Rappi store, iFood merchant, MelhorEnvio app and Twilio account (fresh secrets); on
    exit the tenant's integrations are as they were (the sections after this one connect their own fakes)."""
    from chalicelib.integrations import service as integrations
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.models import ConnectIntegrationRequest

    accounts = OwnAccounts(
        admin.tenant_id,
        rappi_secret=secrets.token_urlsafe(24),
        ifood_secret=secrets.token_urlsafe(24),
        melhorenvio_secret=secrets.token_urlsafe(24),
        twilio_token=secrets.token_hex(16),
    )
    credentials = {
        Provider.RAPPI: {
            "clientId": "bench-rappi",
            "clientSecret": "bench",
            "storeId": STORE_ID,
            "webhookSecret": accounts.rappi_secret,
        },
        Provider.IFOOD: {"clientId": "bench-ifood", "clientSecret": accounts.ifood_secret, "merchantId": MERCHANT_ID},
        Provider.MELHORENVIO: {
            "clientId": "bench-melhorenvio",
            "clientSecret": accounts.melhorenvio_secret,
            "refreshToken": "bench",
            "email": "bench@loja.example",
        },
        Provider.TWILIO: {"accountSid": ACCOUNT_SID, "authToken": accounts.twilio_token, "smsFrom": "+15557770000"},
    }
    before = {provider: integrations.find_credentials(admin.tenant_id, provider) for provider in credentials}
    try:
        for provider, fields in credentials.items():
            integrations.connect_integration(admin, provider, ConnectIntegrationRequest(credentials=fields))
        yield accounts
    finally:
        for provider, previous in before.items():
            if previous is not None:
                integrations.store_credentials(admin, provider, previous)
            elif integrations.find_credentials(admin.tenant_id, provider) is not None:
                integrations.disconnect_integration(admin, provider)


def _event(path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    from localdev.function_urls import function_url_event

    return function_url_event("POST", path, {"host": HOOKS_HOST, **headers}, body)


def _order_id(i: int) -> str:
    return f"{i}{secrets.randbelow(10**9):09d}"


def _signed_json(
    provider: str,
    label: str,
    accounts: OwnAccounts,
    payload: Callable[[int], dict[str, Any]],
    signed: Callable[[bytes], dict[str, str]],
) -> FunctionCase:
    """``provider``'s function on the i-th ``payload`` (JSON, headers from ``signed(body)``), posted to the tenant's
    URL; the function sends it to the integrations queue."""
    from chalicelib.core.resources import QueueKind

    def build(i: int) -> dict[str, Any]:
        body = json.dumps(payload(i)).encode()
        headers = {"content-type": "application/json", **signed(body)}
        return _event(f"/hooks/{provider}?tenant={accounts.tenant_id}", headers, body)

    return FunctionCase(provider, label, build, QueueKind.INTEGRATIONS)


def rappi_case(accounts: OwnAccounts) -> FunctionCase:
    """A ``NEW_ORDER`` of the tenant's store (a new order each)."""
    from chalicelib.integrations.rappi.client import sign

    def payload(i: int) -> dict[str, Any]:
        detail = {
            "order_id": _order_id(i),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "delivery_method": "delivery",
            "items": [{"sku": "PZ-1", "id": "1", "name": "Pizza", "type": "PRODUCT", "price": 49.9, "quantity": 1}],
            "totals": {"total_products": 49.9, "total_discounts": 0, "total_order": 55.4},
            "customer": {"first_name": "Cliente", "last_name": "Rappi"},
        }
        order = {"order_detail": detail, "store": {"internal_id": STORE_ID, "name": "Loja"}}
        return {"event": "NEW_ORDER", "store_id": STORE_ID, "order": order}

    def signed(body: bytes) -> dict[str, str]:
        return {"rappi-signature": sign(accounts.rappi_secret, body)}

    return _signed_json("rappi", "Rappi function (1 order)", accounts, payload, signed)


def ifood_case(accounts: OwnAccounts) -> FunctionCase:
    """A ``PLACED`` event of the tenant's merchant (a new event and order each)."""
    from localdev.fakes import sign_hex

    def payload(_: int) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "code": "PLC",
            "fullCode": "PLACED",
            "orderId": str(uuid.uuid4()),
            "merchantId": MERCHANT_ID,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "salesChannel": "IFOOD",
        }

    def signed(body: bytes) -> dict[str, str]:
        return {"x-ifood-signature": sign_hex(accounts.ifood_secret, body)}

    return _signed_json("ifood", "iFood function (1 order event)", accounts, payload, signed)


def melhorenvio_case(accounts: OwnAccounts) -> FunctionCase:
    """A label posted (``order.posted``, a new label each) from the tenant's own app."""

    def payload(i: int) -> dict[str, Any]:
        label = {
            "id": str(uuid.uuid4()),
            "protocol": f"ORD-{_order_id(i)}",
            "status": "posted",
            "tracking": f"BR{secrets.randbelow(10**9):09d}BR",
            "user_id": "bench-account",
        }
        return {"event": "order.posted", "data": label}

    def signed(body: bytes) -> dict[str, str]:
        digest = hmac.new(accounts.melhorenvio_secret.encode(), body, hashlib.sha256).digest()
        return {"x-me-signature": base64.b64encode(digest).decode()}

    return _signed_json("melhorenvio", "MelhorEnvio function (1 label update)", accounts, payload, signed)


def _sent_sms(tenant_id: str, message_sid: str) -> None:
    """An SMS the tenant's Twilio account accepted as ``message_sid`` (status ``sent``, routed by its SID and
    recorded as sent by that account)."""
    from chalicelib.core.db.store import Table
    from chalicelib.notifications import sent_messages, store
    from chalicelib.notifications.outbox import new_record

    record = new_record(tenant_id, "sms", "+5511988887777", template=None, locale="pt-BR", variables={}, text="Saiu")
    record = record.model_copy(update={"status": "sent"})
    lookup = sent_messages.provider_route_op(record, "twilio", message_sid, ACCOUNT_SID)
    Table().transact([*store.new_notification_ops(record), lookup])


def twilio_case(accounts: OwnAccounts) -> FunctionCase:
    """A ``delivered`` status callback of an SMS the tenant's account sent (its notification written when the event
    is built). The function applies it to the notification and sends nothing: its bare SendMessage goes to the
    integrations queue."""
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    from chalicelib.core.resources import QueueKind

    validator = RequestValidator(accounts.twilio_token)
    path = f"/hooks/twilio?tenant={accounts.tenant_id}"

    def build(_: int) -> dict[str, Any]:
        sid = "SM" + uuid.uuid4().hex
        _sent_sms(accounts.tenant_id, sid)
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "From": "+15557770000",
            "MessageSid": sid,
            "MessageStatus": "delivered",
            "SmsSid": sid,
            "SmsStatus": "delivered",
            "To": "+5511988887777",
        }
        signature = validator.compute_signature(f"http://{HOOKS_HOST}{path}", form)
        headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
        return _event(path, headers, urlencode(form).encode())

    return FunctionCase("twilio", "Twilio function (1 status callback)", build, QueueKind.INTEGRATIONS)


OwnCase = Callable[[OwnAccounts], FunctionCase]
OWN_CASES: tuple[OwnCase, ...] = (rappi_case, ifood_case, melhorenvio_case, twilio_case)
