"""Tenant use cases: read and change the tenant's settings; the platform operator's tenant administration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.crypto import encrypt_field, lookup_hash
from chalicelib.core.db.keys import InvalidKey, Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, unscoped
from chalicelib.core.errors import FieldError, InvalidInput, LimitExceeded, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.pagination import Page, paginate
from chalicelib.core.patch import merge_patch
from chalicelib.core.validation import normalize_cnpj
from chalicelib.plans.catalog import get_plan
from chalicelib.tenants import store
from chalicelib.tenants.models import (
    PLATFORM_TENANT_ID,
    BusinessType,
    ChangePlanRequest,
    Tenant,
    TenantListQuery,
    TenantRecord,
    TenantStatus,
    UpdateTenantRequest,
)
from chalicelib.tenants.reading import find_tenant, record_key

__all__ = [
    "apply_billing_plan",
    "apply_billing_status",
    "change_plan",
    "document_fields",
    "find_tenant",
    "get_tenant",
    "list_tenants",
    "load_tenant",
    "new_tenant_op",
    "new_tenant_record",
    "origin_allowed",
    "record_key",
    "release_product_op",
    "release_seat_op",
    "set_status",
    "take_product_op",
    "take_seat_op",
    "update_tenant",
]


def document_fields(tenant_id: str, document: str | None, country: str, *, field: str) -> dict[str, Any]:
    """The stored form of a tax document: encrypted, keyed hash, last digits. A CNPJ is checked for BR."""
    if document is None:
        return {"documentEncrypted": None, "documentHash": None, "documentLast4": None}
    if country == "BR":
        try:
            value = normalize_cnpj(document)
        except ValueError as exc:
            raise InvalidInput(
                detail="the document is not a valid CNPJ", errors=(FieldError(field, str(exc)),)
            ) from exc
    else:
        value = "".join(ch for ch in document.upper() if ch.isalnum())
        if len(value) < 4:
            raise InvalidInput(detail="the document is too short", errors=(FieldError(field, "too short"),))
    return {
        "documentEncrypted": encrypt_field(tenant_id, value),
        "documentHash": lookup_hash(f"document_{country.lower()}", value),
        "documentLast4": value[-4:],
    }


def new_tenant_record(
    tenant_id: str,
    *,
    name: str,
    business_type: BusinessType,
    locale: str,
    time_zone: str,
    currency: str,
    country: str,
    plan_id: str,
    document: str | None = None,
    whatsapp_number: str | None = None,
) -> TenantRecord:
    """A new active tenant on ``plan_id`` with the plan's modules (nothing is written)."""
    plan = get_plan(plan_id)
    now = clock.now_iso()
    return TenantRecord(
        id=tenant_id,
        name=name,
        business_type=business_type,
        locale=locale,
        time_zone=time_zone,
        currency=currency,
        country=country,
        whatsapp_number=whatsapp_number,
        plan_id=plan.id,
        modules=list(plan.modules),
        created_at=now,
        updated_at=now,
        **document_fields(tenant_id, document, country, field="body.document"),
    )


def load_tenant(tenant_id: str) -> TenantRecord:
    """The stored tenant; ``NotFound`` if there is none."""
    record = store.get_tenant(tenant_id)
    if record is None:
        raise NotFound(detail="no such tenant")
    return record


def new_tenant_op(record: TenantRecord) -> WriteOp:
    """The transaction write creating ``record`` (a signup, the platform's own tenant)."""
    return store.new_tenant_op(record)


def take_seat_op(tenant: TenantRecord) -> WriteOp:
    """The write counting one more user of ``tenant``; at its plan's ``maxUsers`` the transaction fails with
    ``LimitExceeded``."""
    plan = get_plan(tenant.plan_id)
    full = LimitExceeded(detail=f"the plan {plan.name} allows {plan.max_users} users (maxUsers)", limit="maxUsers")
    return store.take_seat_op(tenant.id, plan.max_users).on_conflict(full)


def release_seat_op(tenant_id: str) -> WriteOp:
    """The write counting one user less (a user was deactivated)."""
    return store.release_seat_op(tenant_id)


def take_product_op(tenant: TenantRecord) -> WriteOp:
    """The write counting one more active catalog item of ``tenant``; at its plan's ``maxProducts`` the
    transaction fails with ``LimitExceeded``."""
    plan = get_plan(tenant.plan_id)
    full = LimitExceeded(
        detail=f"the plan {plan.name} allows {plan.max_products} active products and services (maxProducts)",
        limit="maxProducts",
    )
    return store.take_product_op(tenant.id, plan.max_products).on_conflict(full)


def release_product_op(tenant_id: str) -> WriteOp:
    """The write counting one active catalog item less (a product was deactivated)."""
    return store.release_product_op(tenant_id)


def get_tenant(principal: Principal) -> Tenant:
    """The caller's tenant."""
    require(principal, Permission.TENANT_READ)
    return Tenant.of(load_tenant(principal.tenant_id))


def update_tenant(principal: Principal, body: UpdateTenantRequest) -> Tenant:
    """Change the caller's tenant settings (optimistic locking on ``version``)."""
    require(principal, Permission.TENANT_UPDATE)
    record = store.get_tenant(principal.tenant_id, consistent=True)
    if record is None:
        raise NotFound(detail="no such tenant")
    if record.version != body.version:
        raise VersionConflict(detail=f"the tenant is at version {record.version}; reload and retry")
    changes = body.changes(exclude={"document"})
    country = changes.get("country", record.country)
    if "document" in body.model_fields_set:
        changes.update(document_fields(record.id, body.document, country, field="body.document"))
    elif country != record.country and record.document_encrypted:
        raise InvalidInput(
            detail="changing the country needs the document again",
            errors=(FieldError("body.document", "required when the country changes"),),
        )
    extra: list[WriteOp] = []
    if "allowedOrigins" in changes:
        wanted = list(dict.fromkeys(changes["allowedOrigins"]))  # normalised by the model; duplicates once
        changes["allowedOrigins"] = wanted
        extra = store.allowed_origin_ops(
            record.id, set(wanted) - set(record.allowed_origins), set(record.allowed_origins) - set(wanted)
        )
    with unscoped():  # the origin routing items are global (ROUTE#ORIGIN#…): a preflight names no tenant
        return _apply(principal, record, changes, "tenant.updated", extra)


def origin_allowed(origin: str) -> bool:
    """Whether some tenant allows browsers at ``origin`` (CORS preflights and public routes, before any tenant is
    known; a caller's own requests are checked against its tenant's ``allowedOrigins``)."""
    try:
        return store.origin_allowed(origin)
    except InvalidKey:
        return False  # an Origin header with a '#' is no origin of ours


def _apply(
    principal: Principal, record: TenantRecord, changes: dict[str, Any], action: str, extra: Sequence[WriteOp] = ()
) -> Tenant:
    changes = {**changes, "updatedAt": clock.now_iso()}
    after = merge_patch(record, changes, version=record.version + 1)
    changed = sorted(k for k in changes if k != "updatedAt")
    Table().transact(
        [
            store.update_tenant_op(record, changes),
            *extra,
            audit_op(
                principal,
                action,
                Kind.TENANT,
                record.id,
                before=record.model_dump(),
                after=after.model_dump(),
                tenant_id=record.id,
            ),
            event_put_op(new_event(action, record.id, {"changed": changed}, subject=record.id)),
        ]
    )
    return Tenant.of(after)


def list_tenants(principal: Principal, query: TenantListQuery) -> Page[Tenant]:
    """The platform's tenants, newest first (platform operator only)."""
    require(principal, Permission.PLATFORM_TENANTS)
    with unscoped():  # the platform's list spans every tenant
        return _list_tenants(query)


def _list_tenants(query: TenantListQuery) -> Page[Tenant]:
    return paginate(
        Page[Tenant],
        query,
        tenant_id=PLATFORM_TENANT_ID,
        scope=f"platform-tenants:{query.status or 'all'}",
        fetch=lambda start: store.list_tenants(query.status, query.limit, start),
        convert=Tenant.of,
    )


def _platform_change(principal: Principal, tenant_id: str, changes: dict[str, Any], action: str) -> Tenant:
    require(principal, Permission.PLATFORM_TENANTS)
    if tenant_id == PLATFORM_TENANT_ID:
        raise InvalidInput(
            detail="the platform itself cannot be changed", errors=(FieldError("path.tenant_id", "reserved"),)
        )
    with unscoped():  # the operator acts on another tenant's record (and audits it there)
        record = store.get_tenant(tenant_id, consistent=True)
        if record is None:
            raise NotFound(detail="no such tenant")
        return _apply(principal, record, changes, action)


def set_status(principal: Principal, tenant_id: str, status: TenantStatus) -> Tenant:
    """Suspend or reactivate a tenant (platform operator)."""
    action = "tenant.suspended" if status == "suspended" else "tenant.reactivated"
    by = "operator" if status == "suspended" else None
    return _platform_change(principal, tenant_id, {"status": status, "suspendedBy": by}, action)


def _plan_changes(plan_id: str) -> dict[str, Any]:
    plan = get_plan(plan_id)
    return {"planId": plan.id, "modules": [m.value for m in plan.modules]}


def change_plan(principal: Principal, tenant_id: str, body: ChangePlanRequest) -> Tenant:
    """Move a tenant to another plan; its modules become the plan's (platform operator)."""
    return _platform_change(principal, tenant_id, _plan_changes(body.plan_id), "tenant.plan_changed")


def _billing_record(tenant_id: str) -> TenantRecord:
    record = store.get_tenant(tenant_id, consistent=True)
    if record is None:
        raise NotFound(detail="no such tenant")
    return record


def _billing_change(actor: Principal, record: TenantRecord, changes: dict[str, Any], action: str) -> Tenant | None:
    # Billing acts on the tenant its event is about with a versioned write of what it read: a concurrent change
    # makes the write fail (VersionConflict, and the job runs again).
    stored = record.model_dump(by_alias=True)
    if all(stored.get(name) == value for name, value in changes.items()):
        return None
    return _apply(actor, record, changes, action)


def apply_billing_plan(actor: Principal, tenant_id: str, plan_id: str) -> Tenant | None:
    """Move the tenant to ``plan_id`` because its subscription says so (a paid upgrade, a downgrade at the period's
    end); its modules become the plan's. None when it is on that plan already."""
    return _billing_change(actor, _billing_record(tenant_id), _plan_changes(plan_id), "tenant.plan_changed")


def apply_billing_status(actor: Principal, tenant_id: str, status: TenantStatus) -> Tenant | None:
    """Suspend the tenant for an unpaid subscription (its grace period ended), or lift that suspension (a payment
    arrived). A suspension by the platform operator is left alone either way. None when nothing changed."""
    record = _billing_record(tenant_id)
    if record.suspended_by == "operator" or record.status == status:
        return None
    if status == "suspended":
        return _billing_change(actor, record, {"status": "suspended", "suspendedBy": "billing"}, "tenant.suspended")
    return _billing_change(actor, record, {"status": "active", "suspendedBy": None}, "tenant.reactivated")
