"""Sales are payable too: a payment link for a sale's final amount, paid at the fakes, confirmed from their
webhooks, the sale marked paid (``sale.paid`` naming the payment), listed by sale, refunded, and every refusal."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Role
from tests.support.commerce import WrittenEvent, create_customer, create_product
from tests.support.identity import Account, add_user, call, signup
from tests.support.payments import PaymentFakes, confirm, connect_mercadopago, connect_stripe, token_of


def _sale(api: Any, admin: Account, price: str = "800.00", *, rep: Account | None = None) -> dict[str, Any]:
    service = create_product(
        api, admin, kind="service", name="Vinduespudsning", price={"amount": price, "currency": "BRL"}
    )
    buyer = create_customer(api, admin, phone="+5511987650002", email="joana@example.com")
    body = {"serviceId": service["id"], "customerId": buyer["id"], "taxRate": "0"}
    if rep is not None:
        body["assignedTo"] = rep.user_id
    response = call(api, "POST", "/sales", body, admin.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def _link(api: Any, who: Account, body: dict[str, Any]) -> Any:
    return call(api, "POST", "/payment-links", body, who.headers())


def _get(api: Any, who: Account, path: str) -> Any:
    response = call(api, "GET", path, None, who.headers())
    assert response.status_code == 200, response.body
    return response.json_body


def test_a_sale_paid_through_its_stripe_link_is_marked_paid_with_its_payment_and_listed_by_sale(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    connect_stripe(api, admin, fakes)
    sale = _sale(api, admin, "800.00")
    made = _link(api, admin, {"saleId": sale["id"]})
    assert made.status_code == 201, made.body
    link = made.json_body
    assert (link["saleId"], link["orderId"], link["amount"]) == (sale["id"], None, sale["amounts"]["final"])
    assert call(api, "GET", f"/pay/{token_of(link)}", None, {}).status_code == 302
    session = fakes.stripe.session(link["providerCheckoutId"])
    assert session["metadata"]["saleId"] == sale["id"]

    fakes.stripe.pay(link["providerCheckoutId"])
    lines = confirm(admin.tenant_id)
    [payment] = _get(api, admin, f"/payments?saleId={sale['id']}")["items"]
    assert (payment["status"], payment["saleId"], payment["orderId"], payment["amount"]) == (
        "succeeded",
        sale["id"],
        None,
        {"amount": "800.00", "currency": "BRL"},
    )
    assert lines == [f"payment {payment['id']} of sale {sale['number']} succeeded (800.00 BRL)"]
    after = _get(api, admin, f"/sales/{sale['id']}")
    assert (after["paymentStatus"], after["paymentId"]) == ("paid", payment["id"])
    assert after["paidAt"] is not None
    [listed] = _get(api, admin, f"/payment-links?saleId={sale['id']}")["items"]
    assert (listed["status"], listed["paymentId"]) == ("used", payment["id"])
    succeeded = next(e for e in written_events if e.type == "payment.succeeded")
    assert (succeeded.data["saleId"], "orderId" in succeeded.data) == (sale["id"], False)
    paid = next(e for e in written_events if e.type == "sale.paid")
    assert (paid.subject, paid.data["paymentId"]) == (sale["id"], payment["id"])

    again = _link(api, admin, {"saleId": sale["id"]})
    assert (again.status_code, again.json_body["type"]) == (409, "urn:btrix:problem:sale-paid")
    confirm(admin.tenant_id, bodies=[])  # nothing more to apply
    assert _get(api, admin, f"/sales/{sale['id']}")["version"] == after["version"]


def test_a_refunded_sale_payment_shows_on_the_sale_and_mercadopago_pays_sales_too(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_mercadopago(api, admin, fakes)
    sale = _sale(api, admin, "120.00")
    link = _link(api, admin, {"saleId": sale["id"], "provider": "mercadopago"}).json_body
    preference = fakes.mercadopago.preference(link["providerCheckoutId"])
    assert preference["external_reference"] == f"{admin.tenant_id}:sale:{sale['id']}:{link['id']}"
    fakes.mercadopago.pay(link["providerCheckoutId"])
    confirm(admin.tenant_id)
    [payment] = _get(api, admin, f"/payments?saleId={sale['id']}")["items"]
    assert payment["status"] == "succeeded"
    half = {"amount": {"amount": "20.00", "currency": "BRL"}, "reason": "one window was not cleaned"}
    refunded = call(api, "POST", f"/payments/{payment['id']}/refunds", half, admin.headers())
    assert refunded.status_code == 201, refunded.body
    assert _get(api, admin, f"/sales/{sale['id']}")["paymentStatus"] == "partially_refunded"
    rest = call(api, "POST", f"/payments/{payment['id']}/refunds", {"reason": "all of it"}, admin.headers())
    assert rest.status_code == 201, rest.body
    assert _get(api, admin, f"/sales/{sale['id']}")["paymentStatus"] == "refunded"
    assert _link(api, admin, {"saleId": sale["id"], "provider": "mercadopago"}).status_code == 201  # payable again


def test_a_sale_link_is_refused_to_who_may_not_see_the_sale_and_for_a_sale_of_another_tenant(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    rep = add_user(api, admin, Role.SALES_REP)
    staff = add_user(api, admin, Role.STAFF)  # makes payment links, reads no sales
    sale = _sale(api, admin, rep=rep)
    assert _link(api, staff, {"saleId": sale["id"]}).status_code == 403
    assert _link(api, rep, {"saleId": sale["id"]}).status_code == 403  # reps make no payment links
    stranger, _ = signup(api, plan="corporativo")
    theirs = _sale(api, stranger)
    refused = _link(api, admin, {"saleId": theirs["id"]})
    assert refused.status_code == 422, refused.body
    assert [e["field"] for e in refused.json_body["errors"]] == ["body.saleId"]
    both = _link(api, admin, {"saleId": sale["id"], "orderId": sale["id"]})
    assert both.status_code == 422, both.body
    assert _link(api, admin, {}).status_code == 422
    listed = call(api, "GET", f"/payment-links?saleId={theirs['id']}", None, admin.headers())
    assert listed.status_code == 422, listed.body
    assert [e["field"] for e in listed.json_body["errors"]] == ["query.saleId"]
    narrowing = call(api, "GET", f"/payments?saleId={sale['id']}&status=succeeded", None, admin.headers())
    assert narrowing.status_code == 422, narrowing.body
