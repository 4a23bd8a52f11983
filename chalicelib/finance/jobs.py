"""Income that finance records by itself: ``payment.succeeded`` (a customer paid an order or a sale through a
payment link) and ``sale.paid`` (a sale's invoice was paid; a sale paid through a link is its payment's income),
routed to the integrations queue by the ``finance`` bus rule and run here once per event (the queue's job claim),
each recorded once per payment or sale (``service.record_income``'s unique claim), so a redelivered or replayed
event adds nothing."""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.money import Money
from chalicelib.finance import service
from chalicelib.integrations import jobs

__all__ = ["income_from_payment", "income_from_sale", "register_handlers"]


def _day(moment: object) -> str:
    return str(moment)[:10] if moment else clock.now().date().isoformat()


def income_from_payment(job: jobs.Job) -> str | None:
    """A payment of an order or a sale → an income of the account that receives payments (not for a duplicate
    payment, which BTRIX refunds)."""
    data = job.data
    if data.get("duplicateOf"):
        return None
    subject = (job.body.get("detail") or {}).get("subject")
    key = f"payment:{data['provider']}:{data['providerPaymentId']}"
    recorded = service.record_income(
        job.tenant_id,
        "payment",
        key,
        Money.model_validate(data["amount"]),
        _day(data.get("paidAt")),
        f"Pagamento {data['provider']} do pedido {data['orderId']}"
        if data.get("orderId")
        else f"Pagamento {data['provider']} da venda {data.get('saleId')}",
        {"orderId": data.get("orderId"), "saleId": data.get("saleId"), "paymentId": str(subject) if subject else None},
    )
    return f"income {recorded.code} recorded" if recorded else None


def income_from_sale(job: jobs.Job) -> str | None:
    """A paid sale → an income of the account that receives payments, once per sale; a sale paid through a payment
    link (``paymentId``) was recorded from its ``payment.succeeded``."""
    if job.data.get("paymentId"):
        return None
    sale = job.data["sale"]
    sale_id = str((job.body.get("detail") or {}).get("subject") or "")
    if not sale_id:
        raise jobs.JobFailed("sale.paid without the sale's id")
    recorded = service.record_income(
        job.tenant_id,
        "sale",
        f"sale:{sale_id}",
        Money.model_validate(sale["amount"]),
        _day(sale.get("closedAt")),
        f"Venda {sale['number']} paga",
        {"saleId": sale_id},
    )
    return f"income {recorded.code} recorded" if recorded else None


def register_handlers() -> None:
    """Register the finance handlers on the integrations queue (app.py, at import)."""
    jobs.register(jobs.event_kind("payment.succeeded"), income_from_payment, operation="finance_income")
    jobs.register(jobs.event_kind("sale.paid"), income_from_sale, operation="finance_income")
