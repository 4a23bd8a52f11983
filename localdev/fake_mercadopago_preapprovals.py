"""The fake MercadoPago's accounts and signed notifications, and its subscriptions on them (preapprovals authorized at
their ``init_point``, then charged, each charge an ``authorized_payment``): what ``FakeMercadoPago`` builds on.

Notifications go to ``POST <notification_url>&data.id=…&type=<topic>`` with ``x-signature: ts=…,v1=…`` over
``id:<data.id>;request-id:<x-request-id>;ts:<ts>;`` with the account's secret (``POST /_accounts {"accessToken",
"webhookSecret"}``; a token never registered signs with ``DEFAULT_MERCADOPAGO_SECRET``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from localdev.fake_payments import Html, PaymentFake, Reply, Webhook, checkout_page, json_number

__all__ = [
    "DEFAULT_MERCADOPAGO_SECRET",
    "MercadoPagoAccount",
    "MercadoPagoSubscriptionsFake",
    "mercadopago_signature",
    "mp_error",
    "mp_now",
    "mp_time",
]

DEFAULT_MERCADOPAGO_SECRET = "fake-mercadopago-webhook-secret-0001"


def mercadopago_signature(secret: str, data_id: str, request_id: str, at: int | None = None) -> str:
    """``x-signature`` of a notification about ``data_id``: ``ts=<ms>,v1=<hex HMAC-SHA256 of the manifest>``."""
    ts = str(int(time.time() * 1000) if at is None else at)
    signed_id = data_id.lower() if data_id.isalnum() else data_id
    manifest = f"id:{signed_id};request-id:{request_id};ts:{ts};"
    return f"ts={ts},v1={hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()}"


def mp_error(status: int, message: str, error: str = "bad_request") -> Reply:
    return status, {"message": message, "error": error, "status": status, "cause": []}


def mp_time(value: Any) -> datetime | None:
    """An ISO 8601 moment MercadoPago was sent (None when it is not one)."""
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def mp_now() -> str:
    """Now as MercadoPago writes it (milliseconds, a local offset)."""
    return datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")


@dataclass
class MercadoPagoAccount:
    token: str
    user_id: int
    secret: str = DEFAULT_MERCADOPAGO_SECRET
    preferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The application's webhook URL (set in MercadoPago's panel): where subscription notifications go.
    notification_url: str | None = None
    preapprovals: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorized_payments: dict[str, dict[str, Any]] = field(default_factory=dict)


class MercadoPagoSubscriptionsFake(PaymentFake[MercadoPagoAccount]):
    """MercadoPago's accounts (by access token), their signed notifications, and subscriptions (preapprovals)."""

    kind = "mercadopago"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        # MercadoPago's ids are unique across its accounts, and the webhook function records each notification id
        # once: a fake started again against the same table (the next test module, make run after a test) must not
        # hand out the same ids, or its notifications are taken for redeliveries.
        start = secrets.randbelow(10**6) * 1000
        self._ids = itertools.count(1_300_000_001 + start)
        self._notification_ids = itertools.count(12_000_000_001 + start)
        super().__init__(port, seed)

    # --- python helpers for tests and make run ---------------------------------------------------------------

    def set_secret(self, access_token: str, webhook_secret: str) -> None:
        """The secret the account of ``access_token`` signs its notifications with."""
        self._account(access_token).secret = webhook_secret

    def set_notification_url(self, access_token: str, url: str) -> None:
        """The application's webhook URL (MercadoPago's panel): where its subscription notifications go."""
        self._account(access_token).notification_url = url

    def _new_account(self, key: str) -> MercadoPagoAccount:
        return MercadoPagoAccount(key, 100_000 + len(self.accounts))

    def _idempotency_refusal(self) -> Reply:
        return mp_error(409, "the idempotency key was used with another request", "conflict")

    def _outage(self) -> Any:
        return {"message": "internal_error", "error": "internal_server_error", "status": 500, "cause": []}

    def _notify(self, account: MercadoPagoAccount, payment: dict[str, Any], action: str) -> list[Webhook]:
        url = payment.get("notification_url")
        return self._notification(account, str(url), "payment", str(payment["id"]), action) if url else []

    def _notification(
        self, account: MercadoPagoAccount, url: str, topic: str, data_id: str, action: str
    ) -> list[Webhook]:
        notification = {
            "id": next(self._notification_ids),
            "live_mode": False,
            "type": topic,
            "date_created": mp_now(),
            "user_id": account.user_id,
            "api_version": "v1",
            "action": action,
            "data": {"id": data_id},
        }
        separator = "&" if "?" in url else "?"
        target = f"{url}{separator}{urlencode({'data.id': data_id, 'type': topic})}"
        body = json.dumps(notification).encode()
        secret = account.secret

        def headers() -> dict[str, str]:
            # Each delivery (and each retry) is signed anew with its own request id.
            request_id = str(uuid.uuid4())
            return {
                "Content-Type": "application/json",
                "x-request-id": request_id,
                "x-signature": mercadopago_signature(secret, data_id, request_id),
            }

        return [Webhook(str(notification["id"]), target, body, headers)]

    # --- subscriptions (preapproval) -----------------------------------------------------------------------

    def authorize(self, preapproval_id: str, **options: Any) -> dict[str, Any]:
        """The payer authorizes a preapproval at its ``init_point`` (its first charge is made at once)."""
        status, answer = self._authorize(preapproval_id, options)
        if status >= 300:
            raise ValueError(answer)
        return dict(answer)

    def charge(self, preapproval_id: str, status: str = "approved", **options: Any) -> dict[str, Any]:
        """The next charge of an authorized preapproval (a renewal, or MercadoPago's retry): ``approved`` or
        ``rejected``."""
        code, answer = self._charge(preapproval_id, {"status": status, **options})
        if code >= 300:
            raise ValueError(answer)
        return dict(answer)

    def preapproval(self, preapproval_id: str) -> dict[str, Any]:
        """A preapproval as the fake holds it."""
        found = self._find_preapproval(preapproval_id)
        if found is None:
            raise KeyError(preapproval_id)
        shown: dict[str, Any] = json.loads(json.dumps(found[1], default=json_number))
        return shown

    def _find_preapproval(self, preapproval_id: str) -> tuple[MercadoPagoAccount, dict[str, Any]] | None:
        try:
            return self._find("preapprovals", preapproval_id)
        except KeyError:
            return None

    def _create_preapproval(self, account: MercadoPagoAccount, sent: dict[str, Any]) -> Reply:
        recurring = sent.get("auto_recurring") or {}
        amount = recurring.get("transaction_amount")
        if not isinstance(amount, Decimal | int) or amount <= 0 or not recurring.get("currency_id"):
            return mp_error(400, "auto_recurring.transaction_amount and currency_id are required")
        if recurring.get("frequency_type") not in ("days", "months") or int(recurring.get("frequency") or 0) < 1:
            return mp_error(400, "auto_recurring.frequency and frequency_type (days|months) are required")
        if not sent.get("back_url") or not sent.get("payer_email") or not sent.get("reason"):
            return mp_error(400, "reason, payer_email and back_url are required")
        preapproval_id = secrets.token_hex(16)
        preapproval = {
            "id": preapproval_id,
            "payer_id": None,
            "payer_email": sent["payer_email"],
            "back_url": sent["back_url"],
            "collector_id": account.user_id,
            "application_id": account.user_id,
            "status": "pending",
            "reason": sent["reason"],
            "external_reference": sent.get("external_reference"),
            "date_created": mp_now(),
            "last_modified": mp_now(),
            "init_point": f"{self.url}/subscriptions/checkout?preapproval_id={preapproval_id}",
            "auto_recurring": dict(recurring),
            "next_payment_date": None,
        }
        with self._lock:
            account.preapprovals[preapproval_id] = preapproval
        return 201, preapproval

    def _update_preapproval(
        self, account: MercadoPagoAccount, preapproval: dict[str, Any], sent: dict[str, Any]
    ) -> None:
        if isinstance(sent.get("auto_recurring"), dict):
            preapproval["auto_recurring"].update(sent["auto_recurring"])
        preapproval["last_modified"] = mp_now()
        if sent.get("status") in ("paused", "cancelled", "authorized") and sent["status"] != preapproval["status"]:
            preapproval["status"] = sent["status"]
            self._queue(self._topic(account, "subscription_preapproval", preapproval["id"], "updated"), wait=False)

    def _topic(self, account: MercadoPagoAccount, topic: str, data_id: str, action: str) -> list[Webhook]:
        url = account.notification_url
        return self._notification(account, url, topic, data_id, action) if url else []

    def _next_date(self, preapproval: dict[str, Any], debit_date: str) -> str:
        months = int(preapproval["auto_recurring"].get("frequency") or 1)
        due = datetime.fromisoformat(debit_date) + timedelta(days=30 * months)
        return due.astimezone().isoformat(timespec="milliseconds")

    def _new_charge(self, account: MercadoPagoAccount, preapproval: dict[str, Any], status: str) -> dict[str, Any]:
        """The charge of the period due (the first one now): a rejected one leaves that period due, to be tried
        again; an approved one makes the next period due."""
        debit_date = preapproval.get("next_payment_date") or mp_now()
        authorized_id = str(next(self._ids))
        authorized = {
            "id": int(authorized_id),
            "preapproval_id": preapproval["id"],
            "type": "scheduled",
            "status": "processed" if status == "approved" else "recycling",
            "date_created": mp_now(),
            "last_modified": mp_now(),
            "transaction_amount": preapproval["auto_recurring"]["transaction_amount"],
            "currency_id": preapproval["auto_recurring"]["currency_id"],
            "reason": preapproval["reason"],
            "external_reference": preapproval.get("external_reference"),
            "payment": {
                "id": next(self._ids),
                "status": status,
                "status_detail": "accredited" if status == "approved" else "cc_rejected_insufficient_amount",
            },
            "debit_date": debit_date,
        }
        account.authorized_payments[authorized_id] = authorized
        if status == "approved":
            preapproval["next_payment_date"] = self._next_date(preapproval, debit_date)
        return authorized

    def _authorize(self, preapproval_id: str, options: dict[str, Any]) -> Reply:
        found = self._find_preapproval(preapproval_id)
        if found is None:
            return mp_error(404, "preapproval not found", "not_found")
        account, preapproval = found
        with self._lock:
            if preapproval["status"] != "pending":
                return mp_error(400, f"the preapproval is {preapproval['status']}")
            preapproval.update(status="authorized", payer_id=account.user_id + 7)
            authorized = self._new_charge(account, preapproval, "approved")
        hooks = self._topic(account, "subscription_preapproval", preapproval_id, "updated")
        hooks += self._topic(account, "subscription_authorized_payment", str(authorized["id"]), "created")
        if options.get("reverse"):
            hooks.reverse()
        sent = self._queue(hooks, int(options.get("duplicates") or 1))
        return 201, {"preapproval": preapproval, "authorizedPayment": authorized, "webhooks": sent}

    def _charge(self, preapproval_id: str, options: dict[str, Any]) -> Reply:
        found = self._find_preapproval(preapproval_id)
        if found is None:
            return mp_error(404, "preapproval not found", "not_found")
        account, preapproval = found
        status = str(options.get("status") or "approved")
        with self._lock:
            if preapproval["status"] not in ("authorized", "paused"):
                return mp_error(400, f"the preapproval is {preapproval['status']}")
            authorized = self._new_charge(account, preapproval, status)
        hooks = self._topic(account, "subscription_authorized_payment", str(authorized["id"]), "created")
        sent = self._queue(hooks, int(options.get("duplicates") or 1))
        return 201, {"authorizedPayment": authorized, "webhooks": sent}

    def _preapproval_page(self, method: str, preapproval_id: str) -> Reply:
        found = self._find_preapproval(preapproval_id)
        if found is None:
            return 404, Html("<!doctype html><p>No such subscription</p>")
        if method == "POST":
            code, answer = self._authorize(preapproval_id, {})
            if code >= 300:
                return code, Html(f"<!doctype html><p id='error'>{answer['message']}</p>")
        preapproval = found[1]
        recurring = preapproval["auto_recurring"]
        amount = f"{Decimal(str(recurring['transaction_amount'])):.2f} {recurring['currency_id']}"
        state = "open" if preapproval["status"] == "pending" else preapproval["status"]
        action = f"/subscriptions/checkout?preapproval_id={preapproval_id}"
        return 200, checkout_page("Mercado Pago assinatura (fake)", amount, action, state)
