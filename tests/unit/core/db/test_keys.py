"""Every key builder has its parser: round trips, and refusals of malformed keys."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys
from chalicelib.core.db.keys import (
    Child,
    Collection,
    Facet,
    InvalidKey,
    Kind,
    PlatformCollection,
    PlatformItem,
    RouteKind,
    UniqueField,
    tenant,
)
from chalicelib.core.db.keys.tenant import SingleIdKey

_SINGLE_ID_KEYS = [value for value in vars(tenant).values() if isinstance(value, SingleIdKey)]


@pytest.mark.parametrize("kind", list(Kind))
def test_entity_pk_round_trips_for_every_kind(kind: Kind) -> None:
    key = keys.entity_pk("01TENANT", kind, "01ENTITY")
    assert key.startswith(keys.tenant_prefix("01TENANT"))
    assert keys.parse_entity_pk(key) == keys.EntityRef("01TENANT", kind, "01ENTITY")


@pytest.mark.parametrize("collection", list(Collection))
def test_collection_pk_round_trips_with_and_without_value(collection: Collection) -> None:
    assert keys.parse_collection_pk(keys.collection_pk("t1", collection)) == ("t1", collection, None)
    narrowed = keys.collection_pk("t1", collection, "PENDING")
    assert keys.parse_collection_pk(narrowed) == ("t1", collection, "PENDING")


def test_child_sk_round_trips_and_prefix_matches_it() -> None:
    key = keys.child_sk("HISTORY", "01H")
    assert keys.parse_child_sk(key) == ("HISTORY", "01H")
    assert key.startswith(keys.child_prefix("HISTORY"))


@pytest.mark.parametrize("child", list(Child))
def test_child_sk_round_trips_for_every_child(child: Child) -> None:
    key = keys.child_sk(child, "01C")
    assert keys.parse_child_sk(key) == (child, "01C")
    assert key.startswith(keys.child_prefix(child))


@pytest.mark.parametrize("facet", list(Facet))
def test_facet_pk_round_trips_for_every_facet(facet: Facet) -> None:
    key = keys.facet_pk("t1", Collection.ORDERS, facet, "v1")
    assert keys.parse_facet_pk(key) == ("t1", Collection.ORDERS, facet, "v1")


@pytest.mark.parametrize("field", list(UniqueField))
def test_unique_pk_round_trips_for_every_field(field: UniqueField) -> None:
    assert keys.parse_unique_pk(keys.unique_pk("t1", field, "v1")) == ("t1", field, "v1")


@pytest.mark.parametrize("collection", list(PlatformCollection))
def test_platform_collection_pk_round_trips_for_every_list(collection: PlatformCollection) -> None:
    assert keys.parse_platform_collection_pk(keys.platform_collection_pk(collection)) == collection


@pytest.mark.parametrize("item", list(PlatformItem))
def test_platform_item_key_round_trips_and_is_outside_every_tenant(item: PlatformItem) -> None:
    pk, sk = keys.platform_item_key(item)
    assert not pk.startswith("T#")
    assert keys.parse_platform_item_key(pk, sk) == item
    for other in ((pk, "ROUTE"), ("PLATFORM#NOSUCHITEM", sk), (f"ROUTE#{item}", sk)):
        with pytest.raises(InvalidKey):
            keys.parse_platform_item_key(*other)


def test_the_workflow_runtime_item_is_a_child_of_its_entity() -> None:
    assert keys.parse_child_sk(keys.WORKFLOW_RUNTIME_SK) == (Child.WORKFLOW, "RUNTIME")


def test_status_labels_of_a_locale_are_a_child_of_the_workflow() -> None:
    assert keys.parse_child_sk(keys.child_sk(Child.LABELS, "da-DK")) == (Child.LABELS, "da-DK")


def test_time_sk_round_trips_and_sorts_by_time() -> None:
    early = keys.time_sk("2026-01-01T10:00:00.000Z", "B")
    late = keys.time_sk("2026-01-01T10:00:01.000Z", "A")
    assert keys.parse_time_sk(early) == ("2026-01-01T10:00:00.000Z", "B")
    assert early < late


def test_unique_pk_round_trips() -> None:
    key = keys.unique_pk("t1", "EMAIL", "ana@example.com")
    assert key.startswith(keys.tenant_prefix("t1"))
    assert keys.parse_unique_pk(key) == ("t1", "EMAIL", "ana@example.com")


@pytest.mark.parametrize("kind", list(RouteKind))
def test_route_pk_round_trips_and_is_outside_every_tenant(kind: RouteKind) -> None:
    key = keys.route_pk(kind, "5511999990000")
    assert not key.startswith(keys.tenant_prefix("5511999990000"))
    assert keys.parse_route_pk(key) == (kind, "5511999990000")


def test_provider_account_pk_round_trips_outside_every_tenant_and_refuses_other_shapes() -> None:
    key = keys.provider_account_pk("bling", "d4475854366a36c86a37e792f9634a51")
    assert key == "ROUTE#ACCOUNT#bling#d4475854366a36c86a37e792f9634a51"
    assert keys.parse_provider_account_pk(key) == ("bling", "d4475854366a36c86a37e792f9634a51")
    assert keys.provider_account_pk("melhorenvio", "1") != keys.provider_account_pk("bling", "1")
    for bad in ("ROUTE#ACCOUNT#bling", "ROUTE#WAPHONE#bling#1", "T#ACCOUNT#bling#1"):
        with pytest.raises(InvalidKey):
            keys.parse_provider_account_pk(bad)
    for provider, account in (("bling", "a#b"), ("", "1"), ("bling", "")):
        with pytest.raises(InvalidKey):
            keys.provider_account_pk(provider, account)


def test_allowed_origin_key_round_trips_and_refuses_other_shapes() -> None:
    pk, sk = keys.allowed_origin_key("https://app.example.com:8443", "t1")
    assert (pk, sk) == ("ROUTE#ORIGIN#https://app.example.com:8443", "TENANT#t1")
    assert keys.parse_allowed_origin_key(pk, sk) == ("https://app.example.com:8443", "t1")
    for bad in ((pk, "ROUTE"), (keys.route_pk(RouteKind.LOGIN_EMAIL, "a@b.c"), sk)):
        with pytest.raises(InvalidKey):
            keys.parse_allowed_origin_key(*bad)


@pytest.mark.parametrize(
    ("builder", "args"),
    [
        (keys.tenant_prefix, ("a#b",)),
        (keys.entity_pk, ("t1", Kind.ORDER, "x#y")),
        (keys.entity_pk, ("", Kind.ORDER, "x")),
        (keys.collection_pk, ("t1", Collection.ORDERS, "A#B")),
        (keys.route_pk, (RouteKind.LOGIN_EMAIL, "")),
        (keys.child_sk, ("ITEM", "1#2")),
        # Longer than DynamoDB takes in a key (a ValidationException would be a 500): 513 bytes, 3000 in UTF-8.
        (keys.entity_pk, ("t1", Kind.ORDER, "x" * (keys.MAX_PART_BYTES + 1))),
        (keys.provider_account_pk, ("bling", "ç" * 1500)),
        (keys.child_sk, ("ITEM", "9" * 600)),
    ],
)
def test_builders_refuse_parts_that_would_break_the_key(builder, args) -> None:
    with pytest.raises(InvalidKey):
        builder(*args)


@pytest.mark.parametrize(
    ("parser", "key"),
    [
        (keys.parse_entity_pk, "T#t1#ORDER"),
        (keys.parse_entity_pk, "T#t1#NOPE#1"),
        (keys.parse_entity_pk, "X#t1#ORDER#1"),
        (keys.parse_collection_pk, "T#t1#NOPE"),
        (keys.parse_event_pk, "T#t1#ORDER#1"),
        (keys.parse_unique_pk, "T#t1#ORDER#EMAIL#x"),
        (keys.parse_route_pk, "ROUTE#NOPE#1"),
        (keys.parse_route_pk, "T#EMAIL#1"),
        (keys.parse_time_sk, "2026-01-01"),
    ],
)
def test_parsers_refuse_keys_of_another_shape(parser, key: str) -> None:
    with pytest.raises(InvalidKey):
        parser(key)


def test_platform_collection_pk_round_trips_and_is_outside_every_tenant() -> None:
    key = keys.platform_collection_pk("TENANTS")
    assert not key.startswith("T#")
    assert keys.parse_platform_collection_pk(key) == "TENANTS"
    with pytest.raises(InvalidKey):
        keys.parse_platform_collection_pk("ROUTE#TENANTS")


def test_rate_limit_pk_round_trips() -> None:
    key = keys.rate_limit_pk("login-id", "ab12")
    assert keys.parse_rate_limit_pk(key) == ("login-id", "ab12")
    with pytest.raises(InvalidKey):
        keys.parse_rate_limit_pk("ROUTE#login-id#ab12")


@pytest.mark.parametrize(
    ("builder", "parser", "key"),
    [
        (keys.event_pk, keys.parse_event_pk, "T#t1#EVENT#01EV"),
        (keys.room_pk, keys.parse_room_pk, "T#t1#ROOM#user-01EV"),
        (keys.idempotency_pk, keys.parse_idempotency_pk, "T#t1#IDEMPOTENCY#ab12"),
        (keys.whatsapp_window_pk, keys.parse_whatsapp_window_pk, "T#t1#WAWINDOW#ab12"),
    ],
)
def test_single_id_keys_are_a_segment_and_one_id_under_the_tenant(builder, parser, key: str) -> None:
    tenant_id, entity_id = key.split("#")[1], key.split("#")[3]
    assert builder(tenant_id, entity_id) == key
    assert parser(key) == (tenant_id, entity_id)


@pytest.mark.parametrize("declared", _SINGLE_ID_KEYS, ids=lambda declared: declared.segment)
def test_every_declared_single_id_key_round_trips_and_refuses_the_others(declared: SingleIdKey) -> None:
    key = declared.pk("t1", "01X")
    assert key == f"T#t1#{declared.segment}#01X"
    assert declared.parse(key) == ("t1", "01X")
    for other in _SINGLE_ID_KEYS:
        if other is not declared:
            with pytest.raises(InvalidKey, match=f"^not an? {declared.what} key: "):
                declared.parse(other.pk("t1", "01X"))
    with pytest.raises(InvalidKey, match=f"^{declared.label} must be non-empty") as refused:
        declared.pk("t1", "a#b")
    assert refused.value.part == "a#b"


def test_single_id_key_errors_name_the_key_and_the_id() -> None:
    with pytest.raises(InvalidKey) as other_kind:
        keys.parse_event_pk("T#t1#ORDER#1")
    assert str(other_kind.value) == "not an event key: 'T#t1#ORDER#1'"
    with pytest.raises(InvalidKey) as other_shape:
        keys.parse_room_pk("T#t1#ROOM")
    assert str(other_shape.value) == "not a room key: 'T#t1#ROOM'"
    with pytest.raises(InvalidKey) as other_tenant:
        keys.parse_whatsapp_window_pk("X#t1#WAWINDOW#ab12")
    assert str(other_tenant.value) == "not a tenant key: 'X#t1#WAWINDOW#ab12'"
    with pytest.raises(InvalidKey) as bad_id:
        keys.idempotency_pk("t1", "")
    assert str(bad_id.value) == "key hash must be non-empty and must not contain '#': ''"
