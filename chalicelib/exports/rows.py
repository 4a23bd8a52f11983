"""The CSV of each export kind: its columns and how an item becomes a row.

Text a person typed is escaped against CSV (formula) injection: a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading ``'``, so a spreadsheet shows it instead of running it (OWASP). Values
BTRIX formats itself (ids, amounts, E.164 phones, timestamps) are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from chalicelib.customers.models import Customer
from chalicelib.exports.models import ExportKind
from chalicelib.finance.models import FinanceTransaction
from chalicelib.leads.models import Lead
from chalicelib.sales.models import Sale

__all__ = ["COLUMNS", "csv_lines", "row_of"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return f"'{value}" if value.startswith(_FORMULA) else value


def _sale(sale: Sale) -> list[Any]:
    amounts, origin = sale.amounts, sale.origin
    return [
        sale.number,
        sale.id,
        sale.status,
        sale.created_at,
        sale.customer_id,
        sale.service_id,
        _text(sale.service_name),
        sale.assigned_to,
        sale.source,
        sale.scheduled_at or "",
        format(amounts.base.amount, "f"),
        format(amounts.discount.amount, "f"),
        format(amounts.tax_rate, "f"),
        format(amounts.tax.amount, "f"),
        format(amounts.final.amount, "f"),
        amounts.final.currency,
        sale.payment_status,
        sale.billy_invoice_id or "",
        sale.closed_at or "",
        sale.outcome or "",
        (origin.lead_id if origin else None) or "",
        (origin.conversation_id if origin else None) or "",
        _text(sale.notes),
    ]


def _lead(lead: Lead) -> list[Any]:
    value = lead.estimated_value
    return [
        lead.id,
        lead.status,
        lead.created_at,
        _text(lead.contact_name),
        _text(lead.contact_email),
        lead.contact_phone or "",
        lead.interest_service_id or "",
        _text(lead.interest_service_name),
        format(value.amount, "f") if value else "",
        value.currency if value else "",
        lead.source,
        lead.owner_id or "",
        lead.follow_up_at or "",
        lead.customer_id or "",
        lead.converted_sale_id or "",
        lead.closed_at or "",
        (lead.origin.conversation_id if lead.origin else None) or "",
        _text(lead.notes),
    ]


def _customer(customer: Customer) -> list[Any]:
    return [
        customer.id,
        _text(customer.name),
        _text(customer.email),
        customer.phone or "",
        _text(";".join(customer.tags)),
        customer.stats.orders_count,
        format(customer.stats.total_spent.amount, "f"),
        customer.stats.total_spent.currency,
        customer.created_at,
    ]


def _finance_transaction(transaction: FinanceTransaction) -> list[Any]:
    return [
        transaction.code,
        transaction.id,
        transaction.date,
        transaction.type,
        format(transaction.amount.amount, "f"),
        transaction.amount.currency,
        _text(transaction.category),
        transaction.account_id,
        transaction.source,
        _text(transaction.description),
        transaction.transfer_id or "",
        transaction.order_id or "",
        transaction.sale_id or "",
        transaction.payment_id or "",
        transaction.payout_id or "",
        transaction.created_at,
    ]


COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    "sales": (
        "number", "id", "status", "createdAt", "customerId", "serviceId", "serviceName", "assignedTo", "source",
        "scheduledAt", "baseAmount", "discount", "taxRate", "tax", "finalAmount", "currency", "paymentStatus",
        "billyInvoiceId", "closedAt", "outcome", "leadId", "conversationId", "notes",
    ),
    "leads": (
        "id", "status", "createdAt", "contactName", "contactEmail", "contactPhone", "interestServiceId",
        "interestServiceName", "estimatedValue", "currency", "source", "ownerId", "followUpAt", "customerId",
        "convertedSaleId", "closedAt", "conversationId", "notes",
    ),
    "customers": (
        "id", "name", "email", "phone", "tags", "ordersCount", "totalSpent", "currency", "createdAt",
    ),
    "finance_transactions": (
        "code", "id", "date", "type", "amount", "currency", "category", "accountId", "source", "description",
        "transferId", "orderId", "saleId", "paymentId", "payoutId", "createdAt",
    ),
}  # fmt: skip

_ROWS: dict[ExportKind, Callable[[Any], list[Any]]] = {
    "sales": _sale,
    "leads": _lead,
    "customers": _customer,
    "finance_transactions": _finance_transaction,
}


def row_of(kind: ExportKind, item: BaseModel) -> list[Any]:
    """The CSV row of one exported item."""
    return _ROWS[kind](item)


def csv_lines(rows: Sequence[Sequence[Any]]) -> bytes:
    """``rows`` as CSV (RFC 4180: CRLF, quoted when needed), UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()
