"""Billy.dk invoices of sales: a sale reaching its completed status is invoiced, and its invoice polled until paid.

The sale flow's on-enter action ``create_invoice`` (COMPLETED in the Tekup flow; the integrations queue, kind
``workflow:create_invoice:sale``) makes, for a tenant connected to Billy:

- the customer's Billy contact, once: its id is kept on the customer (``billyContactId``), and its ``contactNo`` is
  our customer id, so a run that crashed after Billy made it finds it instead of making another;
- the service's Billy product, once (a reference of the integration: our service id → Billy's product id);
- an approved invoice of one line: the sale's amount before tax (base - discount) at the company's sales tax rate
  equal to the sale's rate, so Billy's tax is the sale's; dated the day the sale closed in the tenant's time zone,
  due in 14 days. Its message names the sale number, so a run that crashed after Billy made it finds it.

The sale then keeps ``billyInvoiceId`` and ``paymentStatus: pending`` (``sale.invoiced``). A sale already invoiced,
deleted since, or of a tenant without Billy is left as it is. A rate Billy has no sales tax rate for is the
tenant's to fix: the job fails at once (the DLQ, the integration's sync log), and a redrive runs it again.

Billy sends no payment webhook: every 15 minutes (``queue_payment_polls``, the app's schedule) each tenant connected
to Billy gets a ``billy.sync`` task, once per 15-minute slot. It lists the company's unpaid invoices, and each sale
still pending whose invoice is no longer among them is read once more from Billy (``isPaid``) and marked paid
(``sale.paid``, ``paidAt`` the invoice's paid date). Outages are retried with backoff, then the DLQ.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chalicelib.catalog.service import load_product
from chalicelib.core import clock
from chalicelib.core.errors import NotFound
from chalicelib.core.pagination import PageParams
from chalicelib.customers.models import CustomerRecord
from chalicelib.customers.service import link_billy_contact
from chalicelib.integrations import jobs
from chalicelib.integrations.billy import client as billy
from chalicelib.integrations.billy.credentials import BillyCredentials
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.service import find_credentials, find_ref, keep_ref
from chalicelib.sales.models import Sale
from chalicelib.sales.service import ENTITY_TYPE, list_pending_payments, load_sale, mark_paid, record_invoice
from chalicelib.tenants.service import load_tenant

__all__ = ["PAYMENT_TERMS_DAYS", "SYNC_TASK", "create_invoice", "queue_payment_polls", "sync_payments"]

SYNC_TASK = "billy.sync"
PAYMENT_TERMS_DAYS = 14
_PRODUCT = "product"
_POLL_SLOT_S = 15 * 60
_PAGE = 100


def _company(tenant_id: str) -> billy.Billy | None:
    credentials = find_credentials(tenant_id, Provider.BILLY)
    return billy.connect(credentials) if isinstance(credentials, BillyCredentials) else None


def _contact(company: billy.Billy, sale: Sale, country: str) -> str:
    def create(customer: CustomerRecord) -> str:
        found = billy.find_contact(company, customer.id)
        if found is not None:
            return found
        return billy.create_contact(
            company,
            name=customer.name,
            contact_no=customer.id,
            country=country,
            email=customer.email,
            phone=customer.phone,
        )

    return link_billy_contact(sale.tenant_id, sale.customer_id, create)


def _product(company: billy.Billy, sale: Sale) -> str:
    kept = find_ref(sale.tenant_id, Provider.BILLY, _PRODUCT, sale.service_id)
    if kept is not None:
        return kept
    service = load_product(sale.tenant_id, sale.service_id)
    created = billy.create_product(
        company,
        name=service.name,
        product_no=service.code,
        unit_price=service.price.amount,
        currency=service.price.currency,
    )
    return keep_ref(sale.tenant_id, Provider.BILLY, _PRODUCT, sale.service_id, created)


def _entry_date(sale: Sale, time_zone: str) -> str:
    moment = datetime.fromisoformat(sale.closed_at) if sale.closed_at else clock.now()
    return moment.astimezone(ZoneInfo(time_zone)).date().isoformat()


def create_invoice(job: jobs.Job) -> str | None:
    """``workflow:create_invoice:sale``: the sale's approved Billy invoice (once), its id kept on the sale."""
    tenant_id = job.tenant_id
    try:
        sale = load_sale(tenant_id, str(job.body["entityId"]))
    except NotFound:
        return None  # deleted since it completed: nothing to invoice
    if sale.billy_invoice_id is not None:
        return None
    company = _company(tenant_id)
    if company is None:
        return None  # the tenant does not invoice with Billy
    tenant = load_tenant(tenant_id)
    rate = sale.amounts.tax_rate
    tax_rate_id = billy.sales_tax_rate(company, rate) if rate else None
    if rate and tax_rate_id is None:
        raise jobs.JobFailed(f"Billy has no active sales tax rate of {rate} % (sale {sale.number})")
    contact = _contact(company, sale, tenant.country)
    product = _product(company, sale)
    invoice = billy.find_invoice(company, contact, sale.number) if job.previous_attempts else None
    if invoice is None:
        net = sale.amounts.base.amount - sale.amounts.discount.amount
        line = billy.InvoiceLine(product, f"{sale.service_name} ({sale.number})", Decimal(1), net, tax_rate_id)
        invoice = billy.create_invoice(
            company,
            contact_id=contact,
            entry_date=_entry_date(sale, tenant.time_zone),
            currency=sale.amounts.final.currency,
            lines=[line],
            contact_message=f"{sale.number}: {sale.service_name}",
            payment_terms_days=PAYMENT_TERMS_DAYS,
        )
    record_invoice(tenant_id, sale.id, invoice.id)
    total = (invoice.amount or Decimal(0)) + (invoice.tax or Decimal(0))
    return f"invoice {invoice.invoice_no or invoice.id} for {sale.number}: {total} {invoice.currency or ''}".strip()


def queue_payment_polls() -> int:
    """The 15-minute schedule: one ``billy.sync`` task per tenant connected to Billy (once per slot); returns how
    many were queued."""
    return jobs.queue_per_tenant(SYNC_TASK, Provider.BILLY, slot_s=_POLL_SLOT_S)


def _paid_at(paid_date: str | None) -> str:
    if not paid_date:
        return clock.now_iso()
    day = date.fromisoformat(paid_date[:10])
    return clock.isoformat(datetime(day.year, day.month, day.day, tzinfo=clock.now().tzinfo))


def sync_payments(job: jobs.Job) -> str | None:
    """``task:billy.sync``: the tenant's sales awaiting payment whose Billy invoice was paid are marked paid."""
    company = _company(job.tenant_id)
    if company is None:
        return None  # disconnected since the task was queued
    unpaid = billy.unpaid_invoices(company)
    paid: list[str] = []
    checked = 0
    params = PageParams(limit=_PAGE)
    while True:
        page = list_pending_payments(job.tenant_id, params)
        for sale in page.items:
            checked += 1
            if sale.billy_invoice_id is None or sale.billy_invoice_id in unpaid:
                continue
            invoice = billy.get_invoice(company, sale.billy_invoice_id)
            if invoice.is_paid:
                mark_paid(job.tenant_id, sale.id, _paid_at(invoice.paid_date))
                paid.append(sale.number)
        if page.next_cursor is None:
            break
        params = PageParams(limit=_PAGE, cursor=page.next_cursor)
    if not paid:
        return None
    return f"{len(paid)} of {checked} pending invoices paid: {', '.join(paid[:20])}" + (" …" if len(paid) > 20 else "")


jobs.register(
    jobs.workflow_kind("create_invoice", ENTITY_TYPE), create_invoice, provider=Provider.BILLY, operation="invoice"
)
jobs.register(jobs.task_kind(SYNC_TASK), sync_payments, provider=Provider.BILLY, operation="payment_sync")
