"""Ids in request bodies name something of the caller's tenant: generated from the request models.

Every field named ``…Id``/``…Ids`` is declared a checked reference (``Ref``), checked by its service
(``CheckedInService``) or not a reference of the tenant (``NotAReference``), and every declared one is tried over
HTTP with another tenant's id, with ids that name nothing and with malformed ones: a 422 naming exactly that field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core.ids import new_id
from chalicelib.core.references import CheckedInService, NotAReference, Ref, registered_kinds
from tests.support.commerce import create_customer, create_group, create_product
from tests.support.entities import ENTITY_IDS, create_resource
from tests.support.identity import Account, call, signup
from tests.support.request_models import BodyField, body_fields

ID_NAME = re.compile(r".+(Id|Ids)$")
# Ids no tenant has, of a shape that could not be part of a key either: a 422 naming the field, never a 500.
MALFORMED = ("", "a#b", "x" * 65, "x" * 3000)
MARKERS = (Ref, CheckedInService, NotAReference)


def _marker(field: BodyField) -> Any:
    return next((m for m in field.info.metadata if isinstance(m, MARKERS)), None)


def _kind(field: BodyField) -> str | None:
    marker = _marker(field)
    return marker.kind if isinstance(marker, Ref | CheckedInService) else None


CHECKED = [field for field in body_fields() if _kind(field) is not None]


def test_every_id_field_of_a_request_says_what_it_names() -> None:
    unmarked = [str(field) for field in body_fields() if ID_NAME.fullmatch(field.name) and _marker(field) is None]
    assert unmarked == [], "declare each with Ref(kind), CheckedInService(kind, reason) or NotAReference(reason)"
    for field in body_fields():
        marker = _marker(field)
        if isinstance(marker, CheckedInService | NotAReference):
            assert len(marker.reason) > 20, f"{field}: say why"


def test_every_referenced_kind_has_a_resolver() -> None:
    kinds = {m.kind for f in body_fields() if isinstance(m := _marker(f), Ref)}
    assert kinds <= registered_kinds()


# --- over HTTP --------------------------------------------------------------------------------------------------

Maker = Callable[[Any, Account], str]

# How to create, in a tenant, something of each kind a body may name (another tenant's, for the probes).
KINDS: dict[str, Maker] = {
    "customer": lambda api, owner: create_customer(api, owner)["id"],
    "user": lambda api, owner: owner.user_id,
    "product": lambda api, owner: create_product(api, owner)["id"],
    "service": lambda api, owner: create_product(api, owner, kind="service", name="Probe visit")["id"],
    "category": lambda api, owner: create_group(api, owner, "categories", f"Category {new_id()}")["id"],
    "brand": lambda api, owner: create_group(api, owner, "brands", f"Brand {new_id()}")["id"],
    "resource": create_resource,
    "order": lambda api, owner: ENTITY_IDS["order_id"](api, owner),
    "bank_account": lambda api, owner: ENTITY_IDS["account_id"](api, owner),
    "sale": lambda api, owner: ENTITY_IDS["sale_id"](api, owner),
}

_OPEN = {day: [{"start": "00:00", "end": "23:55"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _later() -> str:
    return (datetime.now(UTC) + timedelta(days=5)).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()


def _own(kind: str) -> Maker:
    return KINDS[kind]


Bodies = Callable[[Any, Account], list[dict[str, Any]]]


def _sale(api: Any, me: Account, **fields: Any) -> dict[str, Any]:
    """What a sale names (its service, customer and rep), for a new sale, a sale's change or a lead's conversion."""
    return {
        **fields,
        "serviceId": _own("service")(api, me),
        "customerId": _own("customer")(api, me),
        "assignedTo": me.user_id,
    }


# Valid bodies of each route that takes references, naming the caller's own things: a probe replaces one id.
# A route whose body gains a reference must be added here (the test says so).
BODIES: dict[tuple[str, str], Bodies] = {
    ("POST", "/resources"): lambda api, me: [
        {
            "name": "Dra. Ana",
            "kind": "staff",
            "workingHours": _OPEN,
            "userId": me.user_id,
            "serviceIds": [_own("service")(api, me)],
        }
    ],
    ("PATCH", "/resources/{resource_id}"): lambda api, me: [{"version": 1, "serviceIds": [_own("service")(api, me)]}],
    ("POST", "/appointments"): lambda api, me: [
        {
            "resourceId": create_resource(api, me),
            "serviceId": _own("service")(api, me),
            "startsAt": _later(),
            "customerId": _own("customer")(api, me),
        }
    ],
    ("POST", "/appointments/{appointment_id}/reschedule"): lambda api, me: [
        {"version": 1, "startsAt": _later(), "resourceId": create_resource(api, me)}
    ],
    ("POST", "/orders"): lambda api, me: [
        {
            "items": [{"productId": _own("service")(api, me), "quantity": 1}],
            "customerId": _own("customer")(api, me),
            "assignedTo": me.user_id,
        }
    ],
    ("PATCH", "/orders/{order_id}"): lambda api, me: [{"version": 1, "assignedTo": me.user_id}],
    # A quote lives in its order's partition: any id that is not one of this order's quotes is a 422.
    ("POST", "/orders/{order_id}/shipments"): lambda api, me: [{"quoteId": new_id()}],
    ("POST", "/products"): lambda api, me: [
        {
            "kind": "product",
            "name": "Probe",
            "price": {"amount": "1.00", "currency": "BRL"},
            "categoryId": _own("category")(api, me),
            "brandId": _own("brand")(api, me),
        }
    ],
    ("PATCH", "/products/{product_id}"): lambda api, me: [
        {"version": 1, "categoryId": _own("category")(api, me), "brandId": _own("brand")(api, me)}
    ],
    ("POST", "/notifications"): lambda api, me: [
        {"channel": "email", "customerId": _own("customer")(api, me), "text": "Probe", "subject": "Probe"},
        {"channel": "email", "userId": me.user_id, "text": "Probe", "subject": "Probe"},
    ],
    ("POST", "/channels/whatsapp"): lambda api, me: [
        {
            "phoneNumberId": str(int(new_id().encode().hex(), 16) % 10**15).zfill(15),
            "wabaId": "102290129340398",
            "accessToken": "EAAG-probe-token-0123456789",
            "appSecret": "probe-app-secret-0123",
            "verifyToken": "probe-verify-token",
            "portalId": new_id(),
            "line": "1",
        }
    ],
    ("PATCH", "/channels/{channel_id}"): lambda api, me: [{"version": 1, "portalId": new_id(), "line": "1"}],
    ("POST", "/sales"): lambda api, me: [_sale(api, me)],
    ("PATCH", "/sales/{sale_id}"): lambda api, me: [_sale(api, me, version=1)],
    ("POST", "/leads"): lambda api, me: [
        {"contactName": "Probe Lead", "interestServiceId": _own("service")(api, me), "ownerId": me.user_id}
    ],
    ("PATCH", "/leads/{lead_id}"): lambda api, me: [
        {"version": 1, "interestServiceId": _own("service")(api, me), "ownerId": me.user_id}
    ],
    ("POST", "/leads/{lead_id}/convert"): lambda api, me: [_sale(api, me, version=1)],
    ("POST", "/conversations/{conversation_id}/lead"): lambda api, me: [
        {"interestServiceId": _own("service")(api, me), "ownerId": me.user_id}
    ],
    ("POST", "/payment-links"): lambda api, me: [
        {"orderId": _own("order")(api, me)},
        {"saleId": _own("sale")(api, me)},
    ],
    ("POST", "/finance/transactions"): lambda api, me: [
        {
            "type": "income",
            "amount": {"amount": "5.00", "currency": "BRL"},
            "category": "vendas",
            "date": "2026-01-02",
            "accountId": ENTITY_IDS["account_id"](api, me),
            "orderId": _own("order")(api, me),
            "saleId": ENTITY_IDS["sale_id"](api, me),
        }
    ],
    ("POST", "/finance/transfers"): lambda api, me: [
        {
            "fromAccountId": ENTITY_IDS["account_id"](api, me),
            "toAccountId": ENTITY_IDS["account_id"](api, me),
            "amount": {"amount": "5.00", "currency": "BRL"},
            "date": "2026-01-02",
        }
    ],
    ("POST", "/finance/recurring"): lambda api, me: [
        {
            "name": "Aluguel",
            "type": "expense",
            "amount": {"amount": "5.00", "currency": "BRL"},
            "category": "aluguel",
            "dayOfMonth": 5,
            "accountId": ENTITY_IDS["account_id"](api, me),
        }
    ],
    ("POST", "/finance/payouts"): lambda api, me: [
        {
            "accountId": ENTITY_IDS["account_id"](api, me),
            "amount": {"amount": "5.00", "currency": "BRL"},
            "date": "2026-01-02",
            "beneficiary": "Probe",
            "number": "777-1",
        }
    ],
    ("POST", "/marketplace/listings"): lambda api, me: [
        {"productId": ENTITY_IDS["product_id"](api, me), "price": {"amount": "5.00", "currency": "BRL"}}
    ],
}
ROUTES = sorted({(field.method, field.path) for field in CHECKED})


def test_every_route_with_references_has_probe_bodies() -> None:
    assert [route for route in ROUTES if route not in BODIES] == [], "add valid bodies of the route to BODIES"


def _slot(body: dict[str, Any], loc: tuple[str | int, ...]) -> tuple[Any, str | int] | None:
    """The container and key of ``loc`` in ``body`` (None when the body does not hold it)."""
    here: Any = body
    for part in loc[:-1]:
        if isinstance(part, int):
            if not isinstance(here, list) or len(here) <= part:
                return None
        elif not isinstance(here, dict) or part not in here:
            return None
        here = here[part]
    return (here, loc[-1]) if isinstance(here, dict) and loc[-1] in here else None


@pytest.fixture(scope="module")
def tenants(api: Any) -> tuple[Account, Account]:
    """The caller's tenant and another one, whose ids the caller sends."""
    me, _ = signup(api, plan="corporativo")
    other, _ = signup(api, plan="corporativo")
    return me, other


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_an_id_of_another_tenant_or_of_nothing_is_a_422_naming_the_field(
    api: Any, tenants: tuple[Account, Account], route: tuple[str, str]
) -> None:
    me, other = tenants
    method, path = route
    bodies = BODIES[route](api, me)
    target = re.sub(r"\{(\w+)\}", lambda m: ENTITY_IDS[m.group(1)](api, me), path)
    wrong = []
    for field in [f for f in CHECKED if (f.method, f.path) == route]:
        holder = next((b for b in bodies if _slot(b, field.loc) is not None), None)
        assert holder is not None, f"{field}: no body of BODIES holds it"
        kind = str(_kind(field))
        strangers = [new_id(), "NOT-A-REAL-ID", *MALFORMED] + ([KINDS[kind](api, other)] if kind in KINDS else [])
        for stranger in strangers:
            probe = copy.deepcopy(holder)
            slot = _slot(probe, field.loc)
            assert slot is not None
            container, key = slot
            listed = isinstance(container[key], list)
            container[key] = [stranger] if listed else stranger
            expected = field.field + ("[0]" if listed else "")
            response = call(api, method, target, probe, me.headers())
            named = [e["field"] for e in response.json_body.get("errors", [])] if response.status_code == 422 else []
            if named != [expected]:
                wrong.append(f"{field} = {stranger!r}: {response.status_code} {response.body[:300]!r}")
    assert wrong == []
