"""Customer use cases: create, change, delete, find (email, phone, name prefix), the order statistics
the orders capability keeps current through ``record_order_ops``, and the Billy.dk contact that sales invoicing
keeps on the customer (``link_billy_contact``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency
from chalicelib.core.crypto import encrypt_field, lookup_hash
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict, WriteOp
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, decode_cursor, encode_cursor
from chalicelib.core.patch import merge_patch
from chalicelib.core.references import register_reference
from chalicelib.core.text import fold
from chalicelib.core.validation import normalize_cnpj, normalize_cpf
from chalicelib.customers import store
from chalicelib.customers.consents import (
    allows,
    changed_consents,
    consent_history,
    get_consents,
    may_use,
    record_consent,
    record_consent_as,
)
from chalicelib.customers.models import (
    Address,
    Consents,
    CreateCustomerRequest,
    Customer,
    CustomerListQuery,
    CustomerRecord,
    UpdateCustomerRequest,
)
from chalicelib.customers.store import ContactField
from chalicelib.tenants.service import load_tenant

__all__ = [
    "NewCustomer",
    "allows",
    "consent_history",
    "create_customer",
    "delete_customer",
    "existing_customers",
    "find_customer",
    "find_customer_id",
    "get_consents",
    "get_customer",
    "link_billy_contact",
    "list_customers",
    "load_customer",
    "may_use",
    "new_customer",
    "record_consent",
    "record_consent_as",
    "record_order_ops",
    "update_customer",
]

_NON_DIGITS = re.compile(r"\D")
_CONTACTS: tuple[ContactField, ...] = ("email", "phone")


def _document_fields(tenant_id: str, country: str, document: str | None) -> dict[str, Any]:
    """The stored form of a document: type, encrypted value, keyed hash, last digits (all None to clear)."""
    if document is None:
        return {"documentType": None, "documentEncrypted": None, "documentHash": None, "documentLast4": None}
    if country == "BR":
        digits = _NON_DIGITS.sub("", document)
        kind, check = {11: ("cpf", normalize_cpf), 14: ("cnpj", normalize_cnpj)}.get(len(digits), (None, None))
        if kind is None or check is None:
            raise invalid_field("body.document", "must be a CPF (11 digits) or a CNPJ (14 digits)")
        try:
            value = check(digits)
        except ValueError as exc:
            raise invalid_field("body.document", str(exc)) from exc
    else:
        kind, value = "tax_id", "".join(ch for ch in document.upper() if ch.isalnum())
        if len(value) < 4:
            raise invalid_field("body.document", "too short")
    return {
        "documentType": kind,
        "documentEncrypted": encrypt_field(tenant_id, value),
        "documentHash": lookup_hash(kind, value),
        "documentLast4": value[-4:],
    }


def _address(address: Address | None) -> Address | None:
    if address is None or address.country != "BR" or address.postal_code is None:
        return address
    digits = _NON_DIGITS.sub("", address.postal_code)
    if len(digits) != 8:
        raise invalid_field("body.address.postalCode", "a CEP has 8 digits, e.g. 01310-100")
    return address.model_copy(update={"postal_code": f"{digits[:5]}-{digits[5:]}"})


def _taken(field: ContactField) -> Conflict:
    return Conflict(
        detail=f"another customer already has this {field}",
        errors=(FieldError(f"body.{field}", "already used by another customer", "taken"),),
    )


def find_customer(tenant_id: str, customer_id: str) -> CustomerRecord | None:
    """The stored customer (with contacts and consents), or None."""
    return store.get_customer(tenant_id, customer_id)


def existing_customers(tenant_id: str, customer_ids: Sequence[str]) -> set[str]:
    """The ids among ``customer_ids`` that name customers of the tenant (``Ref("customer")`` of request bodies)."""
    return store.existing_customer_ids(tenant_id, customer_ids)


register_reference("customer", existing_customers)


def load_customer(tenant_id: str, customer_id: str) -> Customer:
    """The customer ``customer_id`` of the tenant; ``NotFound`` if there is none."""
    record = store.get_customer(tenant_id, customer_id)
    if record is None:
        raise NotFound(detail=f"no customer {customer_id}")
    return Customer.of(record)


def link_billy_contact(tenant_id: str, customer_id: str, create: Callable[[CustomerRecord], str]) -> str:
    """The customer's Billy.dk contact id: the one kept on the customer, else ``create(customer)``'s, kept (when
    another run kept one meanwhile, that one stays and is returned). ``NotFound`` for a customer that is gone."""
    record = store.get_customer(tenant_id, customer_id, consistent=True)
    if record is None:
        raise NotFound(detail=f"no customer {customer_id}")
    if record.billy_contact_id is not None:
        return record.billy_contact_id
    contact_id = create(record)
    try:
        Table().transact([store.link_billy_contact_op(tenant_id, customer_id, contact_id)])
    except TransactionConflict:
        kept = store.get_customer(tenant_id, customer_id, consistent=True)
        if kept is None or kept.billy_contact_id is None:
            raise NotFound(detail=f"no customer {customer_id}") from None
        return kept.billy_contact_id
    return contact_id


def record_order_ops(tenant_id: str, customer_id: str, total: Money, at: str) -> list[WriteOp]:
    """Transaction writes counting an order of ``total`` placed ``at`` (ISO 8601) in the customer's stats:
    ordersCount + 1, totalSpent + total (atomic ADDs, so concurrent orders all count), lastOrderAt = ``at``.

    Returns no writes when the customer no longer exists (deleted customers keep no statistics); the write's
    condition fails the transaction if the customer is deleted between this read and the commit (retry).
    Raises ``InvalidInput`` when ``total`` is not in the currency of the customer's statistics.
    """
    record = store.get_customer(tenant_id, customer_id, consistent=True)
    if record is None:
        return []
    if total.currency != record.currency:
        raise InvalidInput(
            detail=f"the customer's totals are kept in {record.currency}, not {total.currency}",
            errors=(FieldError("total.currency", f"must be {record.currency}", "currency-mismatch"),),
        )
    return [store.order_stats_op(tenant_id, customer_id, total.amount, record.currency, at)]


def get_customer(principal: Principal, customer_id: str) -> Customer:
    """One customer."""
    require(principal, Permission.CUSTOMERS_READ)
    return load_customer(principal.tenant_id, customer_id)


def _one_lookup(query: CustomerListQuery) -> None:
    sent = [name for name in ("email", "phone", "q") if getattr(query, name) is not None]
    if len(sent) > 1:
        raise invalid_field(f"query.{sent[1]}", f"use one of email, phone or q (got {', '.join(sent)})")


def list_customers(principal: Principal, query: CustomerListQuery) -> Page[Customer]:
    """One page of customers: newest first, or by name prefix, or the one with an exact email or phone."""
    require(principal, Permission.CUSTOMERS_READ)
    _one_lookup(query)
    tenant = principal.tenant_id
    for field in _CONTACTS:
        value: str | None = getattr(query, field)
        if value is not None:
            customer_id = store.find_by_contact(tenant, field, value)
            record = store.get_customer(tenant, customer_id) if customer_id else None
            return Page[Customer](items=[Customer.of(record)] if record else [])
    if query.q is not None:
        prefix = fold(query.q)
        if not prefix:
            raise invalid_field("query.q", "must contain a letter or a digit")
        scope = f"customers:name:{prefix}"
        start = decode_cursor(query.cursor, tenant_id=tenant, scope=scope) if query.cursor else None
        page = store.search_customers(tenant, prefix, query.limit, start)
    else:
        scope = "customers:all"
        start = decode_cursor(query.cursor, tenant_id=tenant, scope=scope) if query.cursor else None
        page = store.list_customers(tenant, query.limit, start)
    return Page[Customer](
        items=[Customer.of(record) for record in page.items],
        next_cursor=encode_cursor(page.last_key, tenant_id=tenant, scope=scope) if page.last_key else None,
    )


def create_customer(principal: Principal, body: CreateCustomerRequest, idempotency_key: str | None) -> Customer:
    """Add a customer; email and phone must not belong to another customer of the tenant (409 naming them)."""
    require(principal, Permission.CUSTOMERS_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "customers.create",
        body,
        Customer,
        lambda seal: _create_customer(principal, body, seal),
    )


@dataclass(frozen=True)
class NewCustomer:
    """A customer ready to be written in a transaction: the customer, its writes, and the writes that claim its
    email and phone (each failing with a 409 naming the field when another customer has it)."""

    customer: Customer
    ops: list[WriteOp]
    claims: list[WriteOp]


def new_customer(principal: Principal, body: CreateCustomerRequest) -> NewCustomer:
    """The writes that create a customer (record, email/phone claims, audit entry, ``customer.created``), for a
    transaction of the caller's own (a lead conversion creates the customer with the sale)."""
    tenant = load_tenant(principal.tenant_id)
    now = clock.now_iso()
    customer_id = new_id()
    consents, consent_entries = changed_consents(principal, customer_id, Consents(), body.consents, now)
    record = CustomerRecord.model_validate(
        {
            **body.model_dump(by_alias=False, include={"name", "email", "phone", "tags", "notes"}),
            "id": customer_id,
            "tenant_id": tenant.id,
            "address": _address(body.address),
            "consents": consents,
            "currency": tenant.currency,
            "created_at": now,
            "updated_at": now,
            **_document_fields(tenant.id, tenant.country, body.document),
        }
    )
    ops = [store.new_customer_op(record), *consent_entries]
    claims = []
    for field in _CONTACTS:
        value: str | None = getattr(record, field)
        if value is not None:
            claims.append(store.claim_op(tenant.id, field, value, record.id).on_conflict(_taken(field)))
    ops += [
        audit_op(principal, "customer.created", Kind.CUSTOMER, record.id, after=record.model_dump()),
        event_put_op(new_event("customer.created", tenant.id, {}, subject=record.id)),
    ]
    return NewCustomer(Customer.of(record), ops, claims)


def find_customer_id(tenant_id: str, *, email: str | None = None, phone: str | None = None) -> str | None:
    """The id of the customer with this email, else with this phone (normalised: lowercase email, E.164), or None."""
    contacts: tuple[tuple[ContactField, str | None], ...] = (("email", email), ("phone", phone))
    for field, value in contacts:
        if value is not None:
            found = store.find_by_contact(tenant_id, field, value)
            if found is not None:
                return found
    return None


def _create_customer(principal: Principal, body: CreateCustomerRequest, seal: idempotency.Seal) -> Customer:
    created = new_customer(principal, body)
    Table().transact([*created.ops, *created.claims, *seal(created.customer)])
    return created.customer


def update_customer(principal: Principal, customer_id: str, body: UpdateCustomerRequest) -> Customer:
    """Change a customer (optimistic locking on ``version``); a new email or phone moves its unique claim."""
    require(principal, Permission.CUSTOMERS_WRITE)
    tenant_id = principal.tenant_id
    before = store.get_customer(tenant_id, customer_id, consistent=True)
    if before is None:
        raise NotFound(detail=f"no customer {customer_id}")
    if before.version != body.version:
        raise VersionConflict(detail=f"the customer is at version {before.version}; reload and retry")
    now = clock.now_iso()
    sent = body.model_fields_set
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, include={"name", "email", "phone", "tags", "notes"})
    if "address" in sent:
        address = _address(body.address)
        changes["address"] = address.model_dump() if address is not None else None
    if "document" in sent:
        changes.update(_document_fields(tenant_id, load_tenant(tenant_id).country, body.document))
    consent_entries: list[WriteOp] = []
    if "consents" in sent:
        consents, consent_entries = changed_consents(principal, customer_id, before.consents, body.consents, now)
        changes["consents"] = consents.model_dump()
    changes["updatedAt"] = now
    after = merge_patch(before, changes, version=before.version + 1)
    moved = VersionConflict(detail="the customer changed since you read it; reload and retry")
    ops = [store.update_customer_op(before, after, changes).on_conflict(moved), *consent_entries]
    for field in _CONTACTS:
        old, new = getattr(before, field), getattr(after, field)
        if old == new:
            continue
        if old is not None:
            ops.append(store.release_op(tenant_id, field, old))
        if new is not None:
            ops.append(store.claim_op(tenant_id, field, new, customer_id).on_conflict(_taken(field)))
    changed = sorted(body.changes())
    ops += [
        audit_op(
            principal,
            "customer.updated",
            Kind.CUSTOMER,
            customer_id,
            before=before.model_dump(),
            after=after.model_dump(),
        ),
        event_put_op(new_event("customer.updated", tenant_id, {"changed": changed}, subject=customer_id)),
    ]
    Table().transact(ops)
    return Customer.of(after)


def delete_customer(principal: Principal, customer_id: str) -> None:
    """Delete a customer for good: the record goes and its email and phone are free again.

    Orders keep their own copy of what they need. Erasing a person everywhere (orders, audit trail, messages)
    is the privacy capability's job, not this.
    """
    require(principal, Permission.CUSTOMERS_WRITE)
    tenant_id = principal.tenant_id
    record = store.get_customer(tenant_id, customer_id, consistent=True)
    if record is None:
        raise NotFound(detail=f"no customer {customer_id}")
    ops = [store.delete_customer_op(record)]
    ops += [store.release_op(tenant_id, field, getattr(record, field)) for field in _CONTACTS if getattr(record, field)]
    ops += [
        audit_op(principal, "customer.deleted", Kind.CUSTOMER, customer_id, before=record.model_dump()),
        event_put_op(new_event("customer.deleted", tenant_id, {}, subject=customer_id)),
    ]
    try:
        Table().transact(ops)
    except TransactionConflict as exc:
        raise Conflict(detail="the customer changed while it was being deleted; reload and retry") from exc
