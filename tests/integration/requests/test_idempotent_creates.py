"""Every POST that creates a record honours ``Idempotency-Key``: a client that retries after a timeout gets the
first answer (the same record, nothing created twice); the same key with another body is a 409 naming the header.
Generated from the declared operations; the creates left out say why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core.ids import new_id
from tests.support.commerce import create_product
from tests.support.entities import create_resource
from tests.support.identity import Account, call, signup
from tests.support.request_models import declared_operations

# Creates that do not take the header, and why a retry of them needs none.
NOT_KEYED = {
    "/auth/signup": "a second signup of the same email is refused (409): the account exists once",
    "/users": "an invitation of an email already invited is refused (409 naming body.email)",
    "/push-subscriptions": "a subscription is keyed by its push endpoint: the same one again replaces itself",
    "/platform/marketplace/brands": "the platform's own catalogue: a brand's name is unique (409)",
    "/platform/marketplace/categories": "the platform's own catalogue: a category's name is unique (409)",
    "/privacy/exports": "one export per person at a time: a repeat while it runs is a 409 naming body.id",
    "/privacy/erasures": "one erasure per person: a repeat is a 409 naming the first",
}

Body = Callable[[Any, Account], tuple[dict[str, Any], dict[str, Any]]]


def _later() -> str:
    return (datetime.now(UTC) + timedelta(days=4)).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()


def _booking(api: Any, owner: Account) -> tuple[dict[str, Any], dict[str, Any]]:
    service = create_product(api, owner, kind="service", name="Probe visit", durationMinutes=30)["id"]
    body = {"resourceId": create_resource(api, owner), "serviceId": service, "startsAt": _later()}
    return body, {**body, "notes": "another"}


def _room(name: str) -> dict[str, Any]:
    return {"name": name, "kind": "room", "workingHours": {"mon": [{"start": "08:00", "end": "18:00"}]}}


def _recurring(name: str) -> dict[str, Any]:
    amount = {"amount": "3000.00", "currency": "BRL"}
    return {"name": name, "type": "expense", "amount": amount, "category": "aluguel", "dayOfMonth": 5}


# The creates this file replays over HTTP (each was a second record, or for a booking a 409 "already booked").
REPLAYED: dict[str, Body] = {
    "/appointments": _booking,
    "/resources": lambda api, owner: (_room("Sala 1"), _room("Sala 2")),
    "/finance/accounts": lambda api, owner: ({"name": "Caixa", "type": "cash"}, {"name": "Cofre", "type": "cash"}),
    "/finance/recurring": lambda api, owner: (_recurring("Aluguel"), _recurring("Salários")),
}


def test_every_post_that_creates_a_record_takes_an_idempotency_key() -> None:
    unkeyed = {
        path
        for method, path, operation in declared_operations()
        if method == "POST" and operation.status in (201, 202) and "{" not in path and not operation.idempotent
    }
    assert unkeyed == set(NOT_KEYED)


@pytest.mark.parametrize("path", sorted(REPLAYED))
def test_a_create_retried_with_its_key_answers_the_first_record(api: Any, path: str) -> None:
    admin, _ = signup(api)
    body, other = REPLAYED[path](api, admin)
    headers = admin.headers(**{"Idempotency-Key": f"retry-{new_id()}"})
    first = call(api, "POST", path, body, headers)
    again = call(api, "POST", path, body, headers)
    assert first.status_code == 201, first.body
    assert (again.status_code, again.json_body) == (201, first.json_body)
    listed = call(api, "GET", f"{path}?limit=100", headers=admin.headers()).json_body["items"]
    assert [item["id"] for item in listed].count(first.json_body["id"]) == 1
    assert len(listed) == 1
    refused = call(api, "POST", path, other, headers)
    assert refused.status_code == 409, refused.body
    assert [error["field"] for error in refused.json_body["errors"]] == ["header.Idempotency-Key"]
