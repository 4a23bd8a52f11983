"""The payment providers behind one interface: what the payments service asks of Stripe and MercadoPago.

A ``PaymentGateway`` opens a checkout for a link, closes one, gives money back, and reads what a provider's
webhook says (``interpret``: Stripe's signed event is authoritative; a MercadoPago notification only says that
something changed, so its payment is fetched). Each adapter maps BTRIX's terms to the provider's wire format through
the provider's one client (``integrations/stripe/client.py``, ``integrations/mercadopago/client.py``) with the
tenant's credentials from the integrations registry. A third provider (Pagar.me) is a third class here, registered
in ``GATEWAYS``; the service does not change.

Links are named at the provider by a reference ``<tenantId>:<orderId>:<linkId>`` (a sale's:
``<tenantId>:sale:<saleId>:<linkId>``; Stripe metadata ``btrixRef`` on the session and its payment intent,
MercadoPago ``external_reference``, Pagar.me order ``metadata.btrixRef``), so every payment finds its link and what it
pays.

One responsibility: translating between BTRIX's payment terms and each provider's wire terms, one class per provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, DependencyUnavailable
from chalicelib.core.money import Money
from chalicelib.core.observability import logger
from chalicelib.integrations.models import MercadoPagoCredentials, PagarmeCredentials, Provider, StripeCredentials
from chalicelib.integrations.service import IntegrationNotConnected, load_credentials
from chalicelib.payments.models import (
    Checkout,
    CheckoutClosed,
    CheckoutRequest,
    Notice,
    PayableKind,
    PaymentNotice,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
    RefundNotice,
    RefundStatus,
)

__all__ = [
    "GATEWAYS",
    "IntegrationMissing",
    "LinkReference",
    "MercadoPagoGateway",
    "PagarmeGateway",
    "PaymentGateway",
    "StripeGateway",
    "gateway",
    "link_reference",
    "parse_reference",
]


class IntegrationMissing(Conflict):
    """Raised when a tenant asks for a payment through a provider it has not connected (409 naming it)."""


def link_reference(tenant_id: str, payable: tuple[PayableKind, str], link_id: str) -> str:
    """How a link is named at the provider: ``<tenant>:<order>:<link>`` for an order's (as before sales could be
    paid), ``<tenant>:sale:<sale>:<link>`` for a sale's."""
    kind, payable_id = payable
    return f"{tenant_id}:{payable_id}:{link_id}" if kind == "order" else f"{tenant_id}:{kind}:{payable_id}:{link_id}"


@dataclass(frozen=True)
class LinkReference:
    """What a provider's reference names: the tenant, what the link pays, the link."""

    tenant_id: str
    payable: tuple[PayableKind, str]
    link_id: str


def parse_reference(reference: str | None) -> LinkReference | None:
    """What a reference names, or None when it is not one of ours."""
    parts = (reference or "").split(":")
    if not all(part and part.replace("-", "").replace("_", "").isalnum() for part in parts):
        return None
    if len(parts) == 3:
        return LinkReference(parts[0], ("order", parts[1]), parts[2])
    if len(parts) == 4 and parts[1] == "sale":
        return LinkReference(parts[0], ("sale", parts[2]), parts[3])
    return None


class PaymentGateway(Protocol):
    """What the payments service needs from a provider."""

    provider: PaymentProvider

    def open_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """Open a checkout page for ``request`` (the same key again returns the same checkout)."""
        ...

    def close_checkout(self, tenant_id: str, checkout_id: str) -> bool:
        """Stop a checkout from being paid; False when it cannot be closed because it was paid already."""
        ...

    def refund(self, tenant_id: str, provider_payment_id: str, amount: Money, *, refund_id: str) -> ProviderRefund:
        """Give ``amount`` of a payment back; ``refund_id`` is the idempotency key (the same refund is made once)."""
        ...

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """What a webhook message (as the inbound function queued it) tells about our payments."""
        ...


def _credentials(tenant_id: str, provider: Provider) -> Any:
    try:
        return load_credentials(tenant_id, provider)
    except IntegrationNotConnected as exc:
        raise IntegrationMissing(
            detail=f"the {provider.value} integration is not connected: connect it (PUT /integrations/"
            f"{provider.value}) to take payments through it",
            title="Integration missing",
            code="integration-missing",
        ) from exc


def _iso(value: Any) -> str | None:
    if not value:
        return None
    moment = datetime.fromtimestamp(value, UTC) if isinstance(value, int) else datetime.fromisoformat(str(value))
    return clock.isoformat(moment.astimezone(UTC))


# --- Stripe ----------------------------------------------------------------------------------------------------

_STRIPE_LANGUAGES = frozenset({"da", "de", "en", "es", "fi", "fr", "it", "ja", "nb", "nl", "pl", "pt", "sv"})


def stripe_locale(locale: str) -> str:
    """Checkout's locale for a BTRIX locale (``pt-BR`` stays, ``en-US`` is ``en``, unknown languages ``auto``)."""
    if locale == "pt-BR":
        return locale
    language = locale.split("-")[0]
    return language if language in _STRIPE_LANGUAGES else "auto"


def _stripe_refund_status(status: Any) -> RefundStatus:
    if status == "succeeded":
        return "succeeded"
    return "failed" if status in ("failed", "canceled") else "pending"


class StripeGateway:
    """Stripe Checkout (``mode=payment``), refunds, and the events of both."""

    provider: PaymentProvider = "stripe"

    @staticmethod
    def _credentials(tenant_id: str) -> StripeCredentials:
        found: StripeCredentials = _credentials(tenant_id, Provider.STRIPE)
        return found

    def open_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """A Checkout Session in ``mode=payment`` for the link's amount, expiring with the link."""
        from chalicelib.integrations.stripe.client import create_checkout_session

        metadata = {
            "tenantId": request.tenant_id,
            f"{request.payable_kind}Id": request.payable_id,
            "linkId": request.link_id,
            "btrixRef": request.reference,
        }
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.amount.currency.lower(),
                        "unit_amount": request.amount.minor_units,
                        "product_data": {"name": request.title},
                    },
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": request.tenant_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "expires_at": clock.to_epoch(request.expires_at),
            "locale": stripe_locale(request.locale),
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        session = create_checkout_session(self._credentials(request.tenant_id), params, idempotency_key=idempotency_key)
        return Checkout(id=str(session["id"]), url=str(session["url"]))

    def close_checkout(self, tenant_id: str, checkout_id: str) -> bool:
        """``POST /v1/checkout/sessions/<id>/expire``; a completed session cannot be closed (False)."""
        from chalicelib.integrations.stripe.client import expire_checkout_session

        session = expire_checkout_session(self._credentials(tenant_id), checkout_id)
        return session.get("status") != "complete"

    def refund(self, tenant_id: str, provider_payment_id: str, amount: Money, *, refund_id: str) -> ProviderRefund:
        """``POST /v1/refunds`` of the payment intent."""
        from chalicelib.integrations.stripe.client import create_refund

        refund = create_refund(
            self._credentials(tenant_id),
            provider_payment_id,
            amount.minor_units,
            idempotency_key=f"btrix-refund-{refund_id}",
            metadata={"tenantId": tenant_id, "refundId": refund_id},
        )
        return self._refund(refund)

    @staticmethod
    def _refund(refund: Mapping[str, Any]) -> ProviderRefund:
        metadata = refund.get("metadata") or {}
        return ProviderRefund(
            provider_refund_id=str(refund["id"]),
            amount=Money.of_minor(int(refund["amount"]), str(refund["currency"])),
            status=_stripe_refund_status(refund.get("status")),
            reference=metadata.get("refundId"),
        )

    @staticmethod
    def _session_payment(session: Mapping[str, Any], event_type: str) -> ProviderPayment | None:
        intent = session.get("payment_intent")
        if not intent or session.get("mode", "payment") != "payment":
            return None
        if event_type == "checkout.session.async_payment_failed":
            status, detail = "failed", "the payment failed (asynchronous payment method)"
        elif session.get("payment_status") == "paid":
            status, detail = "succeeded", None
        else:
            status, detail = "pending", "the payment is being processed"
        return ProviderPayment(
            provider="stripe",
            provider_payment_id=str(intent),
            status=status,  # type: ignore[arg-type]
            amount=Money.of_minor(int(session.get("amount_total") or 0), str(session.get("currency") or "usd")),
            reference=(session.get("metadata") or {}).get("btrixRef"),
            checkout_id=str(session["id"]),
            detail=detail,
            paid_at=clock.now_iso() if status == "succeeded" else None,
        )

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """Checkout completed / asynchronous payment succeeded or failed → the payment; session expired → the
        checkout closed; ``refund.*`` and ``charge.refunded`` → the refunds (also those made in the dashboard)."""
        event = message.get("event") or {}
        event_type = str(event.get("type") or "")
        obj: Mapping[str, Any] = (event.get("data") or {}).get("object") or {}
        if event_type in (
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
            "checkout.session.async_payment_failed",
        ):
            payment = self._session_payment(obj, event_type)
            return [] if payment is None else [PaymentNotice(payment)]
        if event_type == "checkout.session.expired":
            return [CheckoutClosed(str(obj["id"]), (obj.get("metadata") or {}).get("btrixRef"))]
        if event_type.startswith("refund.") and obj.get("payment_intent"):
            return [RefundNotice(str(obj["payment_intent"]), self._refund(obj))]
        if event_type == "charge.refunded" and obj.get("payment_intent"):
            listed = (obj.get("refunds") or {}).get("data") or []
            return [RefundNotice(str(obj["payment_intent"]), self._refund(r)) for r in listed]
        return []


# --- MercadoPago ------------------------------------------------------------------------------------------------

_MP_SUCCEEDED = frozenset({"approved", "refunded", "charged_back"})
_MP_FAILED = frozenset({"rejected", "cancelled"})


def _mp_time(moment: datetime) -> str:
    # MercadoPago wants ISO 8601 with milliseconds and an offset.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class MercadoPagoGateway:
    """MercadoPago Checkout Pro preferences, refunds, and payment notifications (the payment fetched each time)."""

    provider: PaymentProvider = "mercadopago"

    @staticmethod
    def _credentials(tenant_id: str) -> MercadoPagoCredentials:
        found: MercadoPagoCredentials = _credentials(tenant_id, Provider.MERCADOPAGO)
        return found

    def open_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """A preference for the link's amount that expires with the link and notifies our webhook."""
        from chalicelib.integrations.mercadopago.client import create_preference

        notify = get_settings().mercadopago_notification_url
        if not notify:
            raise DependencyUnavailable(
                detail="the MercadoPago notification URL is not configured (BTRIX_MERCADOPAGO_NOTIFICATION_URL)"
            )
        preference: dict[str, Any] = {
            "items": [
                {
                    "id": request.payable_id,
                    "title": request.title,
                    "quantity": 1,
                    "currency_id": request.amount.currency,
                    "unit_price": request.amount.amount,
                }
            ],
            "back_urls": {
                "success": request.success_url,
                "pending": request.success_url,
                "failure": request.cancel_url,
            },
            "auto_return": "approved",
            "notification_url": f"{notify}?tenant={request.tenant_id}",
            "external_reference": request.reference,
            "metadata": {"tenant_id": request.tenant_id, "link_id": request.link_id},
            "expires": True,
            "expiration_date_from": _mp_time(clock.now()),
            "expiration_date_to": _mp_time(request.expires_at),
        }
        if request.customer_email:
            preference["payer"] = {"email": request.customer_email}
        created = create_preference(self._credentials(request.tenant_id), preference, idempotency_key=idempotency_key)
        return Checkout(id=str(created["id"]), url=str(created["init_point"]))

    def close_checkout(self, tenant_id: str, checkout_id: str) -> bool:
        """``PUT /checkout/preferences/<id>`` with ``expiration_date_to`` now. A preference can be paid more than
        once, so closing it always works (later payments are refunded by the service)."""
        from chalicelib.integrations.mercadopago.client import update_preference

        update_preference(self._credentials(tenant_id), checkout_id, {"expiration_date_to": _mp_time(clock.now())})
        return True

    def refund(self, tenant_id: str, provider_payment_id: str, amount: Money, *, refund_id: str) -> ProviderRefund:
        """``POST /v1/payments/<id>/refunds`` with ``X-Idempotency-Key``."""
        from chalicelib.integrations.mercadopago.client import refund_payment

        refund = refund_payment(
            self._credentials(tenant_id),
            provider_payment_id,
            amount.amount,
            idempotency_key=f"btrix-refund-{refund_id}",
        )
        return self._refund(refund, amount.currency, reference=refund_id)

    @staticmethod
    def _refund(refund: Mapping[str, Any], currency: str, reference: str | None = None) -> ProviderRefund:
        status = str(refund.get("status") or "approved")
        return ProviderRefund(
            provider_refund_id=str(refund["id"]),
            amount=Money.of(Decimal(str(refund["amount"])), currency),
            status="succeeded" if status == "approved" else "failed" if status in _MP_FAILED else "pending",
            reference=reference,
        )

    def fetch_payment(self, tenant_id: str, payment_id: str) -> ProviderPayment:
        """``GET /v1/payments/<id>`` in BTRIX's terms (refunds and chargebacks included)."""
        from chalicelib.integrations.mercadopago.client import get_payment

        found = get_payment(self._credentials(tenant_id), payment_id)
        currency = str(found.get("currency_id") or "BRL")
        amount = Money.of(Decimal(str(found.get("transaction_amount") or 0)), currency)
        raw = str(found.get("status") or "")
        status = "succeeded" if raw in _MP_SUCCEEDED else "failed" if raw in _MP_FAILED else "pending"
        fees = [
            Decimal(str(f.get("amount") or 0))
            for f in found.get("fee_details") or []
            if f.get("fee_payer", "collector") == "collector"
        ]
        refunds = [self._refund(r, currency) for r in found.get("refunds") or []]
        if raw == "charged_back":
            refunds.append(ProviderRefund(f"chargeback-{payment_id}", amount, "succeeded", reference=None))
        return ProviderPayment(
            provider="mercadopago",
            provider_payment_id=str(found["id"]),
            status=status,  # type: ignore[arg-type]
            amount=amount,
            reference=found.get("external_reference"),
            fee=Money.of(sum(fees, Decimal(0)), currency) if fees else None,
            detail=None if status == "succeeded" else f"{raw}: {found.get('status_detail') or ''}".rstrip(": "),
            paid_at=_iso(found.get("date_approved")),
            refunds=tuple(refunds),
        )

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """A ``payment`` notification → the payment as MercadoPago has it now (other topics say nothing to us)."""
        topic = str(message.get("topic") or "")
        data_id = message.get("dataId")
        if topic != "payment" or not data_id:
            return []
        return [PaymentNotice(self.fetch_payment(tenant_id, str(data_id)))]


# --- Pagar.me -------------------------------------------------------------------------------------------------------

# What Pagar.me's hosted checkout offers the customer (card and Pix: both settle at once; boleto would leave a link
# "used" for days). Not confirmed against a live account: see docs/PAGARME.md.
_PAGARME_METHODS = ["credit_card", "pix"]
_PAGARME_PAID = frozenset({"paid", "overpaid", "underpaid"})
_PAGARME_FAILED = frozenset({"failed", "canceled", "not_authorized", "with_error"})
# Events whose subject is an order (fetched: its state is what counts) or a charge's money going back.
PAGARME_ORDER_EVENTS = frozenset({"order.paid", "order.payment_failed", "order.canceled", "order.closed"})
PAGARME_CHARGE_EVENTS = frozenset({"charge.paid", "charge.payment_failed", "charge.pending", "charge.underpaid"})
PAGARME_REFUND_EVENTS = frozenset({"charge.refunded", "charge.partial_canceled"})
# A charge's last transaction when it is a refund, and what that says of the refund.
_PAGARME_REFUND_STATES: dict[str, RefundStatus] = {
    "refunded": "succeeded",
    "partial_refunded": "succeeded",
    "pending_refund": "pending",
    "refund_failed": "failed",
}


class PagarmeGateway:
    """Pagar.me v5 orders paid through its hosted checkout (``payment_method: checkout``), charge refunds, and the
    webhooks of both. A webhook is authenticated by its Basic login (``inbound/pagarme.py``) and then not trusted for
    the payment's state: the order is fetched, as for MercadoPago."""

    provider: PaymentProvider = "pagarme"

    @staticmethod
    def _credentials(tenant_id: str) -> PagarmeCredentials:
        found: PagarmeCredentials = _credentials(tenant_id, Provider.PAGARME)
        return found

    def open_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """An order of one item with a ``checkout`` payment that expires with the link; the order's ``code`` is the
        link id, ``metadata.btrixRef`` the link reference."""
        from chalicelib.integrations.pagarme.client import create_order

        cents = request.amount.minor_units
        minutes = max(1, int((request.expires_at - clock.now()).total_seconds() // 60))
        checkout: dict[str, Any] = {
            "expires_in": minutes,
            "accepted_payment_methods": _PAGARME_METHODS,
            "success_url": request.success_url,
            "skip_checkout_success_page": True,
            "customer_editable": True,
            "billing_address_editable": False,
            "credit_card": {"installments": [{"number": 1, "total": cents}]},
            "pix": {"expires_in": minutes * 60},
        }
        order: dict[str, Any] = {
            "code": request.link_id,
            "items": [{"amount": cents, "description": request.title[:256], "quantity": 1, "code": request.payable_id}],
            "payments": [{"payment_method": "checkout", "amount": cents, "checkout": checkout}],
            "metadata": {
                "tenantId": request.tenant_id,
                f"{request.payable_kind}Id": request.payable_id,
                "linkId": request.link_id,
                "btrixRef": request.reference,
            },
        }
        if request.customer_email:
            order["customer"] = {"email": request.customer_email, "type": "individual"}
        created = create_order(self._credentials(request.tenant_id), order, idempotency_key=idempotency_key)
        checkouts = created.get("checkouts") or []
        if not checkouts or not checkouts[0].get("payment_url"):
            from chalicelib.integrations.http import Failure, ProviderError

            raise ProviderError("Pagar.me answered an order without a checkout", failure=Failure.REJECTED)
        return Checkout(id=str(created["id"]), url=str(checkouts[0]["payment_url"]))

    def close_checkout(self, tenant_id: str, checkout_id: str) -> bool:
        """``PATCH /orders/<id>/closed {status: canceled}`` unless the order is paid already (False then)."""
        from chalicelib.integrations.pagarme.client import close_order, get_order

        credentials = self._credentials(tenant_id)
        if str(get_order(credentials, checkout_id).get("status")) in _PAGARME_PAID:
            return False
        closed = close_order(credentials, checkout_id, "canceled")
        return str(closed.get("status")) not in _PAGARME_PAID

    def refund(self, tenant_id: str, provider_payment_id: str, amount: Money, *, refund_id: str) -> ProviderRefund:
        """``DELETE /charges/<id> {amount}`` with ``Idempotency-Key``: the answer's ``last_transaction`` is the
        refund."""
        from chalicelib.integrations.pagarme.client import cancel_charge

        charge = cancel_charge(
            self._credentials(tenant_id),
            provider_payment_id,
            amount.minor_units,
            idempotency_key=f"btrix-refund-{refund_id}",
        )
        found = self._refund(charge, reference=refund_id)
        if found is None:
            from chalicelib.integrations.http import Failure, ProviderError

            raise ProviderError("Pagar.me answered a refund without its transaction", failure=Failure.REJECTED)
        return found

    @staticmethod
    def _refund(charge: Mapping[str, Any], reference: str | None = None) -> ProviderRefund | None:
        """The refund a charge's ``last_transaction`` is (None when it is not one)."""
        transaction = charge.get("last_transaction") or {}
        status = str(transaction.get("status") or "")
        if not transaction.get("id") or status not in _PAGARME_REFUND_STATES:
            return None
        state = _PAGARME_REFUND_STATES[status]
        currency = str(charge.get("currency") or "BRL")
        return ProviderRefund(
            provider_refund_id=str(transaction["id"]),
            amount=Money.of_minor(int(transaction.get("amount") or 0), currency),
            status=state,
            reference=reference,
        )

    def fetch_order(self, tenant_id: str, order_id: str) -> list[Notice]:
        """``GET /orders/<id>`` in BTRIX's terms: each charge a payment (the charge id is the provider's payment
        id), an order closed without a charge the checkout closed."""
        from chalicelib.integrations.pagarme.client import get_order

        order = get_order(self._credentials(tenant_id), order_id)
        reference = (order.get("metadata") or {}).get("btrixRef")
        charges = order.get("charges") or []
        if not charges:
            closed = str(order.get("status")) in _PAGARME_FAILED
            return [CheckoutClosed(str(order["id"]), reference)] if closed else []
        notices: list[Notice] = []
        for charge in charges:
            raw = str(charge.get("status") or "")
            status = "succeeded" if raw in _PAGARME_PAID else "failed" if raw in _PAGARME_FAILED else "pending"
            currency = str(charge.get("currency") or order.get("currency") or "BRL")
            cents = int(charge.get("paid_amount") or charge.get("amount") or 0)
            notices.append(
                PaymentNotice(
                    ProviderPayment(
                        provider="pagarme",
                        provider_payment_id=str(charge["id"]),
                        status=status,  # type: ignore[arg-type]
                        amount=Money.of_minor(cents, currency),
                        reference=reference,
                        checkout_id=str(order["id"]),
                        detail=None if status == "succeeded" else f"{raw}: charge {charge['id']}",
                        paid_at=_iso(charge.get("paid_at")) if status == "succeeded" else None,
                    )
                )
            )
        return notices

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """``order.*`` and ``charge.*`` payment events → the order as Pagar.me has it now (fetched); a refund event
        → its refund transaction, once the charge is confirmed at Pagar.me (fetched: it exists in this account and
        what it gave back covers the refund)."""
        from chalicelib.integrations.pagarme.client import get_charge

        event = message.get("event") or {}
        event_type = str(event.get("type") or "")
        data: Mapping[str, Any] = event.get("data") or {}
        if event_type in PAGARME_ORDER_EVENTS and data.get("id"):
            return self.fetch_order(tenant_id, str(data["id"]))
        order_id = (data.get("order") or {}).get("id")
        if event_type in PAGARME_CHARGE_EVENTS and order_id:
            return self.fetch_order(tenant_id, str(order_id))
        if event_type in PAGARME_REFUND_EVENTS and data.get("id"):
            reported = self._refund(data)
            if reported is None:
                return []
            charge = get_charge(self._credentials(tenant_id), str(data["id"]))
            if int(charge.get("canceled_amount") or 0) < reported.amount.minor_units:
                logger.warning("a Pagar.me refund the charge does not show", extra={"chargeId": data["id"]})
                return []
            return [RefundNotice(str(charge["id"]), reported)]
        return []


GATEWAYS: dict[PaymentProvider, PaymentGateway] = {
    "stripe": StripeGateway(),
    "mercadopago": MercadoPagoGateway(),
    "pagarme": PagarmeGateway(),
}


def gateway(provider: PaymentProvider) -> PaymentGateway:
    """The adapter of ``provider``."""
    return GATEWAYS[provider]
