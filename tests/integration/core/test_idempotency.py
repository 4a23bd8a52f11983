"""Idempotent creates on the real table: replay, refusal of another body, scopes, expiry, failed creates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.core import clock, idempotency
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, put_op
from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY
from chalicelib.core.errors import Conflict, InvalidInput
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel


class Thing(ApiModel):
    """A request and a response at once."""

    name: str
    id: str = ""


def _creator(tenant_id: str, created: list[str]) -> Any:
    def create(seal: idempotency.Seal, body: Thing) -> Thing:
        thing = Thing(name=body.name, id=new_id())
        pk = keys.entity_pk(tenant_id, keys.Kind.PRODUCT, thing.id)
        Table().transact([put_op({PARTITION_KEY: pk, SORT_KEY: keys.META_SK, "name": thing.name}), *seal(thing)])
        created.append(thing.id)
        return thing

    return create


def _once(tenant_id: str, key: str | None, body: Thing, created: list[str], scope: str = "things.create") -> Thing:
    create = _creator(tenant_id, created)
    return idempotency.once(tenant_id, key, scope, body, Thing, lambda seal: create(seal, body))


def test_same_key_replays_and_another_body_is_refused(stack: Any, tenant_id: str) -> None:
    created: list[str] = []
    first = _once(tenant_id, "k-1", Thing(name="a"), created)
    assert _once(tenant_id, "k-1", Thing(name="a"), created) == first
    with pytest.raises(Conflict) as refused:
        _once(tenant_id, "k-1", Thing(name="b"), created)
    assert refused.value.errors[0].loc == "header.Idempotency-Key"
    assert _once(tenant_id, "k-1", Thing(name="a"), created, scope="others.create") != first
    assert _once(tenant_id, None, Thing(name="a"), created) != first
    assert len(created) == 3


def test_an_expired_record_no_longer_replays(stack: Any, tenant_id: str) -> None:
    created: list[str] = []
    with clock.frozen_clock(clock.now() - timedelta(hours=25)):
        old = _once(tenant_id, "k-old", Thing(name="a"), created)
    assert _once(tenant_id, "k-old", Thing(name="a"), created) != old
    assert len(created) == 2


def test_a_failed_create_leaves_the_key_free(stack: Any, tenant_id: str) -> None:
    def failing(seal: idempotency.Seal) -> Thing:
        raise InvalidInput(detail="no")

    with pytest.raises(InvalidInput):
        idempotency.once(tenant_id, "k-fail", "things.create", Thing(name="a"), Thing, failing)
    created: list[str] = []
    _once(tenant_id, "k-fail", Thing(name="a"), created)
    assert len(created) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_malformed_keys_are_refused_naming_the_header(stack: Any, tenant_id: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _once(tenant_id, key, Thing(name="a"), [])
    assert refused.value.errors[0].loc == "header.Idempotency-Key"
