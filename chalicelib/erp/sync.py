"""BTRIX ↔ ERP (Bling): products, stock, paid orders as sales orders and their NF-e, on the integrations queue.

Each tenant connects an ERP with its settings (``ErpSettings``): ``sourceOfTruth`` says which side owns products and
stock, ``issueNfe`` whether the ERP issues the NF-e of paid orders.

What travels, and how (each domain event reaches the integrations queue by the ``erp`` bus rule; the event's handler
queues one task per connected ERP, ``<provider>.<what>``, whose failures land in that ERP's sync log, are retried
with backoff and then dead-lettered, visible and redrivable):

- ``product.created|updated|deactivated`` → ``<erp>.product``. BTRIX the source of truth: the product is created in
  the ERP (found first by its code, so a retried push or one made before the link existed does not duplicate it)
  or updated there (name, price, active), its id kept as a reference. ERP the source of truth: nothing is pushed; the
  change is logged as a conflict (``operation: conflict``).
- ``inventory.movement_recorded`` → ``<erp>.stock``. BTRIX the source of truth: the ERP's physical stock of the
  product is **set** to BTRIX's on-hand units (a balance, not a delta: a retried, duplicated or out-of-order push
  sets the same count). ERP the source of truth: a movement a person recorded is logged as a conflict (the next
  pull sets the count back to the ERP's); the pull's own adjustments are not.
- ``order.updated`` reaching ``paymentStatus: paid`` → ``<erp>.order`` (once per order: its task key is the order):
  a sales order (``numeroLoja`` ``BTRIX-<number>``, looked up before it is made again after a crash), lines linked to
  the ERP's products, the customer as an ERP contact (once). With ``issueNfe``, the ERP is asked for the order's NF-e
  and ``<erp>.nfe`` waits (retrying with the queue's backoff) until SEFAZ authorized it: its number, access key and
  PDF link are kept on the order (``fiscalDocument``); a rejected one fails the job (sync log, DLQ).
- The schedule (every 15 minutes, and ``POST /integrations/bling/sync``) → ``<erp>.sync``, the stock pull: with the
  ERP as source of truth, the ERP's products are first linked to BTRIX's by code; then, for every linked product,
  the ERP's physical units against BTRIX's on hand. ERP the source of truth: BTRIX's count is adjusted to the ERP's
  (a stock take of the integrations actor), or, when fewer units than BTRIX has reserved for orders, a conflict is
  logged. BTRIX the source of truth: a difference is logged as a conflict, never overwritten either way.
- Bling's stock webhook (``bling:stock.*``, verified and recorded once by ``inbound/bling.py``): the same comparison
  for the one product, its count read back from Bling; a difference BTRIX owns gets a second look after the queue's
  backoff (Bling also tells of our own pushes, and a later one may be on its way) before it is logged.
- A privacy erasure asks each ERP that got the customer as a contact to anonymise it (``erase_contact``).

This module fans the events out and registers every task; the tasks are ``erp/products.py`` (products and stock)
and ``erp/orders.py`` (sales orders, NF-e, contacts), over ``erp/tasks.py``; each ERP's words are its adapter's.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.erp.adapters import ERP_PROVIDERS
from chalicelib.erp.orders import erase_contact, erps_holding, push_order, wait_for_nfe
from chalicelib.erp.products import (
    PULL_SLOT_S,
    bling_stock_changed,
    pull_stock,
    push_product,
    push_stock,
    queue_stock_pulls,
)
from chalicelib.erp.tasks import CONFLICT, connected_erps, erp_name, job_provider, task
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import ProviderError
from chalicelib.integrations.service import mark_disconnected

__all__ = [
    "CONFLICT",
    "PULL_SLOT_S",
    "bling_stock_changed",
    "erase_contact",
    "erps_holding",
    "pull_stock",
    "push_order",
    "push_product",
    "push_stock",
    "queue_stock_pulls",
    "wait_for_nfe",
]


# --- the events' fan-out ----------------------------------------------------------------------------------------------


def _subject(job: jobs.Job) -> str:
    return str((job.body.get("detail") or {}).get("subject") or "")


def on_product(job: jobs.Job) -> str | None:
    """``event:product.*``: one ``<erp>.product`` task per connected ERP."""
    product_id = _subject(job)
    for provider in connected_erps(job.tenant_id) if product_id else ():
        jobs.enqueue_task(task(provider, "product"), job.tenant_id, {"productId": product_id}, key=job.key)
    return None


def on_movement(job: jobs.Job) -> str | None:
    """``event:inventory.movement_recorded``: one ``<erp>.stock`` task per connected ERP."""
    data = {"productId": job.data.get("productId"), "movementId": job.data.get("movementId")}
    for provider in connected_erps(job.tenant_id) if data["productId"] else ():
        jobs.enqueue_task(task(provider, "stock"), job.tenant_id, data, key=job.key)
    return None


def on_order(job: jobs.Job) -> str | None:
    """``event:order.updated`` with ``paymentStatus: paid``: one ``<erp>.order`` task per connected ERP, once per
    order (a repeated or late paid event is the same task)."""
    order_id = _subject(job)
    if job.data.get("paymentStatus") != "paid" or not order_id:
        return None
    for provider in connected_erps(job.tenant_id):
        jobs.enqueue_task(task(provider, "order"), job.tenant_id, {"orderId": order_id}, key=f"order-{order_id}")
    return None


def _disconnecting(handler: jobs.JobHandler) -> jobs.JobHandler:
    """``handler``, where the ERP refusing the credentials for good (a fatal ``ProviderError``: Tiny's revoked token,
    Bling's app without a scope; a dead Bling refresh token is the token keeper's) disconnects the integration and
    tells the tenant's ADMINs before the job fails."""

    def run(job: jobs.Job) -> str | None:
        try:
            return handler(job)
        except ProviderError as exc:
            if exc.fatal:
                provider = job_provider(job)
                mark_disconnected(
                    job.tenant_id, provider, f"{erp_name(provider)} refused the credentials: {exc.detail}"
                )
            raise

    return run


def _register(providers: Sequence[Provider]) -> None:
    jobs.register(jobs.event_kind("product.created"), on_product, operation="erp_fanout")
    jobs.register(jobs.event_kind("product.updated"), on_product, operation="erp_fanout")
    jobs.register(jobs.event_kind("product.deactivated"), on_product, operation="erp_fanout")
    jobs.register(jobs.event_kind("inventory.movement_recorded"), on_movement, operation="erp_fanout")
    jobs.register(jobs.event_kind("order.updated"), on_order, operation="erp_fanout")
    tasks = (
        ("product", push_product, "product"),
        ("stock", push_stock, "stock_push"),
        ("order", push_order, "sales_order"),
        ("nfe", wait_for_nfe, "nfe"),
        ("sync", pull_stock, "stock_pull"),
    )
    for provider in providers:
        for what, handler, operation in tasks:
            kind = jobs.task_kind(task(provider, what))
            jobs.register(kind, _disconnecting(handler), provider=provider, operation=operation)
    # Bling's webhooks (recorded once by ``inbound/bling.py``): only its stock events are enqueued.
    jobs.register(
        jobs.provider_kind(Provider.BLING.value),
        _disconnecting(bling_stock_changed),
        provider=Provider.BLING,
        operation="stock_webhook",
    )


_register(ERP_PROVIDERS)
