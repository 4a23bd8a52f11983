"""The table helpers against DynamoDB Local: creates, optimistic locking, pages, transactions."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import (
    AlreadyExists,
    Table,
    TenantScopeViolation,
    TransactionConflict,
    VersionConflict,
    condition_op,
    counter_op,
    delete_op,
    put_op,
    tenant_scope,
    update_op,
)
from chalicelib.core.db.table import GSI1
from chalicelib.core.errors import Conflict, LimitExceeded
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import decode_cursor, encode_cursor
from tests.support.contracts import status_changed

pytestmark = pytest.mark.usefixtures("stack")


def _order(tenant_id: str, order_id: str | None = None, **fields: Any) -> dict[str, Any]:
    order_id = order_id or new_id()
    created = clock.now_iso()
    return {
        "PK": keys.entity_pk(tenant_id, Kind.ORDER, order_id),
        "SK": keys.META_SK,
        "GSI1PK": keys.collection_pk(tenant_id, Collection.ORDERS),
        "GSI1SK": keys.time_sk(created, order_id),
        "entity": "Order",
        "version": 1,
        "id": order_id,
        "status": "PENDING",
        **fields,
    }


def _stored(table: Table, item: dict[str, Any]) -> dict[str, Any]:
    found = table.get(item["PK"], item["SK"], consistent=True)
    assert found is not None
    return found


def test_put_new_refuses_a_second_create_of_the_same_key(tenant_id: str) -> None:
    table = Table()
    item = _order(tenant_id)
    table.put_new(item)
    with pytest.raises(AlreadyExists):
        table.put_new({**item, "status": "OVERWRITTEN"})
    assert _stored(table, item)["status"] == "PENDING"


def test_update_versioned_bumps_version_and_refuses_a_stale_version(tenant_id: str) -> None:
    table = Table()
    item = _order(tenant_id)
    table.put_new(item)
    updated = table.update_versioned(item["PK"], item["SK"], {"status": "CONFIRMED"}, expected_version=1)
    assert (updated["status"], updated["version"]) == ("CONFIRMED", 2)
    with pytest.raises(VersionConflict):
        table.update_versioned(item["PK"], item["SK"], {"status": "CANCELLED"}, expected_version=1)
    assert _stored(table, item)["status"] == "CONFIRMED"


def test_a_change_to_none_removes_the_attribute(tenant_id: str) -> None:
    # Before: None was dropped from the values but kept in the SET expression, and DynamoDB refused the update.
    table = Table()
    item = _order(tenant_id, notes="ring twice", assignedTo="U1")
    table.put_new(item)
    table.transact([update_op(item["PK"], item["SK"], {"notes": None, "status": "CONFIRMED"}, expected_version=1)])
    table.update_versioned(item["PK"], item["SK"], {"assignedTo": None}, expected_version=2)
    stored = _stored(table, item)
    assert (stored["status"], stored["version"]) == ("CONFIRMED", 3)
    assert "notes" not in stored
    assert "assignedTo" not in stored


def test_batch_get_returns_the_items_that_exist_past_a_hundred_keys(tenant_id: str) -> None:
    table = Table()
    stored = [_order(tenant_id) for _ in range(120)]
    for item in stored:
        table.put_new(item)
    missing = [(keys.entity_pk(tenant_id, Kind.ORDER, new_id()), keys.META_SK) for _ in range(5)]
    asked = [(item["PK"], item["SK"]) for item in stored] + missing + [(stored[0]["PK"], stored[0]["SK"])]
    found = table.batch_get(asked)
    assert sorted(item["id"] for item in found) == sorted(item["id"] for item in stored)
    assert table.batch_get([]) == []


def test_batch_get_inside_a_tenant_scope_refuses_another_tenants_keys(tenant_id: str) -> None:
    other = _order(new_id())
    Table().put_new(other)
    with tenant_scope(tenant_id), pytest.raises(TenantScopeViolation):
        Table().batch_get([(other["PK"], other["SK"])])


def test_two_concurrent_updates_of_one_version_have_exactly_one_winner(tenant_id: str) -> None:
    table = Table()
    item = _order(tenant_id)
    table.put_new(item)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(status: str) -> None:
        barrier.wait()
        try:
            table.update_versioned(item["PK"], item["SK"], {"status": status}, expected_version=1)
            outcomes.append("won")
        except VersionConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(s,)) for s in ("CONFIRMED", "CANCELLED")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert _stored(table, item)["version"] == 2


def test_query_pages_walk_a_collection_with_signed_cursors(tenant_id: str) -> None:
    table = Table()
    created = [_order(tenant_id) for _ in range(7)]
    for item in created:
        table.put_new(item)
    table.put_new(_order(new_id()))  # another tenant's order never shows up
    seen: list[str] = []
    cursor = None
    partition = keys.collection_pk(tenant_id, Collection.ORDERS)
    while True:
        start = decode_cursor(cursor, tenant_id=tenant_id, scope="orders") if cursor else None
        page = table.query_page(partition, index=GSI1, limit=3, start_key=start, newest_first=True)
        seen += [i["id"] for i in page.items]
        if page.last_key is None:
            break
        cursor = encode_cursor(page.last_key, tenant_id=tenant_id, scope="orders")
    assert sorted(seen) == sorted(i["id"] for i in created)
    assert len(seen) == len(set(seen))


def test_transaction_writes_change_and_event_together_or_not_at_all(tenant_id: str) -> None:
    table = Table()
    existing = _order(tenant_id)
    table.put_new(existing)
    event = new_event(
        "order.status_changed", tenant_id, status_changed("order", "PENDING", "CONFIRMED"), subject=existing["id"]
    )
    table.transact(
        [update_op(existing["PK"], existing["SK"], {"status": "CONFIRMED"}, expected_version=1), event_put_op(event)]
    )
    stored = table.get(keys.event_pk(tenant_id, event.id), keys.EVENT_SK)
    assert stored is not None
    assert (stored["type"], stored["entity"], stored["tenantId"]) == ("order.status_changed", "Event", tenant_id)
    assert stored["expiresAt"] > clock.to_epoch(clock.now())

    second = new_event(
        "order.status_changed", tenant_id, status_changed("order", "PENDING", "CANCELLED"), subject=existing["id"]
    )
    with pytest.raises(Conflict, match="write 1 of 2"):
        table.transact(
            [
                update_op(existing["PK"], existing["SK"], {"status": "CANCELLED"}, expected_version=1),
                event_put_op(second),
            ]
        )
    assert table.get(keys.event_pk(tenant_id, second.id), keys.EVENT_SK) is None
    assert _stored(table, existing)["status"] == "CONFIRMED"


def test_unique_claims_keep_a_value_unique_per_tenant_and_can_be_released(tenant_id: str) -> None:
    table = Table()

    def create_customer(email: str) -> dict[str, Any]:
        customer = {"PK": keys.entity_pk(tenant_id, Kind.CUSTOMER, new_id()), "SK": keys.META_SK, "version": 1}
        claim = {"PK": keys.unique_pk(tenant_id, "EMAIL", email), "SK": keys.UNIQUE_SK, "owner": customer["PK"]}
        table.transact([put_op(customer), put_op(claim)])
        return customer

    first = create_customer("ana@example.com")
    with pytest.raises(Conflict, match="write 2 of 2"):
        create_customer("ana@example.com")
    create_customer("bia@example.com")
    # Another tenant may use the same email.
    other = keys.unique_pk(new_id(), "EMAIL", "ana@example.com")
    table.transact([put_op({"PK": other, "SK": keys.UNIQUE_SK})])

    # Releasing the claim only while the owner still exists (ConditionCheck), then the email is free again.
    claim_pk = keys.unique_pk(tenant_id, "EMAIL", "ana@example.com")
    table.transact(
        [condition_op(first["PK"], first["SK"], Attr("version").exists()), delete_op(claim_pk, keys.UNIQUE_SK)]
    )
    assert table.get(claim_pk, keys.UNIQUE_SK) is None
    create_customer("ana@example.com")


def test_a_failed_write_raises_the_error_it_names(tenant_id: str) -> None:
    table = Table()
    existing = _order(tenant_id)
    table.put_new(existing)
    claim = {"PK": keys.unique_pk(tenant_id, "EMAIL", "ana@example.com"), "SK": keys.UNIQUE_SK}
    table.put_new(claim)
    taken = Conflict(detail="this email is already registered")
    stale = VersionConflict(detail="the order changed since you read it")

    with pytest.raises(Conflict) as raised:
        table.transact([update_op(existing["PK"], existing["SK"], {"status": "X"}, expected_version=1), put_op(claim)])
    assert type(raised.value) is TransactionConflict
    assert "write 2 of 2" in raised.value.detail

    with pytest.raises(Conflict) as raised:
        table.transact(
            [
                update_op(existing["PK"], existing["SK"], {"status": "X"}, expected_version=1, conflict=stale),
                put_op(claim, conflict=taken),
            ]
        )
    assert raised.value is taken

    # Both conditions fail: the first write, in the order given, that names its error is the answer.
    with pytest.raises(Conflict) as raised:
        table.transact(
            [
                put_op(claim),
                update_op(existing["PK"], existing["SK"], {"status": "X"}, expected_version=9, conflict=stale),
                put_op(claim, must_not_exist=False, condition=Attr("PK").not_exists()).on_conflict(taken),
            ]
        )
    assert raised.value is stale
    assert _stored(table, existing)["status"] == existing["status"]


def test_a_limit_counter_names_its_limit_when_full(tenant_id: str) -> None:
    table = Table()
    pk, sk = keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.child_sk("COUNTER", "THINGS")
    full = LimitExceeded(detail="at most 2 things", limit="maxThings")
    for _ in range(2):
        table.transact([counter_op(pk, sk, "count", 1, less_than=2, create=True, conflict=full)])
    with pytest.raises(LimitExceeded) as raised:
        table.transact([counter_op(pk, sk, "count", 1, less_than=2, create=True, conflict=full)])
    assert raised.value.limit == "maxThings"
    assert table.get(pk, sk)["count"] == 2  # type: ignore[index]


def test_condition_check_on_a_missing_item_cancels_the_whole_transaction(tenant_id: str) -> None:
    table = Table()
    missing = keys.entity_pk(tenant_id, Kind.ORDER, new_id())
    line = {"PK": missing, "SK": keys.child_sk("LINE", "1"), "quantity": 2}
    with pytest.raises(Conflict, match="write 1 of 2"):
        table.transact([condition_op(missing, keys.META_SK, Attr("PK").exists()), put_op(line)])
    assert table.query_page(missing).items == []
