"""Helpers that publish marketplace listings and make the operator's categories and brands through the API."""

from __future__ import annotations

from typing import Any

from tests.support.identity import Account, call, platform_operator


def market_group(api: Any, collection: str, name: str) -> dict[str, Any]:
    """A marketplace category (``collection="categories"``) or brand (``"brands"``), made by the platform operator."""
    response = call(
        api, "POST", f"/platform/marketplace/{collection}", {"name": name}, platform_operator(api).headers()
    )
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def publish(api: Any, seller: Account, product_id: str, price: str, **fields: Any) -> dict[str, Any]:
    """A visible listing of the seller's product at ``price`` BRL."""
    body = {"productId": product_id, "price": {"amount": price, "currency": "BRL"}, **fields}
    response = call(api, "POST", "/marketplace/listings", body, seller.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)
