"""Key builders of the catalog, inventory and idempotency patterns: round trips and refusals."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, InvalidKey


def test_facet_pk_round_trips_and_stays_in_the_tenant() -> None:
    key = keys.facet_pk("t1", Collection.PRODUCTS, "CATEGORY", "01CAT")
    assert key.startswith(keys.tenant_prefix("t1"))
    assert keys.parse_facet_pk(key) == ("t1", Collection.PRODUCTS, "CATEGORY", "01CAT")


def test_name_sk_round_trips_with_and_without_a_group_and_sorts_the_group_first() -> None:
    assert keys.parse_name_sk(keys.name_sk("cafe", "01A")) == (None, "cafe", "01A")
    assert keys.parse_name_sk(keys.name_sk("cafe", "01A", "A")) == ("A", "cafe", "01A")
    assert keys.name_sk("zebra", "1", "A") < keys.name_sk("abacate", "1", "I")
    assert keys.name_sk("cafe", "01A", "A").startswith(keys.name_prefix("caf", "A"))
    assert keys.name_prefix("", "I") == "I#"


def test_idempotency_pk_round_trips() -> None:
    key = keys.idempotency_pk("t1", "ab12")
    assert key.startswith(keys.tenant_prefix("t1"))
    assert keys.parse_idempotency_pk(key) == ("t1", "ab12")


@pytest.mark.parametrize(
    ("builder", "args"),
    [
        (keys.facet_pk, ("t1", Collection.PRODUCTS, "CATEGORY", "a#b")),
        (keys.name_sk, ("ca#fe", "1")),
        (keys.name_prefix, ("ca#",)),
        (keys.idempotency_pk, ("t1", "")),
    ],
)
def test_parts_with_the_separator_or_empty_are_refused(builder: object, args: tuple[object, ...]) -> None:
    with pytest.raises(InvalidKey):
        builder(*args)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parser", "key"),
    [
        (keys.parse_facet_pk, "T#t1#PRODUCTS#CATEGORY"),
        (keys.parse_facet_pk, "T#t1#NOPE#CATEGORY#x"),
        (keys.parse_name_sk, "a#b#c#d"),
        (keys.parse_idempotency_pk, "T#t1#EVENT#x"),
    ],
)
def test_malformed_keys_are_refused(parser: object, key: str) -> None:
    with pytest.raises(InvalidKey):
        parser(key)  # type: ignore[operator]


def test_facets_pk_round_trips_one_or_more_pairs_and_one_pair_is_a_facet_pk() -> None:
    pairs = (("ASSIGNEE", "01U"), ("STATUS", "IN_PROGRESS"))
    key = keys.facets_pk("t1", Collection.SALES, pairs)
    assert key == "T#t1#SALES#ASSIGNEE#01U#STATUS#IN_PROGRESS"
    assert keys.parse_facets_pk(key) == ("t1", Collection.SALES, pairs)
    single = keys.facets_pk("t1", Collection.SALES, (("CUSTOMER", "01C"),))
    assert single == keys.facet_pk("t1", Collection.SALES, "CUSTOMER", "01C")


@pytest.mark.parametrize("key", ["T#t1#SALES#ASSIGNEE", "T#t1#SALES#A#1#B", "T#t1#NOPE#A#1", "X#t1#SALES#A#1"])
def test_malformed_faceted_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        keys.parse_facets_pk(key)


def test_facets_pk_needs_a_pair_without_the_separator() -> None:
    with pytest.raises(InvalidKey):
        keys.facets_pk("t1", Collection.SALES, ())
    with pytest.raises(InvalidKey):
        keys.facets_pk("t1", Collection.SALES, (("CUSTOMER", "a#b"),))


def test_payment_lists_stay_in_the_tenant_and_the_order_state_is_a_child_of_the_order() -> None:
    assert keys.collection_pk("t1", Collection.PAYMENTS) == "T#t1#PAYMENTS"
    by_status = keys.facet_pk("t1", Collection.PAYMENTS, "STATUS", "succeeded")
    assert keys.parse_facet_pk(by_status) == ("t1", Collection.PAYMENTS, "STATUS", "succeeded")
    assert keys.PAYMENT_STATE_SK == "PAYSTATE"
    assert keys.parse_route_pk(keys.route_pk(keys.RouteKind.PAYMENT_LINK, "ab12")) == (
        keys.RouteKind.PAYMENT_LINK,
        "ab12",
    )


def test_the_shop_assistant_keeps_its_items_beside_the_number_and_the_conversation() -> None:
    from chalicelib.core.db.keys import Kind

    number = keys.entity_pk("t1", Kind.CHANNEL, "c1")
    assert (number, keys.ASSISTANT_SK) == ("T#t1#CHANNEL#c1", "ASSISTANT")
    assert keys.parse_entity_pk(number).entity_id == "c1"
    conversation = keys.entity_pk("t1", Kind.CONVERSATION, "v1")
    assert {keys.CART_SK, keys.MEMORY_SK, keys.FOLLOW_UP_SK} == {"CART", "MEMORY", "FOLLOWUP"}
    assert keys.parse_child_sk(keys.child_sk(keys.Child.RATE, "29000000")) == ("RATE", "29000000")
    assert keys.parse_entity_pk(conversation).kind is Kind.CONVERSATION
    tokens = keys.child_sk(keys.Child.COUNTER, "LLMTOKENS-2026-12")
    assert keys.parse_child_sk(tokens) == ("COUNTER", "LLMTOKENS-2026-12")
