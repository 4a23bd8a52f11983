"""ERP products and stock: a product pushed (created, or found by its code, and updated), its stock set to BTRIX's,
the scheduled pull that compares every linked product's count (adjusting BTRIX, or logging a conflict, by who owns
stock), and Bling's stock webhook reconciled the same way. ``erp/sync.py`` says what travels when.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from chalicelib.catalog import service as catalog
from chalicelib.catalog.models import Product, ProductListQuery
from chalicelib.core.errors import AppError, InvalidInput, NotFound
from chalicelib.erp.adapters import ERP_PROVIDERS, BlingAccount, ErpAccount, open_account
from chalicelib.erp.tasks import PRODUCT_REF, erp_name, job_account, log_conflict, task
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.references import find_ref, keep_ref, list_refs
from chalicelib.integrations.service import SYSTEM_ACTOR_ID, system_actor
from chalicelib.inventory import service as inventory
from chalicelib.inventory.models import MovementListQuery, MovementRequest

__all__ = [
    "PULL_SLOT_S",
    "bling_stock_changed",
    "link_product",
    "pull_stock",
    "push_product",
    "push_stock",
    "pushed_product",
    "queue_stock_pulls",
]

PULL_SLOT_S = 15 * 60
_BATCH = 100
_MAX_PRODUCT_PAGES = 50
_SHOWN_CONFLICTS = 10


def link_product(account: ErpAccount, tenant_id: str, product: Product) -> str | None:
    """The ERP's id of the product: the kept link, or the ERP's product with its code (linked now), else None."""
    kept = find_ref(tenant_id, account.provider, PRODUCT_REF, product.id)
    if kept is not None:
        return kept
    found = account.find_product(product.code)
    return None if found is None else keep_ref(tenant_id, account.provider, PRODUCT_REF, product.id, found)


def pushed_product(account: ErpAccount, tenant_id: str, product: Product) -> tuple[str, bool]:
    """The product at the ERP, created or brought up to date; (its id, whether it was created). A creation the ERP
    refuses because another job made the product meanwhile (its code is taken) links that one and updates it."""
    remote = link_product(account, tenant_id, product)
    if remote is not None:
        return account.save_product(remote, product), False
    try:
        created = account.save_product(None, product)
    except ProviderError as exc:
        found = account.find_product(product.code) if exc.failure is Failure.REJECTED else None
        if found is None:
            raise
        keep_ref(tenant_id, account.provider, PRODUCT_REF, product.id, found)
        return account.save_product(found, product), False
    return keep_ref(tenant_id, account.provider, PRODUCT_REF, product.id, created), True


def push_product(job: jobs.Job) -> str | None:
    """``task:<erp>.product``: the product created or updated at the ERP (BTRIX the source of truth), or the change
    logged as a conflict (the ERP the source of truth)."""
    account = job_account(job)
    product = catalog.find_product(job.tenant_id, str(job.data.get("productId")))
    if account is None or product is None:
        return None  # disconnected, or the product is gone
    if account.settings.source_of_truth == "erp":
        log_conflict(
            job.tenant_id,
            account.provider,
            f"product {product.code} changed in BTRIX; {erp_name(account.provider)} is the source of truth for "
            "products: not pushed",
        )
        return None
    remote, created = pushed_product(account, job.tenant_id, product)
    return f"product {product.code} {'created' if created else 'updated'} ({remote})"


# --- stock ------------------------------------------------------------------------------------------------------------


def _movement_actor(tenant_id: str, product_id: str, movement_id: str) -> str | None:
    page = inventory.list_movements(system_actor(tenant_id), product_id, MovementListQuery(limit=20))
    return next((m.actor_id for m in page.items if m.id == movement_id), None)


def push_stock(job: jobs.Job) -> str | None:
    """``task:<erp>.stock``: the ERP's stock of the product set to BTRIX's on-hand units (BTRIX the source of
    truth), or a person's movement logged as a conflict (the ERP the source of truth)."""
    account = job_account(job)
    product_id, movement_id = str(job.data.get("productId")), str(job.data.get("movementId"))
    product = catalog.find_product(job.tenant_id, product_id)
    if account is None or product is None:
        return None
    if account.settings.source_of_truth == "erp":
        if _movement_actor(job.tenant_id, product_id, movement_id) not in (SYSTEM_ACTOR_ID, None):
            log_conflict(
                job.tenant_id,
                account.provider,
                f"stock of {product.code} moved in BTRIX; {erp_name(account.provider)} is the source of truth for "
                "stock: not pushed (the next sync sets BTRIX to its count)",
            )
        return None
    remote = link_product(account, job.tenant_id, product) or pushed_product(account, job.tenant_id, product)[0]
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
            if matches and find_ref(tenant_id, account.provider, PRODUCT_REF, matches[0].id) is None:
                keep_ref(tenant_id, account.provider, PRODUCT_REF, matches[0].id, remote.id)
                linked += 1
        if len(found) < _BATCH:
            break
    return linked


def _apply_count(tenant_id: str, product_id: str, code: str, units: int, provider: Provider) -> str | None:
    """BTRIX's count set to the ERP's; the conflict when it cannot be (fewer than the reserved units)."""
    request = MovementRequest(type="adjust", quantity=units, reason=f"{erp_name(provider)} stock sync")
    try:
        inventory.record_movement(system_actor(tenant_id), product_id, request, None)
    except (InvalidInput, NotFound) as exc:
        return f"{code}: {erp_name(provider)} has {units}, BTRIX cannot follow ({exc.detail})"
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
        return _Count(True, conflict=f"{level.code}: BTRIX {level.on_hand}, {erp_name(provider)} {units}")
    refused = _apply_count(tenant_id, product_id, level.code, erp_units, provider)
    if refused is not None:
        return _Count(True, conflict=refused)
    return _Count(True, adjusted=f"{level.code} {level.on_hand}→{erp_units}")


def _log_conflicts(tenant_id: str, provider: Provider, conflicts: Sequence[str]) -> None:
    if conflicts:
        shown = "; ".join(conflicts[:_SHOWN_CONFLICTS]) + (" …" if len(conflicts) > _SHOWN_CONFLICTS else "")
        log_conflict(tenant_id, provider, f"stock differs for {len(conflicts)} products (not overwritten): {shown}")


def pull_stock(job: jobs.Job) -> str | None:
    """``task:<erp>.sync``: the ERP's stock of every linked product against BTRIX's: adjusted (the ERP the source of
    truth) or logged as a conflict (BTRIX the source of truth)."""
    account = job_account(job)
    if account is None:
        return None
    tenant_id, provider = job.tenant_id, account.provider
    linked = _link_by_code(account, tenant_id) if account.settings.source_of_truth == "erp" else 0
    counted: list[_Count] = []
    for refs in _chunks(list_refs(tenant_id, provider, PRODUCT_REF), _BATCH):
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
    kept = find_ref(tenant_id, account.provider, PRODUCT_REF, matches[0].id)
    if kept is None and account.settings.source_of_truth == "erp":
        kept = keep_ref(tenant_id, account.provider, PRODUCT_REF, matches[0].id, remote_id)
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
        jobs.queue_per_tenant(task(provider, "sync"), provider, slot_s=PULL_SLOT_S) for provider in ERP_PROVIDERS
    )
