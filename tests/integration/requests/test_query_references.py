"""Ids in query strings select only the caller's own things: generated from the query models of the routes.

A filter such as ``GET /orders?customerId=`` names an entity; with the id of another tenant's entity (one that,
in its own tenant, selects records) the caller gets nothing of that tenant: an empty page, or a 404/422 naming
the parameter, never the other tenant's records. Every query parameter named ``…Id``/``…Ids`` of every route is
probed, and the same query as the other tenant proves the probe selects something there. A malformed id (one that
could not be part of a key) is a 422 naming the parameter, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.ids import new_id
from tests.support.commerce import create_customer, create_group, create_product
from tests.support.entities import ENTITY_IDS, create_paid_link, create_resource
from tests.support.identity import Account, call, signup
from tests.support.request_models import declared_operations

ID_NAME = re.compile(r".+(Id|Ids)$")

Params = dict[str, str]
Probe = Callable[[Any, Account], Params]


def _service(api: Any, owner: Account) -> str:
    return str(create_product(api, owner, kind="service", name="Probe visit", durationMinutes=30)["id"])


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()


def _customer_with_an_order_and_a_sale(api: Any, owner: Account) -> Params:
    customer = create_customer(api, owner)["id"]
    body = {"items": [{"productId": _service(api, owner), "quantity": 1}], "customerId": customer}
    assert call(api, "POST", "/orders", body, owner.headers()).status_code == 201
    sale = {"serviceId": _service(api, owner), "customerId": customer}
    assert call(api, "POST", "/sales", sale, owner.headers()).status_code == 201
    return {"customerId": customer}


def _owner_of_a_lead(api: Any, owner: Account) -> Params:
    assert call(api, "POST", "/leads", {"contactName": "Probe Lead"}, owner.headers()).status_code == 201
    return {"ownerId": owner.user_id}


def _resource_with_an_appointment(api: Any, owner: Account) -> Params:
    resource = create_resource(api, owner)
    body = {"resourceId": resource, "serviceId": _service(api, owner), "startsAt": _in_days(3)}
    assert call(api, "POST", "/appointments", body, owner.headers()).status_code == 201
    return {"resourceId": resource}


def _group_with_a_product(collection: str, field: str) -> Probe:
    def probe(api: Any, owner: Account) -> Params:
        group = create_group(api, owner, collection, f"Probe {new_id()}")["id"]
        create_product(api, owner, **{field: group})
        return {field: group}

    return probe


def _channel_with_a_conversation(api: Any, owner: Account) -> Params:
    conversation = call(
        api, "GET", f"/conversations/{ENTITY_IDS['conversation_id'](api, owner)}", None, owner.headers()
    )
    assert conversation.status_code == 200, conversation.body
    return {"channelId": conversation.json_body["channelId"]}


def _actor_with_entries(api: Any, owner: Account) -> Params:
    create_product(api, owner)  # audited: product.created by the owner
    return {"actorId": owner.user_id}


def _entity_with_entries(api: Any, owner: Account) -> Params:
    return {"entityType": "product", "entityId": create_product(api, owner)["id"]}


def _account_with_a_transaction(api: Any, owner: Account) -> Params:
    account = ENTITY_IDS["account_id"](api, owner)
    body = {
        "type": "income",
        "amount": {"amount": "5.00", "currency": "BRL"},
        "category": "vendas",
        "date": "2026-01-02",
        "accountId": account,
    }
    assert call(api, "POST", "/finance/transactions", body, owner.headers()).status_code == 201
    return {"accountId": account}


# For each id parameter: create, as ``owner``, an entity that its filter selects records of; the parameters that
# select them. A route whose query gains an id parameter adds its probe here (the test says so).
PROBES: dict[str, Probe] = {
    "customerId": _customer_with_an_order_and_a_sale,
    "ownerId": _owner_of_a_lead,
    "resourceId": _resource_with_an_appointment,
    "serviceId": lambda api, owner: {"serviceId": _service(api, owner)},
    "categoryId": _group_with_a_product("categories", "categoryId"),
    "brandId": _group_with_a_product("brands", "brandId"),
    "channelId": _channel_with_a_conversation,
    "actorId": _actor_with_entries,
    "entityId": _entity_with_entries,
    "orderId": lambda api, owner: {"orderId": create_paid_link(api, owner)},
    "accountId": _account_with_a_transaction,
    "saleId": lambda api, owner: {"saleId": create_paid_link(api, owner, "sale")},
}

# The other parameters a route needs, for a tenant (its own entities): a probe replaces some of them.
BASES: dict[tuple[str, str], Probe] = {
    ("GET", "/availability"): lambda api, owner: {
        "resourceId": create_resource(api, owner),
        "serviceId": _service(api, owner),
        "from": _in_days(2),
        "to": _in_days(4),
    },
}


def _nothing_else(api: Any, owner: Account) -> Params:
    return {}


def _routes() -> list[tuple[str, str, str]]:
    found = []
    for method, path, operation in declared_operations():
        if operation.query is None or operation.public:
            continue
        for name, info in operation.query.model_fields.items():
            alias = info.alias or name
            if ID_NAME.fullmatch(alias):
                found.append((method, path, alias))
    return found


ROUTES = _routes()
# Ids of the global marketplace index (the platform operator's categories and brands, not a tenant's): the same id
# selects the same published listings for every tenant, by design. Their malformed-id probe still runs.
GLOBAL_BY_DESIGN = {("GET", "/marketplace/listings", "categoryId"), ("GET", "/marketplace/listings", "brandId")}
TENANT_ROUTES = [route for route in ROUTES if route not in GLOBAL_BY_DESIGN]


def test_every_id_parameter_has_a_probe() -> None:
    assert ROUTES, "no route has an id in its query string"
    assert sorted({p for _, _, p in ROUTES} - set(PROBES)) == [], "add a probe of the parameter to PROBES"


@pytest.fixture(scope="module")
def tenants(api: Any) -> tuple[Account, Account]:
    """The caller's tenant and another one, whose ids the caller sends."""
    me, _ = signup(api, plan="corporativo")
    other, _ = signup(api, plan="corporativo")
    return me, other


def _get(api: Any, method: str, path: str, params: Params, account: Account) -> Any:
    return call(api, method, f"{path}?{urlencode(params)}", None, account.headers())


@pytest.mark.parametrize(("method", "path", "param"), TENANT_ROUTES, ids=[f"{m} {p} {q}" for m, p, q in TENANT_ROUTES])
def test_an_id_of_another_tenant_in_the_query_selects_nothing(
    api: Any, tenants: tuple[Account, Account], method: str, path: str, param: str
) -> None:
    me, other = tenants
    base = BASES.get((method, path), _nothing_else)
    probe = PROBES[param](api, other)

    theirs = _get(api, method, path, {**base(api, other), **probe}, other)
    assert theirs.status_code == 200, theirs.body  # the probe selects something in its own tenant ...
    selected = theirs.json_body.get("items")
    assert selected != [], f"{param}={probe[param]} selects nothing in its own tenant: not a probe"

    mine = _get(api, method, path, {**base(api, me), **probe}, me)
    # ... and nothing in another: an empty page, or a problem naming the parameter.
    if mine.status_code == 200:
        assert selected is not None, f"{method} {path} answered another tenant's {param}: {mine.body!r}"
        assert mine.json_body["items"] == [], mine.body
    else:
        assert mine.status_code in (404, 422), mine.body
        assert mine.headers["Content-Type"].startswith("application/problem+json")
    for item in selected or []:
        assert str(item.get("id", new_id())) not in mine.body.decode()


@pytest.mark.parametrize(("method", "path", "param"), ROUTES, ids=[f"{m} {p} {q}" for m, p, q in ROUTES])
def test_a_malformed_id_in_the_query_is_a_422_naming_it(
    api: Any, tenants: tuple[Account, Account], method: str, path: str, param: str
) -> None:
    me, _ = tenants
    base = BASES.get((method, path), _nothing_else)(api, me)
    wrong = []
    for malformed in ("", "a#b", "x" * 65, "x" * 3000):
        response = _get(api, method, path, {**base, param: malformed}, me)
        named = [e["field"] for e in response.json_body.get("errors", [])] if response.status_code == 422 else []
        if named != [f"query.{param}"]:
            wrong.append(f"{param}={malformed[:10]!r}: {response.status_code} {response.body[:200]!r}")
    assert wrong == []
