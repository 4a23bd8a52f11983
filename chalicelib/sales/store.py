"""Sale items, their lists and index items, and the gapless number counter of each year.

A sale is listed on three GSIs (all by sale date, by status, by rep) and, for the lists a GSI cannot hold, by
index items in the table (``SaleRef``: the sale id under a faceted partition, sorted like the lists): by customer,
by rep and status, by rep and customer, and invoiced-awaiting-payment. ``ref_ops(before, after)`` moves exactly
the index items whose facets changed, so a transition, a reassignment or a payment is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db import index_items, keys
from chalicelib.core.db.index_items import Facets
from chalicelib.core.db.keys import Child, Collection, Facet, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.personal_data import all_pages
from chalicelib.sales.models import Sale

__all__ = [
    "assignee_keys",
    "assignee_sales",
    "by_status_keys",
    "current_number",
    "customer_sales",
    "delete_sale_ops",
    "get_sale",
    "list_pending_payments",
    "list_sales",
    "new_sale_ops",
    "number_claim_op",
    "ref_ops",
    "sale_key",
    "sale_of",
    "sale_pk",
]

SALE_ENTITY = "Sale"
REF_ENTITY = "SaleRef"
ASSIGNEE = Facet.ASSIGNEE
CUSTOMER = Facet.CUSTOMER
_STATUS = Facet.STATUS
_PENDING: Facets = ((Facet.PAYMENT, "pending"),)
_FIELDS = frozenset(field.alias or name for name, field in Sale.model_fields.items())


def sale_key(tenant_id: str, sale_id: str) -> tuple[str, str]:
    """(PK, SK) of a sale."""
    return keys.entity_pk(tenant_id, Kind.SALE, sale_id), keys.META_SK


def sale_of(item: Mapping[str, Any]) -> Sale:
    """The sale in a stored item (storage attributes and the engine's runtime fields left out)."""
    return Sale.model_validate({k: v for k, v in strip_storage(item).items() if k in _FIELDS})


def by_status_keys(tenant_id: str, status: str, created_at: str, sale_id: str) -> dict[str, str]:
    """The GSI2 entry of a sale in the list of its status (moved by every transition)."""
    return {
        GSI2.partition_key: keys.collection_pk(tenant_id, Collection.SALES, status),
        GSI2.sort_key: keys.time_sk(created_at, sale_id),
    }


def _refs(item: Mapping[str, Any] | None) -> dict[Facets, str]:
    """The faceted lists a sale in this state is in (its index items), each with the sale's sort key."""
    if item is None:
        return {}
    rep, customer = str(item["assignedTo"]), str(item["customerId"])
    sort = keys.time_sk(str(item["createdAt"]), str(item["id"]))
    facets: list[Facets] = [
        ((CUSTOMER, customer),),
        ((ASSIGNEE, rep), (_STATUS, str(item["status"]))),
        ((ASSIGNEE, rep), (CUSTOMER, customer)),
    ]
    if item.get("paymentStatus") == "pending":
        facets.append(_PENDING)
    return dict.fromkeys(facets, sort)


def ref_ops(tenant_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[WriteOp]:
    """The writes that move a sale's index items from state ``before`` to ``after`` (None: not there)."""
    anchor = after if after is not None else before
    if anchor is None:
        return []
    sale_id = str(anchor["id"])
    return index_items.move_ops(tenant_id, Collection.SALES, sale_id, _refs(before), _refs(after), entity=REF_ENTITY)


def new_sale_ops(sale: Sale, workflow_fields: Mapping[str, Any]) -> list[WriteOp]:
    """Create the sale (with its workflow fields), listed by date, status and rep, and its index items."""
    pk, sk = sale_key(sale.tenant_id, sale.id)
    sort = keys.time_sk(sale.created_at, sale.id)
    item: dict[str, Any] = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: SALE_ENTITY,
        GSI1.partition_key: keys.collection_pk(sale.tenant_id, Collection.SALES),
        GSI1.sort_key: sort,
        **by_status_keys(sale.tenant_id, sale.status, sale.created_at, sale.id),
        GSI3.partition_key: keys.facet_pk(sale.tenant_id, Collection.SALES, ASSIGNEE, sale.assigned_to),
        GSI3.sort_key: sort,
        **sale.model_dump(exclude_none=True),
        **workflow_fields,
    }
    return [put_op(item), *ref_ops(sale.tenant_id, None, item)]


def assignee_keys(tenant_id: str, created_at: str, sale_id: str, assigned_to: str) -> dict[str, str]:
    """The GSI3 entry of a sale in its rep's list (moved by a reassignment)."""
    return {
        GSI3.partition_key: keys.facet_pk(tenant_id, Collection.SALES, ASSIGNEE, assigned_to),
        GSI3.sort_key: keys.time_sk(created_at, sale_id),
    }


def delete_sale_ops(tenant_id: str, item: Mapping[str, Any]) -> list[WriteOp]:
    """Delete the sale as read (fails if it changed meanwhile) and its index items."""
    pk, sk = sale_key(tenant_id, str(item["id"]))
    return [delete_op(pk, sk, condition=Attr("version").eq(int(item["version"]))), *ref_ops(tenant_id, item, None)]


def get_sale(tenant_id: str, sale_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The stored sale item (with its workflow fields), or None."""
    return Table().get(*sale_key(tenant_id, sale_id), consistent=consistent)


def _counter_key(tenant_id: str, year: int) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.child_sk(Child.COUNTER, f"SALE-NUMBER-{year}")


def current_number(tenant_id: str, year: int) -> int:
    """The last sale number given in ``year`` (0 before the first sale of the year)."""
    item = Table().get(*_counter_key(tenant_id, year), consistent=True)
    return int(item["count"]) if item else 0


def number_claim_op(tenant_id: str, year: int, current: int) -> WriteOp:
    """Take number ``current + 1`` of ``year``: fails the transaction if another sale took it first, so numbers
    are given in order, once, and a failed create gives its number back (gapless)."""
    pk, sk = _counter_key(tenant_id, year)
    expected = Attr(PARTITION_KEY).not_exists() if current == 0 else Attr("count").eq(current)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "Counter", "count": current + 1}, condition=expected)


def _target(tenant_id: str) -> Callable[[str], tuple[str, str]]:
    return lambda sale_id: sale_key(tenant_id, sale_id)


def list_sales(
    tenant_id: str,
    *,
    status: str | None,
    assigned_to: str | None,
    customer_id: str | None,
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage:
    """One page of the tenant's sales, newest first, in a date range: all, of a status, of a rep, of a customer,
    of a rep in a status, or of a rep with a customer (status with customer is not a list)."""
    if status is not None and customer_id is not None:
        raise ValueError("sales are not listed by status and customer together")
    table = Table()
    if assigned_to is not None and (status is not None or customer_id is not None):
        second = (_STATUS, status) if status is not None else (CUSTOMER, str(customer_id))
        facets: Facets = ((ASSIGNEE, assigned_to), second)
    elif customer_id is not None:
        facets = ((CUSTOMER, customer_id),)
    else:
        facets = ()
    if facets:
        return index_items.query_page(
            tenant_id,
            Collection.SALES,
            facets,
            _target(tenant_id),
            sort_between=between,
            limit=limit,
            start_key=start_key,
            newest_first=True,
        )
    if assigned_to is not None:
        partition, index = keys.facet_pk(tenant_id, Collection.SALES, ASSIGNEE, assigned_to), GSI3
    elif status is not None:
        partition, index = keys.collection_pk(tenant_id, Collection.SALES, status), GSI2
    else:
        partition, index = keys.collection_pk(tenant_id, Collection.SALES), GSI1
    return table.query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )


def list_pending_payments(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage:
    """One page of the sales invoiced and not yet paid (``paymentStatus: pending``), oldest first."""
    return index_items.query_page(
        tenant_id, Collection.SALES, _PENDING, _target(tenant_id), limit=limit, start_key=start_key
    )


def sale_pk(tenant_id: str, sale_id: str) -> str:
    """The sale's partition (the sale, its status history, payment links and state, audit trail)."""
    return sale_key(tenant_id, sale_id)[0]


def customer_sales(tenant_id: str, customer_id: str) -> list[dict[str, Any]]:
    """Every sale of the customer as stored (for privacy requests: page after page, in a background job)."""
    return _every_sale(tenant_id, assigned_to=None, customer_id=customer_id)


def assignee_sales(tenant_id: str, user_id: str) -> list[dict[str, Any]]:
    """Every sale of the rep as stored (for privacy requests: page after page, in a background job)."""
    return _every_sale(tenant_id, assigned_to=user_id, customer_id=None)


def _every_sale(tenant_id: str, *, assigned_to: str | None, customer_id: str | None) -> list[dict[str, Any]]:
    everything = ("0", "~")
    return list(
        all_pages(
            lambda start: list_sales(
                tenant_id,
                status=None,
                assigned_to=assigned_to,
                customer_id=customer_id,
                between=everything,
                limit=100,
                start_key=start,
            )
        )
    )
