"""Cursors: opaque, signed, bound to the tenant and to the list; anything else is a 400."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.pagination import PageParams, decode_cursor, encode_cursor


def _key() -> bytes:
    return b"k" * 32


LAST = {"PK": "T#t1#ORDER#01A", "SK": "META", "GSI1PK": "T#t1#ORDERS", "GSI1SK": "2026-01-01#01A"}


def test_cursor_round_trips_for_the_same_tenant_and_list() -> None:
    cursor = encode_cursor(LAST, tenant_id="t1", scope="orders", key=_key)
    assert "T#t1" not in cursor
    assert decode_cursor(cursor, tenant_id="t1", scope="orders", key=_key) == LAST


@pytest.mark.parametrize(("tenant", "scope"), [("t2", "orders"), ("t1", "customers")])
def test_cursor_of_another_tenant_or_list_is_refused(tenant: str, scope: str) -> None:
    cursor = encode_cursor(LAST, tenant_id="t1", scope="orders", key=_key)
    with pytest.raises(MalformedRequest) as refused:
        decode_cursor(cursor, tenant_id=tenant, scope=scope, key=_key)
    assert refused.value.errors[0].loc == "query.cursor"


def test_tampered_payload_is_refused() -> None:
    cursor = encode_cursor(LAST, tenant_id="t1", scope="orders", key=_key)
    forged = encode_cursor({**LAST, "PK": "T#t2#ORDER#01A"}, tenant_id="t1", scope="orders", key=lambda: b"x" * 32)
    signature = cursor.partition(".")[2]
    forged_payload = forged.partition(".")[0]
    with pytest.raises(MalformedRequest):
        decode_cursor(f"{forged_payload}.{signature}", tenant_id="t1", scope="orders", key=_key)
    with pytest.raises(MalformedRequest):
        decode_cursor(forged, tenant_id="t1", scope="orders", key=_key)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.def", "!!!.???", "e30.AAAA"])
def test_garbage_cursor_is_refused(garbage: str) -> None:
    with pytest.raises(MalformedRequest):
        decode_cursor(garbage, tenant_id="t1", scope="orders", key=_key)


def test_page_params_default_and_bounds() -> None:
    assert PageParams().limit == 25
    assert PageParams.model_validate({"limit": "100"}).limit == 100
    for bad in ("0", "101", "ten"):
        with pytest.raises(ValidationError):
            PageParams.model_validate({"limit": bad})
