"""Payments in the table: the ledger (lists by time, status, provider and payable), payment links (children of the
order or sale they pay: the payable), the payable's payment state, the link routes (token hash → link) and the
provider-payment claims.

Access patterns (``core/db/keys/``): a payment is its own partition, listed on GSI1 (all), GSI2 (by status,
moved by every status change) and GSI3 (by provider); a payable's payments are index items under the order or sale
(``PAYMENT#<createdAt>_<id>``). Links live under the payable (``PAYLINK#<id>``) with its ``PAYSTATE`` (the current
link, the payment that paid it, a version): creating a link and claiming "paid" are conditional writes on it, so
two links cannot both become current and two payments cannot both pay the same order or sale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind, RouteKind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, put_op, unscoped, update_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.core.personal_data import all_pages
from chalicelib.payments.models import PayableKind, Payment, PaymentLink

__all__ = [
    "LinkRoute",
    "PaymentState",
    "all_payment_ids",
    "claim_paid_op",
    "find_payment_id",
    "find_route",
    "get_link",
    "get_payment",
    "get_state",
    "link_change_op",
    "list_links",
    "list_payable_payment_ids",
    "list_payments",
    "new_link_ops",
    "new_payment_ops",
    "payment_change_op",
    "payment_pk",
    "release_paid_op",
    "state_for_new_link_op",
]

PAYMENT_ENTITY = "Payment"
LINK_ENTITY = "PaymentLink"
_PAYMENT_CHILD = "PAYMENT"
_LINK_CHILD = "PAYLINK"
_STATUS_FACET = "STATUS"
_PROVIDER_FACET = "PROVIDER"
_PROVIDER_PAYMENT = "PROVIDERPAYMENT"


@dataclass(frozen=True)
class LinkRoute:
    """Where a link token leads: the tenant, what the link pays and the link."""

    tenant_id: str
    kind: PayableKind
    payable_id: str
    link_id: str


@dataclass(frozen=True)
class PaymentState:
    """An order's or a sale's payment state: its current link, the payment that paid it, the version guarding both."""

    current_link_id: str | None = None
    paid_by: str | None = None
    version: int = 0


# --- payments --------------------------------------------------------------------------------------------------


def _payment_key(tenant_id: str, payment_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.PAYMENT, payment_id), keys.META_SK


_PAYABLE_KINDS: dict[PayableKind, Kind] = {"order": Kind.ORDER, "sale": Kind.SALE}


def _payable_pk(tenant_id: str, kind: PayableKind, payable_id: str) -> str:
    return keys.entity_pk(tenant_id, _PAYABLE_KINDS[kind], payable_id)


def _status_keys(tenant_id: str, status: str, created_at: str, payment_id: str) -> dict[str, str]:
    return {
        GSI2.partition_key: keys.facet_pk(tenant_id, Collection.PAYMENTS, _STATUS_FACET, status),
        GSI2.sort_key: keys.time_sk(created_at, payment_id),
    }


def _claim_key(tenant_id: str, provider: str, provider_payment_id: str) -> tuple[str, str]:
    # Provider ids are opaque strings: hashed, so no character of theirs can break the key.
    digest = hashlib.sha256(f"{provider}\n{provider_payment_id}".encode()).hexdigest()
    return keys.unique_pk(tenant_id, _PROVIDER_PAYMENT, digest), keys.UNIQUE_SK


def _stored(payment: Payment) -> dict[str, Any]:
    return payment.model_dump(exclude_none=True, mode="json")


def new_payment_ops(payment: Payment) -> list[WriteOp]:
    """Create the payment, its entry under its order or sale, and the claim of its provider id (a second record of the
    same provider payment fails the transaction)."""
    pk, sk = _payment_key(payment.tenant_id, payment.id)
    sort = keys.time_sk(payment.created_at, payment.id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: PAYMENT_ENTITY,
        GSI1.partition_key: keys.collection_pk(payment.tenant_id, Collection.PAYMENTS),
        GSI1.sort_key: sort,
        **_status_keys(payment.tenant_id, payment.status, payment.created_at, payment.id),
        GSI3.partition_key: keys.facet_pk(payment.tenant_id, Collection.PAYMENTS, _PROVIDER_FACET, payment.provider),
        GSI3.sort_key: sort,
        **_stored(payment),
    }
    reference = {
        PARTITION_KEY: _payable_pk(payment.tenant_id, *payment.payable),
        SORT_KEY: keys.child_sk(_PAYMENT_CHILD, f"{payment.created_at}_{payment.id}"),
        ENTITY: "OrderPayment" if payment.order_id is not None else "SalePayment",
        "paymentId": payment.id,
    }
    claim_pk, claim_sk = _claim_key(payment.tenant_id, payment.provider, payment.provider_payment_id)
    claim = {PARTITION_KEY: claim_pk, SORT_KEY: claim_sk, ENTITY: "ProviderPayment", "paymentId": payment.id}
    return [put_op(item), put_op(reference), put_op(claim)]


def payment_change_op(before: Payment, after: Payment) -> WriteOp:
    """Write ``after`` over ``before`` if nobody changed the payment since (its version); moves it to the list of
    its new status."""
    pk, sk = _payment_key(after.tenant_id, after.id)
    changes = {k: v for k, v in _stored(after).items() if k != "version"}
    changes.update(_status_keys(after.tenant_id, after.status, after.created_at, after.id))
    return update_op(pk, sk, changes, expected_version=before.version)


def get_payment(tenant_id: str, payment_id: str, *, consistent: bool = False) -> Payment | None:
    """The payment, or None."""
    item = Table().get(*_payment_key(tenant_id, payment_id), consistent=consistent)
    return None if item is None else Payment.model_validate(strip_storage(item))


def find_payment_id(tenant_id: str, provider: str, provider_payment_id: str) -> str | None:
    """The id of the payment recorded for a provider's payment, or None."""
    item = Table().get(*_claim_key(tenant_id, provider, provider_payment_id), consistent=True)
    return None if item is None else str(item["paymentId"])


def list_payments(
    tenant_id: str,
    *,
    status: str | None,
    provider: str | None,
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage:
    """One page of the tenant's payments, newest first: all, of one status or of one provider, in a time range."""
    if status is not None:
        partition, index = keys.facet_pk(tenant_id, Collection.PAYMENTS, _STATUS_FACET, status), GSI2
    elif provider is not None:
        partition, index = keys.facet_pk(tenant_id, Collection.PAYMENTS, _PROVIDER_FACET, provider), GSI3
    else:
        partition, index = keys.collection_pk(tenant_id, Collection.PAYMENTS), GSI1
    return Table().query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )


def list_payable_payment_ids(
    tenant_id: str,
    payable: tuple[PayableKind, str],
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage:
    """One page of the index items of an order's or a sale's payments (``paymentId`` each), newest first, in a time
    range."""
    return Table().query_page(
        _payable_pk(tenant_id, *payable),
        sort_between=(keys.child_sk(_PAYMENT_CHILD, between[0]), keys.child_sk(_PAYMENT_CHILD, between[1])),
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )


# --- links, routes and the payable's payment state ---------------------------------------------------------------


def _link_key(tenant_id: str, payable: tuple[PayableKind, str], link_id: str) -> tuple[str, str]:
    return _payable_pk(tenant_id, *payable), keys.child_sk(_LINK_CHILD, link_id)


def _route_key(token_hash: str) -> tuple[str, str]:
    return keys.route_pk(RouteKind.PAYMENT_LINK, token_hash), keys.ROUTE_SK


def new_link_ops(link: PaymentLink, token_hash: str, route_expires_at: int) -> list[WriteOp]:
    """Create the link (without its URL: only the token's hash is kept) and its route (TTL ``route_expires_at``)."""
    pk, sk = _link_key(link.tenant_id, link.payable, link.id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: LINK_ENTITY,
        **link.model_dump(exclude_none=True, exclude={"url"}),
        "checkoutUrl": link.checkout_url,
    }
    route_pk, route_sk = _route_key(token_hash)
    route = {
        PARTITION_KEY: route_pk,
        SORT_KEY: route_sk,
        ENTITY: "PaymentLinkRoute",
        TTL_ATTRIBUTE: route_expires_at,
        "tenantId": link.tenant_id,
        **{f"{link.payable[0]}Id": link.payable[1]},
        "linkId": link.id,
    }
    return [put_op(item), put_op(route)]


def get_link(
    tenant_id: str, payable: tuple[PayableKind, str], link_id: str, *, consistent: bool = False
) -> PaymentLink | None:
    """The link of the order or sale, or None."""
    item = Table().get(*_link_key(tenant_id, payable, link_id), consistent=consistent)
    return None if item is None else PaymentLink.model_validate(strip_storage(item))


def link_change_op(link: PaymentLink, changes: Mapping[str, Any], *, while_status: str) -> WriteOp:
    """Set ``changes`` on the link only while it is still ``while_status`` (a link changes state once)."""
    pk, sk = _link_key(link.tenant_id, link.payable, link.id)
    return change_op(pk, sk, set_=changes, condition=Attr("status").eq(while_status))


def list_links(
    tenant_id: str, payable: tuple[PayableKind, str], limit: int, start_key: Mapping[str, str] | None
) -> QueryPage:
    """One page of an order's or a sale's links, newest first."""
    return Table().query_page(
        _payable_pk(tenant_id, *payable),
        sort_prefix=keys.child_prefix(_LINK_CHILD),
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )


def find_route(token_hash: str) -> tuple[LinkRoute, int] | None:
    """Where a token leads (and until when its route is kept), or None. Routes are the platform's: read unscoped."""
    with unscoped():
        item = Table().get(*_route_key(token_hash))
    if item is None:
        return None
    # Routes of a sale's link name its saleId; an order's its orderId.
    kind: PayableKind = "sale" if "saleId" in item else "order"
    route = LinkRoute(
        tenant_id=str(item["tenantId"]), kind=kind, payable_id=str(item[f"{kind}Id"]), link_id=str(item["linkId"])
    )
    return route, int(item.get(TTL_ATTRIBUTE, 0))


def _state_key(tenant_id: str, payable: tuple[PayableKind, str]) -> tuple[str, str]:
    return _payable_pk(tenant_id, *payable), keys.PAYMENT_STATE_SK


def get_state(tenant_id: str, payable: tuple[PayableKind, str]) -> PaymentState:
    """The order's or sale's payment state (consistent read; one that never had a link has the empty state)."""
    item = Table().get(*_state_key(tenant_id, payable), consistent=True)
    if item is None:
        return PaymentState()
    return PaymentState(
        current_link_id=item.get("currentLinkId"), paid_by=item.get("paidBy"), version=int(item["version"])
    )


def state_for_new_link_op(
    tenant_id: str, payable: tuple[PayableKind, str], state: PaymentState, link_id: str
) -> WriteOp:
    """Make ``link_id`` the payable's current link, if the state is still the one read and it is unpaid."""
    pk, sk = _state_key(tenant_id, payable)
    if state.version == 0:
        item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "PaymentState", "currentLinkId": link_id, "version": 1}
        return put_op(item)
    condition = Attr("version").eq(state.version) & Attr("paidBy").not_exists()
    return change_op(pk, sk, set_={"currentLinkId": link_id}, add={"version": 1}, condition=condition)


def claim_paid_op(tenant_id: str, payable: tuple[PayableKind, str], payment_id: str) -> WriteOp:
    """Record that ``payment_id`` paid the order or sale, unless another payment did (then the transaction fails)."""
    pk, sk = _state_key(tenant_id, payable)
    condition = Attr("paidBy").not_exists() | Attr("paidBy").eq(payment_id)
    return change_op(pk, sk, set_={"paidBy": payment_id}, add={"version": 1}, condition=condition)


def release_paid_op(tenant_id: str, payable: tuple[PayableKind, str], payment_id: str) -> WriteOp:
    """The order or sale is no longer paid by ``payment_id`` (it was refunded in full): it may be paid again."""
    pk, sk = _state_key(tenant_id, payable)
    return change_op(pk, sk, remove=("paidBy",), add={"version": 1}, condition=Attr("paidBy").eq(payment_id))


def payment_pk(tenant_id: str, payment_id: str) -> str:
    """The payment's partition."""
    return _payment_key(tenant_id, payment_id)[0]


def all_payment_ids(tenant_id: str, payable: tuple[PayableKind, str]) -> list[str]:
    """Every payment of an order or a sale (for privacy requests)."""
    return [
        str(entry["paymentId"])
        for entry in all_pages(
            lambda start: list_payable_payment_ids(tenant_id, payable, ("0", "~"), limit=100, start_key=start)
        )
    ]
