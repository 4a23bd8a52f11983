"""Keys of the marketplace's global index (outside every tenant), each tenant's half of a transaction, and finance."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys
from chalicelib.core.db.keys import MarketSegment


def test_market_pk_round_trips_and_is_outside_every_tenant() -> None:
    for segment, values in (
        (MarketSegment.LISTING, ("01J",)),
        (MarketSegment.LISTINGS, ()),
        (MarketSegment.LISTINGS, ("CATEGORY", "c1")),
        (MarketSegment.LISTING_CODE, ("RP123456K",)),
        (MarketSegment.UNIQUE, ("MKTCATEGORYNAME", "pecas")),
    ):
        key = keys.market_pk(segment, *values)
        assert keys.parse_market_pk(key) == (segment, values)
        assert not key.startswith("T#")


def test_market_pk_refuses_separators_and_other_keys() -> None:
    with pytest.raises(keys.InvalidKey):
        keys.market_pk(MarketSegment.LISTING, "a#b")
    with pytest.raises(keys.InvalidKey):
        keys.parse_market_pk("ROUTE#EMAIL#x")
    with pytest.raises(keys.InvalidKey):
        keys.parse_market_pk("MARKET#NOPE#1")


def test_each_half_of_a_transaction_is_its_own_tenants_partition() -> None:
    buyer = keys.entity_pk("B", keys.Kind.MARKET_PURCHASE, "tx1")
    seller = keys.entity_pk("S", keys.Kind.MARKETPLACE_TRANSACTION, "tx1")
    assert buyer.startswith(keys.tenant_prefix("B"))
    assert seller.startswith(keys.tenant_prefix("S"))
    assert keys.parse_entity_pk(seller) == keys.EntityRef("S", keys.Kind.MARKETPLACE_TRANSACTION, "tx1")


def test_cash_flow_sk_round_trips_and_sorts_by_month() -> None:
    key = keys.cash_flow_sk("2026-03", "BRL", "aluguel")
    assert keys.parse_cash_flow_sk(key) == ("2026-03", "BRL", "aluguel")
    assert key.startswith(keys.cash_flow_prefix("2026-03"))
    assert keys.cash_flow_sk("2026-02", "USD", "z") < key < keys.cash_flow_prefix("2026-03") + "~"
    with pytest.raises(keys.InvalidKey):
        keys.cash_flow_sk("2026-03", "BRL", "a#b")
    with pytest.raises(keys.InvalidKey):
        keys.parse_cash_flow_sk("HISTORY#1#2#3")
