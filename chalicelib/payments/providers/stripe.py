"""Stripe behind the payments port: Checkout Sessions (``mode=payment``), refunds, and the events of both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core import clock
from chalicelib.core.money import Money
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.stripe.credentials import StripeCredentials
from chalicelib.payments.models import (
    Checkout,
    CheckoutClosed,
    CheckoutRequest,
    Notice,
    PaymentNotice,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
    RefundNotice,
    RefundStatus,
)
from chalicelib.payments.providers.port import credentials

__all__ = ["StripeGateway", "stripe_locale"]


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
        found: StripeCredentials = credentials(tenant_id, Provider.STRIPE)
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
