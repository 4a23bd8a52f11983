"""ERP sales orders: a paid order as the ERP's sales order (once), its NF-e asked for and awaited until SEFAZ
authorizes it (kept on the order), and a privacy erasure's anonymised contact at each ERP that got the customer.
"""

from __future__ import annotations

from chalicelib.catalog import service as catalog
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.customers.service import find_customer
from chalicelib.erp.adapters import CONTACT, ErpAccount, open_account
from chalicelib.erp.products import link_product, pushed_product
from chalicelib.erp.tasks import connected_erps, erp_name, job_account, job_provider, task
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.references import find_ref, keep_ref
from chalicelib.orders.models import FiscalDocument, Order, OrderLine
from chalicelib.orders.service import find_order, record_fiscal_document

__all__ = ["erase_contact", "erps_holding", "push_order", "wait_for_nfe"]

_ORDER = "order"
_NFE = "nfe"


def _lines(account: ErpAccount, tenant_id: str, order: Order) -> list[tuple[OrderLine, str | None]]:
    lines: list[tuple[OrderLine, str | None]] = []
    for line in order.items:
        # A platform's line that matched no product (kept as text) goes to the ERP by its name alone.
        product = catalog.find_product(tenant_id, line.product_id) if line.product_id else None
        remote = None
        if product is not None:
            remote = link_product(account, tenant_id, product)
            if remote is None and account.settings.source_of_truth == "btrix":
                remote = pushed_product(account, tenant_id, product)[0]
        lines.append((line, remote))
    return lines


def _sales_order(account: ErpAccount, job: jobs.Job, order: Order) -> tuple[str, bool]:
    kept = find_ref(job.tenant_id, account.provider, _ORDER, order.id)
    if kept is not None:
        return kept, False
    found = account.find_sales_order(order) if job.previous_attempts else None
    if found is None:
        customer = find_customer(job.tenant_id, order.customer_id) if order.customer_id else None
        found = account.create_sales_order(order, _lines(account, job.tenant_id, order), customer)
    return keep_ref(job.tenant_id, account.provider, _ORDER, order.id, found), True


def push_order(job: jobs.Job) -> str | None:
    """``task:<erp>.order``: the paid order as the ERP's sales order (once), and its NF-e asked for."""
    account = job_account(job)
    order = find_order(job.tenant_id, str(job.data.get("orderId")))
    if account is None or order is None or order.payment_status != "paid":
        return None
    remote, created = _sales_order(account, job, order)
    said = f"sales order {remote} for order #{order.number}" + ("" if created else " (already there)")
    if not account.settings.issue_nfe or order.fiscal_document is not None:
        return said
    nfe = find_ref(job.tenant_id, account.provider, _NFE, order.id)
    if nfe is None:
        nfe = keep_ref(job.tenant_id, account.provider, _NFE, order.id, account.request_nfe(remote))
    jobs.enqueue_task(
        task(account.provider, "nfe"),
        job.tenant_id,
        {"orderId": order.id},
        key=f"nfe-{order.id}",
        # SEFAZ answers in seconds to minutes: the first look after one retry base (30 s by default).
        delay_s=int(min(get_settings().integration_retry_base_s, 900)),
    )
    return f"{said}; NF-e {nfe} requested"


def wait_for_nfe(job: jobs.Job) -> str | None:
    """``task:<erp>.nfe``: the order's NF-e once SEFAZ authorized it, kept on the order; retried while on its way, a
    refused one fails the job."""
    account = job_account(job)
    order_id = str(job.data.get("orderId"))
    nfe_id = find_ref(job.tenant_id, job_provider(job), _NFE, order_id)
    order = find_order(job.tenant_id, order_id)
    if account is None or nfe_id is None or order is None or order.fiscal_document is not None:
        return None
    state = account.nfe(nfe_id)
    if state.refused:
        raise jobs.JobFailed(f"the NF-e {nfe_id} of order #{order.number} was refused (situation {state.status})")
    if not state.authorized or not state.number or not state.key:
        raise jobs.RetryJob(f"the NF-e {nfe_id} of order #{order.number} is not authorized yet")
    document = FiscalDocument(
        provider=account.provider.value,
        number=state.number,
        key=state.key,
        pdf_url=state.pdf_url,
        issued_at=clock.now_iso(),
    )
    record_fiscal_document(job.tenant_id, order_id, document)
    return f"NF-e {state.number} of order #{order.number} authorized ({state.key})"


# --- privacy ----------------------------------------------------------------------------------------------------------


def erps_holding(tenant_id: str, customer_id: str) -> list[Provider]:
    """The connected ERPs that got the customer as a contact (with a paid order of theirs)."""
    return [p for p in connected_erps(tenant_id) if find_ref(tenant_id, p, CONTACT, customer_id) is not None]


def erase_contact(tenant_id: str, provider: Provider, customer_id: str, pseudonym: str) -> int:
    """The customer's contact at the ERP anonymised (a privacy erasure; the sales orders and NF-e stay, as the law
    keeps them); how many contacts changed. ``JobFailed`` when the ERP is no longer connected."""
    account = open_account(tenant_id, provider)
    if account is None:
        raise jobs.JobFailed(f"{erp_name(provider)} is no longer connected")
    return account.erase_contact(customer_id, pseudonym)
