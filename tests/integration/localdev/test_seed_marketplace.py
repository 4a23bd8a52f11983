"""The demo's marketplace and finance seed: the B2B reseller publishes and keeps its books, the bike shop buys from
it and keeps its own (run on copies of the two demo tenants, so the test owns them)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.core.ids import new_id
from chalicelib.core.pagination import PageParams
from chalicelib.finance import planning as finance_planning
from chalicelib.finance import service as finance
from chalicelib.finance.models import TransactionListQuery
from chalicelib.marketplace import service as marketplace
from chalicelib.marketplace.models import ListingSearchQuery, MarketSaleListQuery
from localdev import seed


@pytest.fixture
def demos(monkeypatch: pytest.MonkeyPatch) -> tuple[seed.DemoTenant, seed.DemoTenant]:
    tag = new_id().lower()
    bike = dataclasses.replace(seed.BIKE_SHOP, domain=f"bike-{tag}.example.com")
    reseller = dataclasses.replace(seed.RESELLER_DEMO, domain=f"avelar-{tag}.example.com")
    monkeypatch.setattr(seed, "BIKE_SHOP", bike)
    return bike, reseller


def test_the_reseller_sells_on_the_marketplace_and_the_bike_shop_buys(
    stack: Any, demos: tuple[seed.DemoTenant, seed.DemoTenant]
) -> None:
    bike, reseller = demos
    for demo in (bike, reseller):
        seed._seed_tenant(demo, None)
        seed._seed_commerce(demo)
    seed._seed_commerce(reseller)  # a second run adds nothing
    seller, buyer = seed.demo_admin(reseller), seed.demo_admin(bike)

    mine = marketplace.list_seller_listings(seller, PageParams(limit=10)).items
    assert len(mine) == 4
    found = marketplace.search_listings(buyer, ListingSearchQuery(code=mine[0].code)).items
    assert [listing.id for listing in found] == [mine[0].id]
    purchases = marketplace.list_purchases(buyer, PageParams(limit=10)).items
    assert sorted(p.status for p in purchases) == ["CONFIRMED", "PENDING"]
    assert all(p.seller_name == reseller.name and p.wa_link and "5511940028922" in p.wa_link for p in purchases)
    sales = marketplace.list_sales(seller, MarketSaleListQuery(limit=10)).items
    assert {s.buyer_name for s in sales} == {bike.name}

    accounts = finance.list_accounts(seller, PageParams(limit=10)).items
    assert [a.name for a in accounts] == ["Itaú PJ", "Caixa da loja"]
    assert accounts[0].balance.amount == Decimal("34750.50")  # 25000 + 12480 + 8320.50 - 9800 - 1250
    assert finance.list_transactions(buyer, TransactionListQuery(limit=10)).items
    assert finance_planning.list_recurring(buyer, PageParams(limit=10)).items
