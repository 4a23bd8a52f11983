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

One responsibility: what travels between BTRIX and a tenant's ERP, and when (each ERP's words are its adapter's).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from chalicelib.catalog import service as catalog
from chalicelib.catalog.models import Product, ProductListQuery
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError, InvalidInput, NotFound
from chalicelib.customers.service import find_customer
from chalicelib.erp.adapters import CONTACT, ERP_PROVIDERS, BlingAccount, ErpAccount, open_account
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.service import (
    PROVIDER_NAMES,
    SYSTEM_ACTOR_ID,
    find_credentials,
    find_ref,
    keep_ref,
    list_refs,
    mark_disconnected,
    record_sync,
    system_actor,
)
from chalicelib.inventory import service as inventory
from chalicelib.inventory.models import MovementListQuery, MovementRequest
from chalicelib.orders.models import FiscalDocument, Order, OrderLine
from chalicelib.orders.service import find_order, record_fiscal_document

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

CONFLICT = "conflict"
PULL_SLOT_S = 15 * 60
_PRODUCT = "product"
_ORDER = "order"
_NFE = "nfe"
_BATCH = 100
_MAX_PRODUCT_PAGES = 50
_SHOWN_CONFLICTS = 10


def _task(provider: Provider, what: str) -> str:
    return f"{provider.value}.{what}"


def _provider(job: jobs.Job) -> Provider:
    # task:<erp>.<what>, or <erp>:<event> (a provider's webhook)
    return Provider(job.kind.removeprefix("task:").partition(".")[0].partition(":")[0])


def _name(provider: Provider) -> str:
    return PROVIDER_NAMES[provider]


def _conflict(tenant_id: str, provider: Provider, message: str) -> None:
    record_sync(tenant_id, provider, CONFLICT, ok=False, error=message)


def _connected(tenant_id: str) -> list[Provider]:
    return [p for p in ERP_PROVIDERS if find_credentials(tenant_id, p) is not None]


def _account(job: jobs.Job) -> ErpAccount | None:
    return open_account(job.tenant_id, _provider(job))


# --- the events' fan-out --------------------------------------------------------------------------------------------


def _subject(job: jobs.Job) -> str:
    return str((job.body.get("detail") or {}).get("subject") or "")


def on_product(job: jobs.Job) -> str | None:
    """``event:product.*``: one ``<erp>.product`` task per connected ERP."""
    product_id = _subject(job)
    for provider in _connected(job.tenant_id) if product_id else ():
        jobs.enqueue_task(_task(provider, "product"), job.tenant_id, {"productId": product_id}, key=job.key)
    return None


def on_movement(job: jobs.Job) -> str | None:
    """``event:inventory.movement_recorded``: one ``<erp>.stock`` task per connected ERP."""
    data = {"productId": job.data.get("productId"), "movementId": job.data.get("movementId")}
    for provider in _connected(job.tenant_id) if data["productId"] else ():
        jobs.enqueue_task(_task(provider, "stock"), job.tenant_id, data, key=job.key)
    return None


def on_order(job: jobs.Job) -> str | None:
    """``event:order.updated`` with ``paymentStatus: paid``: one ``<erp>.order`` task per connected ERP, once per
    order (a repeated or late paid event is the same task)."""
    order_id = _subject(job)
    if job.data.get("paymentStatus") != "paid" or not order_id:
        return None
    for provider in _connected(job.tenant_id):
        jobs.enqueue_task(_task(provider, "order"), job.tenant_id, {"orderId": order_id}, key=f"order-{order_id}")
    return None


# --- products -------------------------------------------------------------------------------------------------------


def _link(account: ErpAccount, tenant_id: str, product: Product) -> str | None:
    kept = find_ref(tenant_id, account.provider, _PRODUCT, product.id)
    if kept is not None:
        return kept
    found = account.find_product(product.code)
    return None if found is None else keep_ref(tenant_id, account.provider, _PRODUCT, product.id, found)


def _pushed(account: ErpAccount, tenant_id: str, product: Product) -> tuple[str, bool]:
    """The product at the ERP, created or brought up to date; (its id, whether it was created). A creation the ERP
    refuses because another job made the product meanwhile (its code is taken) links that one and updates it."""
    remote = _link(account, tenant_id, product)
    if remote is not None:
        return account.save_product(remote, product), False
    try:
        created = account.save_product(None, product)
    except ProviderError as exc:
        found = account.find_product(product.code) if exc.failure is Failure.REJECTED else None
        if found is None:
            raise
        keep_ref(tenant_id, account.provider, _PRODUCT, product.id, found)
        return account.save_product(found, product), False
    return keep_ref(tenant_id, account.provider, _PRODUCT, product.id, created), True


def push_product(job: jobs.Job) -> str | None:
    """``task:<erp>.product``: the product created or updated at the ERP (BTRIX the source of truth), or the change
    logged as a conflict (the ERP the source of truth)."""
    account = _account(job)
    product = catalog.find_product(job.tenant_id, str(job.data.get("productId")))
    if account is None or product is None:
        return None  # disconnected, or the product is gone
    if account.settings.source_of_truth == "erp":
        _conflict(
            job.tenant_id,
            account.provider,
            f"product {product.code} changed in BTRIX; {_name(account.provider)} is the source of truth for "
            "products: not pushed",
        )
        return None
    remote, created = _pushed(account, job.tenant_id, product)
    return f"product {product.code} {'created' if created else 'updated'} ({remote})"


# --- stock ----------------------------------------------------------------------------------------------------------


def _movement_actor(tenant_id: str, product_id: str, movement_id: str) -> str | None:
    page = inventory.list_movements(system_actor(tenant_id), product_id, MovementListQuery(limit=20))
    return next((m.actor_id for m in page.items if m.id == movement_id), None)


def push_stock(job: jobs.Job) -> str | None:
    """``task:<erp>.stock``: the ERP's stock of the product set to BTRIX's on-hand units (BTRIX the source of
    truth), or a person's movement logged as a conflict (the ERP the source of truth)."""
    account = _account(job)
    product_id, movement_id = str(job.data.get("productId")), str(job.data.get("movementId"))
    product = catalog.find_product(job.tenant_id, product_id)
    if account is None or product is None:
        return None
    if account.settings.source_of_truth == "erp":
        if _movement_actor(job.tenant_id, product_id, movement_id) not in (SYSTEM_ACTOR_ID, None):
            _conflict(
                job.tenant_id,
                account.provider,
                f"stock of {product.code} moved in BTRIX; {_name(account.provider)} is the source of truth for "
                "stock: not pushed (the next sync sets BTRIX to its count)",
            )
        return None
    remote = _link(account, job.tenant_id, product) or _pushed(account, job.tenant_id, product)[0]
    units = inventory.get_stock(system_actor(job.tenant_id), product_id).on_hand
    account.set_stock(remote, units, f"BTRIX movement {movement_id}")
    return f"stock of {product.code} set to {units}"


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _link_by_code(account: ErpAccount, tenant_id: str) -> int:
    """The ERP's products whose code is a BTRIX product's, linked (the ERP the source of truth)."""
    linked = 0
    actor = system_actor(tenant_id)
    for page in range(1, _MAX_PRODUCT_PAGES + 1):
        found = account.products(page)
        for remote in found:
            try:
                matches = catalog.list_products(actor, ProductListQuery(code=remote.code)).items if remote.code else []
            except InvalidInput:
                continue  # not a BTRIX code
            if matches and find_ref(tenant_id, account.provider, _PRODUCT, matches[0].id) is None:
                keep_ref(tenant_id, account.provider, _PRODUCT, matches[0].id, remote.id)
                linked += 1
        if len(found) < _BATCH:
            break
    return linked


def _apply_count(tenant_id: str, product_id: str, code: str, units: int, provider: Provider) -> str | None:
    """BTRIX's count set to the ERP's; the conflict when it cannot be (fewer than the reserved units)."""
    request = MovementRequest(type="adjust", quantity=units, reason=f"{_name(provider)} stock sync")
    try:
        inventory.record_movement(system_actor(tenant_id), product_id, request, None)
    except (InvalidInput, NotFound) as exc:
        return f"{code}: {_name(provider)} has {units}, BTRIX cannot follow ({exc.detail})"
    return None


@dataclass(frozen=True)
class _Count:
    """One linked product's ERP count against BTRIX's: whether it was compared, the adjustment made, the conflict."""

    checked: bool = False
    adjusted: str | None = None
    conflict: str | None = None


def _reconcile(account: ErpAccount, tenant_id: str, product_id: str, units: Decimal | None) -> _Count:
    """The ERP's ``units`` of a linked product against BTRIX's on hand: BTRIX adjusted (the ERP the source of truth)
    or the difference a conflict (BTRIX the source of truth, or fewer units than BTRIX has reserved)."""
    provider = account.provider
    try:
        level = inventory.get_stock(system_actor(tenant_id), product_id)
    except AppError:
        return _Count()  # a service (no stock) or a product deleted since
    if units is None or units == level.on_hand:
        return _Count(checked=True)
    erp_units = int(units.to_integral_value()) if units >= 0 else 0
    if account.settings.source_of_truth != "erp":
        return _Count(True, conflict=f"{level.code}: BTRIX {level.on_hand}, {_name(provider)} {units}")
    refused = _apply_count(tenant_id, product_id, level.code, erp_units, provider)
    if refused is not None:
        return _Count(True, conflict=refused)
    return _Count(True, adjusted=f"{level.code} {level.on_hand}→{erp_units}")


def _log_conflicts(tenant_id: str, provider: Provider, conflicts: Sequence[str]) -> None:
    if conflicts:
        shown = "; ".join(conflicts[:_SHOWN_CONFLICTS]) + (" …" if len(conflicts) > _SHOWN_CONFLICTS else "")
        _conflict(tenant_id, provider, f"stock differs for {len(conflicts)} products (not overwritten): {shown}")


def pull_stock(job: jobs.Job) -> str | None:
    """``task:<erp>.sync``: the ERP's stock of every linked product against BTRIX's: adjusted (the ERP the source of
    truth) or logged as a conflict (BTRIX the source of truth)."""
    account = _account(job)
    if account is None:
        return None
    tenant_id, provider = job.tenant_id, account.provider
    linked = _link_by_code(account, tenant_id) if account.settings.source_of_truth == "erp" else 0
    counted: list[_Count] = []
    for refs in _chunks(list_refs(tenant_id, provider, _PRODUCT), _BATCH):
        counts = account.stock([ref.remote_id for ref in refs])
        counted += [_reconcile(account, tenant_id, ref.local_id, counts.get(ref.remote_id)) for ref in refs]
    _log_conflicts(tenant_id, provider, [c.conflict for c in counted if c.conflict])
    adjusted = [c.adjusted for c in counted if c.adjusted]
    summary = f"{sum(c.checked for c in counted)} products checked, {len(adjusted)} adjusted"
    summary += f", {linked} linked by code" if linked else ""
    return summary + (f": {', '.join(adjusted[:_SHOWN_CONFLICTS])}" if adjusted else "")


def _linked_product(account: BlingAccount, tenant_id: str, remote_id: str) -> str | None:
    """BTRIX's product linked to Bling's ``remote_id`` (by the code Bling keeps; linked now when Bling is the source
    of truth and the product was not yet), else None."""
    remote = account.product(remote_id)
    if remote is None or not remote.code:
        return None
    try:
        matches = catalog.list_products(system_actor(tenant_id), ProductListQuery(code=remote.code)).items
    except InvalidInput:
        return None  # not a BTRIX code
    if not matches:
        return None
    kept = find_ref(tenant_id, account.provider, _PRODUCT, matches[0].id)
    if kept is None and account.settings.source_of_truth == "erp":
        kept = keep_ref(tenant_id, account.provider, _PRODUCT, matches[0].id, remote_id)
    return matches[0].id if kept == remote_id else None


def bling_stock_changed(job: jobs.Job) -> str | None:
    """``bling:stock.*`` (a verified Bling webhook, once per ``eventId``): the product's count read back from Bling
    (the event's figures are not taken for true: events arrive late and out of order) and reconciled as the pull
    does; a difference BTRIX owns is logged as a conflict (after a second look)."""
    account = open_account(job.tenant_id, Provider.BLING)
    event = job.body.get("event") or {}
    product = ((event.get("data") or {}).get("produto") or {}).get("id")
    if not isinstance(account, BlingAccount) or product is None:
        return None  # disconnected meanwhile, or not a product's stock
    remote = str(product)
    local = _linked_product(account, job.tenant_id, remote)
    if local is None:
        return f"Bling product {remote} is linked to no BTRIX product: nothing to compare"
    count = _reconcile(account, job.tenant_id, local, account.stock([remote]).get(remote))
    if count.conflict and job.attempt == 1:
        # Bling also tells of our own pushes: a push of a later movement may still be on its way. Looked at again
        # after the queue's backoff before a difference is logged.
        raise jobs.RetryJob(f"Bling product {remote} differs from BTRIX: looked at again before it is logged")
    _log_conflicts(job.tenant_id, account.provider, [count.conflict] if count.conflict else [])
    if count.adjusted:
        return f"stock webhook: {count.adjusted}"
    return f"stock webhook: Bling product {remote} " + ("differs (conflict logged)" if count.conflict else "in step")


def queue_stock_pulls() -> int:
    """The 15-minute schedule: one ``<erp>.sync`` task per tenant connected to each ERP (once per slot)."""
    return sum(
        jobs.queue_per_tenant(_task(provider, "sync"), provider, slot_s=PULL_SLOT_S) for provider in ERP_PROVIDERS
    )


# --- paid orders and their NF-e -------------------------------------------------------------------------------------


def _lines(account: ErpAccount, tenant_id: str, order: Order) -> list[tuple[OrderLine, str | None]]:
    lines: list[tuple[OrderLine, str | None]] = []
    for line in order.items:
        # A platform's line that matched no product (kept as text) goes to the ERP by its name alone.
        product = catalog.find_product(tenant_id, line.product_id) if line.product_id else None
        remote = None
        if product is not None:
            remote = _link(account, tenant_id, product)
            if remote is None and account.settings.source_of_truth == "btrix":
                remote = _pushed(account, tenant_id, product)[0]
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
    account = _account(job)
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
        _task(account.provider, "nfe"),
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
    account = _account(job)
    order_id = str(job.data.get("orderId"))
    nfe_id = find_ref(job.tenant_id, _provider(job), _NFE, order_id)
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
    return [p for p in _connected(tenant_id) if find_ref(tenant_id, p, CONTACT, customer_id) is not None]


def erase_contact(tenant_id: str, provider: Provider, customer_id: str, pseudonym: str) -> int:
    """The customer's contact at the ERP anonymised (a privacy erasure; the sales orders and NF-e stay, as the law
    keeps them); how many contacts changed. ``JobFailed`` when the ERP is no longer connected."""
    account = open_account(tenant_id, provider)
    if account is None:
        raise jobs.JobFailed(f"{_name(provider)} is no longer connected")
    return account.erase_contact(customer_id, pseudonym)


def _disconnecting(handler: jobs.JobHandler) -> jobs.JobHandler:
    """``handler``, where the ERP refusing the credentials for good (a fatal ``ProviderError``: Tiny's revoked token,
    Bling's app without a scope; a dead Bling refresh token is the token keeper's) disconnects the integration and
    tells the tenant's ADMINs before the job fails."""

    def run(job: jobs.Job) -> str | None:
        try:
            return handler(job)
        except ProviderError as exc:
            if exc.fatal:
                provider = _provider(job)
                mark_disconnected(job.tenant_id, provider, f"{_name(provider)} refused the credentials: {exc.detail}")
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
            kind = jobs.task_kind(_task(provider, what))
            jobs.register(kind, _disconnecting(handler), provider=provider, operation=operation)
    # Bling's webhooks (recorded once by ``inbound/bling.py``): only its stock events are enqueued.
    jobs.register(
        jobs.provider_kind(Provider.BLING.value),
        _disconnecting(bling_stock_changed),
        provider=Provider.BLING,
        operation="stock_webhook",
    )


_register(ERP_PROVIDERS)
