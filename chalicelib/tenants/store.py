"""Tenant items: the tenant's own record, the platform's list of tenants, and the user and product counters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.db import keys
from chalicelib.core.db.keys import PlatformCollection
from chalicelib.core.db.store import QueryPage, Table, WriteOp, counter_op, delete_op, put_op, update_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.tenants.lookup import tenant_key
from chalicelib.tenants.models import TenantRecord, TenantStatus

__all__ = [
    "allowed_origin_ops",
    "get_tenant",
    "list_tenants",
    "new_tenant_op",
    "origin_allowed",
    "release_product_op",
    "release_seat_op",
    "take_product_op",
    "take_seat_op",
    "tenant_key",
    "update_tenant_op",
]

TENANT_ENTITY = "Tenant"


def _status_list(status: TenantStatus) -> str:
    return keys.platform_collection_pk(f"{PlatformCollection.TENANTS}-{status.upper()}")


def _index_keys(record: TenantRecord) -> dict[str, str]:
    sort = keys.time_sk(record.created_at, record.id)
    return {
        GSI1.partition_key: keys.platform_collection_pk(PlatformCollection.TENANTS),
        GSI1.sort_key: sort,
        GSI2.partition_key: _status_list(record.status),
        GSI2.sort_key: sort,
    }


def new_tenant_op(record: TenantRecord) -> WriteOp:
    """Create the tenant's record (fails if the id exists)."""
    pk, sk = tenant_key(record.id)
    return put_op(
        {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: TENANT_ENTITY, **_index_keys(record), **record.model_dump()}
    )


def get_tenant(tenant_id: str, *, consistent: bool = False) -> TenantRecord | None:
    """The tenant's record, or None."""
    item = Table().get(*tenant_key(tenant_id), consistent=consistent)
    return TenantRecord.model_validate(strip_storage(item)) if item else None


def update_tenant_op(record: TenantRecord, changes: Mapping[str, Any]) -> WriteOp:
    """Apply ``changes`` (stored names) to the version of ``record`` that was read; keeps the lists right."""
    updates = dict(changes)
    if "status" in updates:
        updates[GSI2.partition_key] = _status_list(updates["status"])
    return update_op(*tenant_key(record.id), updates, expected_version=record.version)


def allowed_origin_ops(tenant_id: str, added: set[str], removed: set[str]) -> list[WriteOp]:
    """The routing items saying which tenants allow a browser origin (read by CORS preflights, which name no
    tenant): one per origin the tenant adds, and the deletes of those it removes."""
    ops = []
    for origin in sorted(added):
        pk, sk = keys.allowed_origin_key(origin, tenant_id)
        ops.append(put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "AllowedOrigin"}, must_not_exist=False))
    ops += [delete_op(*keys.allowed_origin_key(origin, tenant_id)) for origin in sorted(removed)]
    return ops


def origin_allowed(origin: str) -> bool:
    """Whether some tenant allows browsers at ``origin`` (one key read of at most one item)."""
    pk, _ = keys.allowed_origin_key(origin, "any")
    return bool(Table().query_page(pk, limit=1).items)


def take_seat_op(tenant_id: str, max_users: int) -> WriteOp:
    """Count one more user, only while the tenant has fewer than ``max_users`` (else the transaction fails)."""
    return counter_op(*tenant_key(tenant_id), "userCount", 1, less_than=max_users)


def release_seat_op(tenant_id: str) -> WriteOp:
    """Count one user less (a user was deactivated)."""
    return counter_op(*tenant_key(tenant_id), "userCount", -1, greater_than=0)


def take_product_op(tenant_id: str, max_products: int) -> WriteOp:
    """Count one more active catalog item, only while there are fewer than ``max_products`` (else the transaction
    fails)."""
    return counter_op(*tenant_key(tenant_id), "productCount", 1, less_than=max_products)


def release_product_op(tenant_id: str) -> WriteOp:
    """Count one active catalog item less (a product was deactivated)."""
    return counter_op(*tenant_key(tenant_id), "productCount", -1, greater_than=0)


def _tenant(item: Mapping[str, Any]) -> TenantRecord:
    return TenantRecord.model_validate(strip_storage(item))


def list_tenants(
    status: TenantStatus | None, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[TenantRecord]:
    """One page of tenants, newest first, optionally only those with ``status``."""
    if status is None:
        return (
            Table()
            .query_page(
                keys.platform_collection_pk(PlatformCollection.TENANTS),
                index=GSI1,
                limit=limit,
                start_key=start_key,
                newest_first=True,
            )
            .map(_tenant)
        )
    return (
        Table()
        .query_page(_status_list(status), index=GSI2, limit=limit, start_key=start_key, newest_first=True)
        .map(_tenant)
    )
