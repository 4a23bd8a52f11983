"""StockTech marketplace, two tenants over the API: a seller publishes, a buyer searches and buys, each side sees its
own half only, the seller's flow moves the stock, and bad input is refused naming the field."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.core.ids import new_id
from chalicelib.notifications.outbox import list_messages
from tests.support.commerce import create_product, stocked_product
from tests.support.identity import Account, call, platform_operator, signup
from tests.support.marketplace import market_group, publish


@pytest.fixture(scope="module")
def seller(api: Any) -> Account:
    account, answer = signup(api, businessType="b2b_reseller", companyName="Atacado Avelar")
    tenant = answer["tenant"]
    changed = call(
        api, "PATCH", "/tenant", {"version": tenant["version"], "whatsappNumber": "+5511988887777"}, account.headers()
    )
    assert changed.status_code == 200, changed.body
    return account


@pytest.fixture(scope="module")
def buyer(api: Any) -> Account:
    account, _ = signup(api, businessType="bike_shop", companyName="Spoke Test Bikes")
    return account


def _stock(api: Any, seller: Account, product_id: str) -> dict[str, Any]:
    answer = call(api, "GET", f"/inventory/{product_id}", headers=seller.headers())
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def _order(api: Any, buyer: Account, listing_id: str, quantity: int) -> Any:
    return call(api, "POST", "/marketplace/orders", {"listingId": listing_id, "quantity": quantity}, buyer.headers())


def _field(response: Any) -> list[str]:
    return [e["field"] for e in response.json_body.get("errors", [])]


def test_buyers_find_a_listing_by_category_brand_code_and_name_without_the_sellers_private_fields(
    api: Any, seller: Account, buyer: Account
) -> None:
    category = market_group(api, "categories", f"Bicicletas {new_id()}")
    brand = market_group(api, "brands", f"Caloi {new_id()}")
    name = f"Câmara de ar {new_id()}"
    product = stocked_product(api, seller, 40, name=name, taxRate="12", description="Aro 29")
    listing = publish(
        api, seller, product["id"], "19.90", categoryId=category["id"], brandId=brand["id"], minQuantity=2
    )
    assert listing["productId"] == product["id"]
    assert listing["sellerName"] == "Atacado Avelar"

    by_category = call(api, "GET", f"/marketplace/listings?categoryId={category['id']}", headers=buyer.headers())
    assert [item["id"] for item in by_category.json_body["items"]] == [listing["id"]]
    by_brand = call(api, "GET", f"/marketplace/listings?brandId={brand['id']}", headers=buyer.headers())
    assert [item["id"] for item in by_brand.json_body["items"]] == [listing["id"]]
    by_code = call(api, "GET", f"/marketplace/listings?code={product['code'].lower()}", headers=buyer.headers())
    assert [item["id"] for item in by_code.json_body["items"]] == [listing["id"]]
    prefix = name.split()[-1][:8].lower()
    by_name = call(api, "GET", f"/marketplace/listings?q=camara de ar {prefix}", headers=buyer.headers())
    assert [item["id"] for item in by_name.json_body["items"]] == [listing["id"]]

    shown = call(api, "GET", f"/marketplace/listings/{listing['id']}", headers=buyer.headers()).json_body
    assert shown["code"] == product["code"]
    assert shown["price"] == {"amount": "19.90", "currency": "BRL"}
    assert shown["minQuantity"] == 2
    assert shown["description"] == "Aro 29"
    for private in ("productId", "taxRate", "onHand", "available", "sellerTenantId", "tenantId"):
        assert private not in shown

    hidden = call(
        api, "PATCH", f"/marketplace/listings/{listing['id']}", {"version": 1, "visible": False}, seller.headers()
    )
    assert hidden.status_code == 200, hidden.body
    assert (
        call(api, "GET", f"/marketplace/listings?code={product['code']}", headers=buyer.headers()).json_body["items"]
        == []
    )
    assert call(api, "GET", f"/marketplace/listings/{listing['id']}", headers=buyer.headers()).status_code == 404
    assert _order(api, buyer, listing["id"], 2).status_code == 422
    mine = call(api, "GET", "/marketplace/my-listings", headers=seller.headers()).json_body["items"]
    assert listing["id"] in [item["id"] for item in mine]


def test_an_order_reserves_the_sellers_stock_notifies_both_and_each_side_sees_only_its_half(
    api: Any, seller: Account, buyer: Account
) -> None:
    product = stocked_product(api, seller, 10, name=f"Pedal {new_id()}")
    listing = publish(api, seller, product["id"], "45.00")

    placed = _order(api, buyer, listing["id"], 4)
    assert placed.status_code == 201, placed.body
    purchase = placed.json_body
    assert purchase["status"] == "PENDING"
    assert purchase["total"] == {"amount": "180.00", "currency": "BRL"}
    assert purchase["sellerName"] == "Atacado Avelar"
    assert purchase["waLink"].startswith("https://wa.me/5511988887777?text=")
    assert purchase["id"] in purchase["waLink"]
    assert _stock(api, seller, product["id"])["reserved"] == 4

    sale = call(api, "GET", f"/marketplace/sales/{purchase['id']}", headers=seller.headers()).json_body
    assert sale["buyerName"] == "Spoke Test Bikes"
    assert sale["quantity"] == 4
    assert sale["status"] == "PENDING"
    # Each side reads its own half only.
    assert call(api, "GET", f"/marketplace/sales/{purchase['id']}", headers=buyer.headers()).status_code == 404
    assert call(api, "GET", f"/marketplace/purchases/{purchase['id']}", headers=seller.headers()).status_code == 404
    assert purchase["id"] not in [
        s["id"] for s in call(api, "GET", "/marketplace/sales", headers=buyer.headers()).json_body["items"]
    ]
    assert call(api, "GET", f"/inventory/{product['id']}", headers=buyer.headers()).status_code == 404
    assert call(api, "GET", f"/products/{product['id']}", headers=buyer.headers()).status_code == 404

    templates_seller = {m.template for m in list_messages(seller.tenant_id, limit=50)}
    templates_buyer = {m.template for m in list_messages(buyer.tenant_id, limit=50)}
    assert "marketplace.sale_received" in templates_seller
    assert "marketplace.purchase_placed" in templates_buyer

    confirmed = call(
        api,
        "POST",
        f"/marketplace/sales/{purchase['id']}/transitions",
        {"to": "CONFIRMED", "version": 1},
        seller.headers(),
    )
    assert confirmed.status_code == 200, confirmed.body
    completed = call(
        api,
        "POST",
        f"/marketplace/sales/{purchase['id']}/transitions",
        {"to": "COMPLETED", "version": 2},
        seller.headers(),
    )
    assert completed.status_code == 200, completed.body
    assert completed.json_body["outcome"] == "completed"
    seen = call(api, "GET", f"/marketplace/purchases/{purchase['id']}", headers=buyer.headers()).json_body
    assert seen["status"] == "COMPLETED"
    stock = _stock(api, seller, product["id"])
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (6, 0, 6)
    history = call(api, "GET", f"/marketplace/sales/{purchase['id']}/history", headers=seller.headers()).json_body
    assert [h["to"] for h in history["items"]] == ["CONFIRMED", "COMPLETED"]


def test_a_buyer_cancels_a_pending_purchase_and_the_units_go_back(api: Any, seller: Account, buyer: Account) -> None:
    product = stocked_product(api, seller, 5, name=f"Selim {new_id()}")
    listing = publish(api, seller, product["id"], "30.00")
    purchase = _order(api, buyer, listing["id"], 5).json_body
    assert _stock(api, seller, product["id"])["available"] == 0
    cancelled = call(api, "POST", f"/marketplace/purchases/{purchase['id']}/cancel", None, buyer.headers())
    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.json_body["status"] == "CANCELLED"
    assert _stock(api, seller, product["id"])["available"] == 5
    sale = call(api, "GET", f"/marketplace/sales/{purchase['id']}", headers=seller.headers()).json_body
    assert (sale["status"], sale["outcome"]) == ("CANCELLED", "cancelled")
    again = call(api, "POST", f"/marketplace/purchases/{purchase['id']}/cancel", None, buyer.headers())
    assert again.status_code == 409


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.body
    assert _field(response) == [field]


def _listing(api: Any, seller: Account, product_id: str, amount: str = "5.00", **fields: Any) -> Any:
    body = {"productId": product_id, "price": {"amount": amount, "currency": "BRL"}, **fields}
    return call(api, "POST", "/marketplace/listings", body, seller.headers())


def test_bad_listings_and_orders_are_refused_naming_the_field(api: Any, seller: Account, buyer: Account) -> None:
    product = stocked_product(api, seller, 3, name=f"Corrente {new_id()}")
    _refused(_listing(api, seller, product["id"], "0"), "body.price.amount")
    _refused(_listing(api, seller, product["id"], "-1.00"), "body.price.amount")
    _refused(_listing(api, seller, create_product(api, buyer, name="Not yours")["id"]), "body.productId")
    _refused(_listing(api, seller, create_product(api, seller, kind="service", name="Revisão")["id"]), "body.productId")
    _refused(_listing(api, seller, product["id"], categoryId=new_id()), "body.categoryId")
    _refused(_listing(api, seller, product["id"], minQuantity=0), "body.minQuantity")

    listing = publish(api, seller, product["id"], "10.00", minQuantity=2)
    twice = _listing(api, seller, product["id"])
    assert twice.status_code == 409
    assert _field(twice) == ["body.productId"]

    for quantity in (0, -1):
        _refused(_order(api, buyer, listing["id"], quantity), "body.quantity")
    _refused(_order(api, buyer, listing["id"], 1), "body.quantity")
    _refused(_order(api, buyer, listing["id"], 4), "body.quantity")
    _refused(_order(api, seller, listing["id"], 2), "body.listingId")
    _refused(_order(api, buyer, new_id(), 2), "body.listingId")
    assert _stock(api, seller, product["id"])["reserved"] == 0


def test_a_suspended_seller_or_one_without_the_module_is_not_bought_from_and_its_listing_is_hidden(
    api: Any, buyer: Account
) -> None:
    seller, _ = signup(api, businessType="b2b_reseller", companyName="Atacado Parado")
    product = stocked_product(api, seller, 5, name=f"Pedal {new_id()}")
    listing = publish(api, seller, product["id"], "30.00")
    operator = platform_operator(api).headers()
    path = f"/platform/tenants/{seller.tenant_id}"

    def refused() -> None:
        answer = _order(api, buyer, listing["id"], 1)
        assert answer.status_code == 403, answer.body
        assert answer.json_body["type"] == "urn:btrix:problem:seller-unavailable"
        assert _field(answer) == ["body.listingId"]
        assert call(api, "GET", f"/marketplace/listings/{listing['id']}", headers=buyer.headers()).status_code == 404

    assert call(api, "POST", f"{path}/suspend", None, operator).status_code == 200
    refused()
    assert call(api, "POST", f"{path}/reactivate", None, operator).status_code == 200
    assert call(api, "PUT", f"{path}/plan", {"planId": "empresa"}, operator).status_code == 200  # no marketplace
    refused()
    assert call(api, "PUT", f"{path}/plan", {"planId": "corporativo"}, operator).status_code == 200
    assert call(api, "GET", f"/marketplace/listings/{listing['id']}", headers=buyer.headers()).status_code == 200
    assert _order(api, buyer, listing["id"], 2).status_code == 201
    assert _stock(api, seller, product["id"])["reserved"] == 2  # only the order placed while it was selling


def test_concurrent_purchases_of_the_last_units_one_wins(api: Any, seller: Account) -> None:
    product = stocked_product(api, seller, 3, name=f"Freio {new_id()}")
    listing = publish(api, seller, product["id"], "80.00")
    buyers = [signup(api, businessType="retail")[0] for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda b: _order(api, b, listing["id"], 3), buyers))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1, [a.body for a in answers]
    assert all(s in (409, 422) for s in statuses if s != 201)
    stock = _stock(api, seller, product["id"])
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (3, 3, 0)


def test_the_operator_manages_global_categories_and_tenants_only_read_them(api: Any, buyer: Account) -> None:
    name = f"Peças {new_id()}"
    created = market_group(api, "categories", name)
    seen: list[str] = []
    cursor = ""
    while True:  # every tenant with the module reads the operator's categories, by name
        page = call(api, "GET", f"/marketplace/categories?limit=100{cursor}", headers=buyer.headers()).json_body
        seen += [c["name"] for c in page["items"]]
        if created["name"] in seen or not page["nextCursor"]:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert created["name"] in seen
    duplicate = call(
        api, "POST", "/platform/marketplace/categories", {"name": name.upper()}, platform_operator(api).headers()
    )
    assert duplicate.status_code == 409
    refused = call(api, "POST", "/platform/marketplace/categories", {"name": "Mine"}, buyer.headers())
    assert refused.status_code == 403


def test_a_sale_the_seller_never_confirms_is_cancelled_by_its_timer_for_both_sides(
    api: Any, buyer: Account, drain: Any
) -> None:
    seller, _ = signup(api, businessType="b2b_reseller")
    flow = call(api, "GET", "/workflows/marketplace_transaction", headers=seller.headers()).json_body
    statuses = [
        {**s, "timers": [{"afterSeconds": 2, "transitionTo": "CANCELLED"}]} if s["name"] == "PENDING" else s
        for s in flow["statuses"]
    ]
    body = {"initial": flow["initial"], "statuses": statuses, "transitions": flow["transitions"]}
    assert call(api, "PUT", "/workflows/marketplace_transaction", body, seller.headers()).status_code == 200
    product = stocked_product(api, seller, 6, name=f"Cubo {new_id()}")
    listing = publish(api, seller, product["id"], "70.00")
    purchase = _order(api, buyer, listing["id"], 6).json_body
    assert _stock(api, seller, product["id"])["available"] == 0

    def cancelled() -> bool:
        answer = call(api, "GET", f"/marketplace/purchases/{purchase['id']}", headers=buyer.headers())
        return bool(answer.json_body["status"] == "CANCELLED")

    drain(cancelled)
    sale = call(api, "GET", f"/marketplace/sales/{purchase['id']}", headers=seller.headers()).json_body
    assert (sale["status"], sale["outcome"]) == ("CANCELLED", "cancelled")
    assert _stock(api, seller, product["id"])["available"] == 6
    assert "marketplace.purchase_status" in {m.template for m in list_messages(buyer.tenant_id, limit=50)}
