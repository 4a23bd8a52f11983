"""MercadoPago behind the payments port: Checkout Pro preferences, refunds, and payment notifications (the payment
fetched each time: a notification only says that something changed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.money import Money
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.mercadopago.credentials import MercadoPagoCredentials
from chalicelib.payments.models import (
    Checkout,
    CheckoutRequest,
    Notice,
    PaymentNotice,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
)
from chalicelib.payments.providers.port import credentials, provider_time

__all__ = ["MercadoPagoGateway"]


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
        found: MercadoPagoCredentials = credentials(tenant_id, Provider.MERCADOPAGO)
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
            paid_at=provider_time(found.get("date_approved")),
            refunds=tuple(refunds),
        )

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """A ``payment`` notification → the payment as MercadoPago has it now (other topics say nothing to us)."""
        topic = str(message.get("topic") or "")
        data_id = message.get("dataId")
        if topic != "payment" or not data_id:
            return []
        return [PaymentNotice(self.fetch_payment(tenant_id, str(data_id)))]
