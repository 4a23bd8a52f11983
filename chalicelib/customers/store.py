"""Customer items, the per-tenant claims that keep email and phone unique (and find customers by them), and
the lists: newest first, and by folded name for prefix search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr

from chalicelib.core.crypto import lookup_hash
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Facet, Kind, UniqueField
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, delete_op, put_op, update_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.text import fold
from chalicelib.customers.models import ConsentRecord, CustomerRecord

__all__ = [
    "ContactField",
    "claim_op",
    "consent_entry_op",
    "customer_key",
    "customer_pk",
    "delete_customer_op",
    "existing_customer_ids",
    "find_by_contact",
    "get_customer",
    "link_billy_contact_op",
    "list_consent_history",
    "list_customers",
    "new_customer_op",
    "order_stats_op",
    "pseudonymise_customer_op",
    "release_op",
    "search_customers",
    "update_customer_op",
]

CUSTOMER_ENTITY = "Customer"
CLAIM_ENTITY = "UniqueClaim"
CONSENT_ENTITY = "ConsentRecord"
ContactField = Literal["email", "phone"]
_CLAIM_FIELDS: dict[ContactField, UniqueField] = {
    "email": UniqueField.CUSTOMER_EMAIL,
    "phone": UniqueField.CUSTOMER_PHONE,
}


def customer_key(tenant_id: str, customer_id: str) -> tuple[str, str]:
    """(PK, SK) of a customer."""
    return keys.entity_pk(tenant_id, Kind.CUSTOMER, customer_id), keys.META_SK


def _claim_key(tenant_id: str, field: ContactField, value: str) -> tuple[str, str]:
    # Keyed hash of the normalised value: an email may contain "#", and the table keeps no list of addresses.
    return keys.unique_pk(tenant_id, _CLAIM_FIELDS[field], lookup_hash(field, value)), keys.UNIQUE_SK


def _name_sort(record: CustomerRecord) -> str:
    return keys.name_sk(fold(record.name), record.id)


def new_customer_op(record: CustomerRecord) -> WriteOp:
    """Create the customer, listed newest first and by name."""
    pk, sk = customer_key(record.tenant_id, record.id)
    return put_op(
        {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: CUSTOMER_ENTITY,
            GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.CUSTOMERS),
            GSI1.sort_key: keys.time_sk(record.created_at, record.id),
            GSI2.partition_key: keys.collection_pk(record.tenant_id, Collection.CUSTOMERS, Facet.NAME),
            GSI2.sort_key: _name_sort(record),
            **record.model_dump(),
        }
    )


def claim_op(tenant_id: str, field: ContactField, value: str, customer_id: str) -> WriteOp:
    """Claim an email or phone for ``customer_id``; fails the transaction if another customer has it."""
    pk, sk = _claim_key(tenant_id, field, value)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: CLAIM_ENTITY, "customerId": customer_id})


def release_op(tenant_id: str, field: ContactField, value: str) -> WriteOp:
    """Free an email or phone (changed or removed)."""
    return delete_op(*_claim_key(tenant_id, field, value))


def find_by_contact(tenant_id: str, field: ContactField, value: str) -> str | None:
    """The id of the customer with this (normalised) email or phone, or None."""
    item = Table().get(*_claim_key(tenant_id, field, value))
    return str(item["customerId"]) if item else None


def get_customer(tenant_id: str, customer_id: str, *, consistent: bool = False) -> CustomerRecord | None:
    """The customer, or None."""
    item = Table().get(*customer_key(tenant_id, customer_id), consistent=consistent)
    return CustomerRecord.model_validate(strip_storage(item)) if item else None


def update_customer_op(before: CustomerRecord, after: CustomerRecord, changes: Mapping[str, Any]) -> WriteOp:
    """Write ``changes`` (stored names; None removes) to the version of ``before`` that was read."""
    updates = {name: value for name, value in changes.items() if value is not None}
    removed = [name for name, value in changes.items() if value is None]
    if after.name != before.name:
        updates[GSI2.sort_key] = _name_sort(after)
    return update_op(
        *customer_key(before.tenant_id, before.id), updates, expected_version=before.version, remove=removed
    )


def link_billy_contact_op(tenant_id: str, customer_id: str, contact_id: str) -> WriteOp:
    """Keep the customer's Billy.dk contact, once: fails when another run kept one first (or the customer is gone)."""
    return change_op(
        *customer_key(tenant_id, customer_id),
        set_={"billyContactId": contact_id},
        condition=Attr("billyContactId").not_exists(),
    )


def delete_customer_op(record: CustomerRecord) -> WriteOp:
    """Delete the customer as read (fails if it changed meanwhile)."""
    return delete_op(*customer_key(record.tenant_id, record.id), condition=Attr("version").eq(record.version))


def order_stats_op(tenant_id: str, customer_id: str, amount: Decimal, currency: str, at: str) -> WriteOp:
    """Count one more order of ``amount`` at ``at`` (atomic ADD: concurrent orders all count)."""
    return change_op(
        *customer_key(tenant_id, customer_id),
        add={"ordersCount": 1, "totalSpentAmount": amount},
        set_={"lastOrderAt": at},
        condition=Attr("currency").eq(currency),
    )


def _customer(item: Mapping[str, Any]) -> CustomerRecord:
    return CustomerRecord.model_validate(strip_storage(item))


def list_customers(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[CustomerRecord]:
    """One page of the tenant's customers, newest first."""
    return (
        Table()
        .query_page(
            keys.collection_pk(tenant_id, Collection.CUSTOMERS),
            index=GSI1,
            limit=limit,
            start_key=start_key,
            newest_first=True,
        )
        .map(_customer)
    )


def search_customers(
    tenant_id: str, name_prefix: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[CustomerRecord]:
    """One page of the customers whose folded name starts with ``name_prefix``, by name."""
    return (
        Table()
        .query_page(
            keys.collection_pk(tenant_id, Collection.CUSTOMERS, Facet.NAME),
            index=GSI2,
            sort_prefix=keys.name_prefix(name_prefix),
            limit=limit,
            start_key=start_key,
        )
        .map(_customer)
    )


def existing_customer_ids(tenant_id: str, customer_ids: Iterable[str]) -> set[str]:
    """The ids among ``customer_ids`` that name customers of the tenant (one batch read)."""
    return {str(item["id"]) for item in Table().batch_get(customer_key(tenant_id, c) for c in customer_ids)}


def consent_entry_op(tenant_id: str, entry: ConsentRecord) -> WriteOp:
    """Keep one entry of the customer's consent history (under the customer; ids sort by time)."""
    pk, _ = customer_key(tenant_id, entry.customer_id)
    return put_op(
        {PARTITION_KEY: pk, SORT_KEY: keys.child_sk(Child.CONSENT, entry.id), ENTITY: CONSENT_ENTITY}
        | entry.model_dump()
    )


def list_consent_history(
    tenant_id: str, customer_id: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[ConsentRecord]:
    """One page of the customer's consent history, newest first."""
    return (
        Table()
        .query_page(
            customer_key(tenant_id, customer_id)[0],
            sort_prefix=keys.child_prefix(Child.CONSENT),
            limit=limit,
            start_key=start_key,
            newest_first=True,
        )
        .map(lambda item: ConsentRecord.model_validate(strip_storage(item)))
    )


def customer_pk(tenant_id: str, customer_id: str) -> str:
    """The customer's partition (the record, its consent history, preferences and audit trail)."""
    return customer_key(tenant_id, customer_id)[0]


def pseudonymise_customer_op(record: CustomerRecord, pseudonym: str, at: str) -> WriteOp:
    """The customer as erased: named ``pseudonym``, contacts, document, address, notes and tags removed (statistics,
    consents and currency stay), on the version read."""
    changes: dict[str, Any] = {
        "name": pseudonym,
        "tags": [],
        "updatedAt": at,
        GSI2.sort_key: keys.name_sk(fold(pseudonym), record.id),
    }
    removed = ["email", "phone", "documentType", "documentEncrypted", "documentHash", "documentLast4", "address"]
    return update_op(
        *customer_key(record.tenant_id, record.id), changes, expected_version=record.version, remove=[*removed, "notes"]
    )
