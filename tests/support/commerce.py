"""Helpers that create catalog items, stock and customers through the API, and watch the events written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from chalicelib.core.db.store import Table
from chalicelib.core.events import EVENT_ENTITY
from tests.support.identity import Account, call

_deserializer = TypeDeserializer()


def create_product(api: Any, account: Account, **fields: Any) -> dict[str, Any]:
    """A product (kind product unless ``fields`` say otherwise) priced in BRL, the signup's default currency."""
    body: dict[str, Any] = {"kind": "product", "name": "Pão de queijo", "price": {"amount": "6.50", "currency": "BRL"}}
    body.update(fields)
    if body["kind"] == "service":
        body.setdefault("durationMinutes", 30)
    response = call(api, "POST", "/products", body, account.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def create_group(api: Any, account: Account, collection: str, name: str) -> dict[str, Any]:
    """A category (``collection="categories"``) or brand (``"brands"``)."""
    response = call(api, "POST", f"/{collection}", {"name": name}, account.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def move_stock(api: Any, account: Account, product_id: str, type_: str, quantity: int, **fields: Any) -> Any:
    """POST a movement; returns the raw response."""
    body = {"type": type_, "quantity": quantity, **fields}
    return call(api, "POST", f"/inventory/{product_id}/movements", body, account.headers())


def stocked_product(api: Any, account: Account, units: int, **fields: Any) -> dict[str, Any]:
    """A product with ``units`` on hand."""
    product = create_product(api, account, **fields)
    if units:
        assert move_stock(api, account, product["id"], "in", units).status_code == 201
    return product


def create_customer(api: Any, account: Account, **fields: Any) -> dict[str, Any]:
    """A customer named Maria unless ``fields`` say otherwise."""
    body: dict[str, Any] = {"name": "Maria Souza", **fields}
    response = call(api, "POST", "/customers", body, account.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


@dataclass(frozen=True)
class WrittenEvent:
    """A domain event committed with a change."""

    type: str
    tenant_id: str
    subject: str | None
    data: dict[str, Any]


@pytest.fixture
def written_events(monkeypatch: pytest.MonkeyPatch) -> list[WrittenEvent]:
    """The domain events of every transaction committed during the test (the outbox items, as written)."""
    committed: list[WrittenEvent] = []
    original = Table.transact

    def transact(self: Table, operations: Any) -> None:
        original(self, operations)
        for op in operations:
            if op.action != "Put":
                continue
            item = {name: _deserializer.deserialize(value) for name, value in op.body["Item"].items()}
            if item.get("entity") == EVENT_ENTITY:
                committed.append(WrittenEvent(item["type"], item["tenantId"], item.get("subject"), item["data"]))

    monkeypatch.setattr(Table, "transact", transact)
    return committed
