"""Payments through ``make run``: the banner's line pays the demo order's link; an order made over HTTP gets a link,
``/pay/{token}`` sends the customer to the fake checkout, the fake pays and posts its signed webhook, the worker
confirms it, the order is PAID and the customer's receipt reaches the fake provider; the page of a replaced link,
rendered in headless Chromium, says so in the customer's language."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from localdev.seed import DEMO_PASSWORD
from tests.e2e.conftest import Runner
from tests.support.browser import NO_CHROMIUM, chromium, rendered_dom

_ADMIN = "admin@cantina.example.com"


def _banner(runner: Runner) -> str:
    return "".join(runner.output)


def _fake(runner: Runner, kind: str) -> str:
    found = re.search(rf"fake {kind}\s+(http://127\.0\.0\.1:\d+)", _banner(runner))
    assert found is not None, f"the banner names no fake {kind}"
    return found.group(1)


def _login(runner: Runner) -> dict[str, str]:
    tokens = httpx.post(
        f"{runner.api}/auth/login", json={"identifier": _ADMIN, "password": DEMO_PASSWORD}, timeout=20
    ).json()
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


def _until(condition: Callable[[], Any], what: str, timeout_s: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen in {timeout_s:.0f} s")


def _pay(url: str) -> httpx.Response:
    opened = httpx.get(url, timeout=20)
    assert opened.status_code == 302, opened.text
    return httpx.post(opened.headers["location"], timeout=30)


def test_the_banners_curl_pays_the_demo_orders_link(runner: Runner) -> None:
    banner = _banner(runner)
    found = re.search(r'"\$\(curl -s -o /dev/null -w "%\{redirect_url\}" (\S+/pay/pay_[\w-]+)\)"', banner)
    assert found is not None, banner[-3000:]
    command = found.group(0)
    assert command in banner
    paid = subprocess.run(
        ["bash", "-c", f'curl -s -o /dev/null -w "%{{http_code}}" -X POST {command}'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert paid.stdout == "200", paid.stderr
    headers = _login(runner)
    number = int(re.search(r"order #(\d+)", banner[banner.index("Payments") :]).group(1))  # type: ignore[union-attr]

    def paid_order() -> dict[str, Any] | None:
        items = httpx.get(f"{runner.api}/orders?status=PAID", headers=headers, timeout=20).json()["items"]
        return next((o for o in items if o["number"] == number), None)

    order = _until(paid_order, "the demo order being paid")
    assert order["paymentStatus"] == "paid"


def test_an_order_paid_through_its_link_is_paid_and_the_customer_gets_the_receipt(runner: Runner) -> None:
    headers = _login(runner)
    product = httpx.post(
        f"{runner.api}/products",
        json={
            "kind": "service",
            "name": "Rodízio e2e",
            "price": {"amount": "48.90", "currency": "BRL"},
            "durationMinutes": 30,
        },
        headers=headers,
        timeout=20,
    ).json()
    customer = httpx.post(
        f"{runner.api}/customers", json={"name": "Bea Pagante", "phone": "+5511987659911"}, headers=headers, timeout=20
    ).json()
    order = httpx.post(
        f"{runner.api}/orders",
        json={
            "items": [{"productId": product["id"], "quantity": 1}],
            "customerId": customer["id"],
            "channel": "whatsapp",
        },
        headers=headers,
        timeout=20,
    ).json()
    first = httpx.post(f"{runner.api}/payment-links", json={"orderId": order["id"]}, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    link = httpx.post(f"{runner.api}/payment-links", json={"orderId": order["id"]}, headers=headers, timeout=30).json()
    assert _pay(link["url"]).status_code == 200

    def paid() -> dict[str, Any] | None:
        found = httpx.get(f"{runner.api}/orders/{order['id']}", headers=headers, timeout=20).json()
        return found if found["status"] == "PAID" else None

    after = _until(paid, "the order being paid")
    assert after["paymentStatus"] == "paid"
    [payment] = httpx.get(f"{runner.api}/payments?orderId={order['id']}", headers=headers, timeout=20).json()["items"]
    assert (payment["status"], payment["amount"]["amount"]) == ("succeeded", "48.90")
    meta = _fake(runner, "meta")

    def receipt() -> list[dict[str, Any]]:
        received = httpx.get(f"{meta}/_received", timeout=20).json()["received"]
        return [r for r in received if r["status"] == 200 and payment["id"] in str(r["body"])]

    [sent] = _until(receipt, "the receipt reaching the fake Meta")
    assert sent["body"]["to"] == "5511987659911" or sent["body"]["to"].endswith("5511987659911")
    assert sent["body"]["type"] == "template"
    assert sent["body"]["template"]["name"] == "payment_receipt"
    replaced = httpx.get(first.json()["url"], timeout=20)
    assert replaced.status_code == 410
    _render_in_chromium(first.json()["url"])


def _render_in_chromium(url: str) -> None:
    if chromium() is None:
        pytest.skip(NO_CHROMIUM)
    result = rendered_dom(url, lang="en-US", budget_ms=5000)
    dom = result.stdout
    assert 'data-state="expired"' in dom, result.stderr[-2000:]
    assert "Link expirado" in dom
    assert "Cantina da Nonna" in dom


def _section_lines(banner: str, first: str, until: str) -> str:
    """The indented shell lines of the banner section that starts with ``first``, up to the line holding ``until``."""
    section = banner[banner.index(first) :]
    section = section[: section.index(until)]
    return "\n".join(line[4:] for line in section.splitlines() if line.startswith("    "))


def test_the_banners_billing_lines_subscribe_the_tenant_and_the_paid_invoice_activates_it(runner: Runner) -> None:
    script = _section_lines(_banner(runner), "Billing:", "a failed renewal")
    assert "/billing/subscription" in script, script

    pasted = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=90, check=False)

    assert pasted.returncode == 0, pasted.stderr
    assert "paid at the fake Stripe: HTTP 200" in pasted.stdout, pasted.stdout + pasted.stderr
    headers = _login(runner)

    def subscribed() -> dict[str, Any] | None:
        # customer.subscription.created (active) and invoice.paid are two webhooks, applied one after the other: the
        # subscription can be active a moment before its paid invoice is recorded.
        billing = httpx.get(f"{runner.api}/billing", headers=headers, timeout=20).json()
        return billing if billing["status"] == "active" and billing["invoices"] else None

    billing = _until(subscribed, "the paid invoice making the subscription active")
    assert billing["planId"] == "corporativo"
    assert billing["subscription"]["provider"] == "stripe"
    assert [(i["status"], i["amount"]["amount"]) for i in billing["invoices"]] == [("paid", "499.90")]


def test_the_banners_marketplace_lines_find_a_part_buy_it_and_show_the_sellers_books(runner: Runner) -> None:
    lines = _section_lines(_banner(runner), "Marketplace (StockTech)", "and its books (Lucrum)").splitlines()
    [search] = [line for line in lines if "/marketplace/listings?q=" in line]
    found = subprocess.run(
        ["bash", "-c", "\n".join([*lines[:2], search])], capture_output=True, text=True, timeout=60, check=False
    )
    listings = json.loads(found.stdout)["items"]
    assert listings, found.stdout + found.stderr
    assert all("corrente" in item["name"].lower() for item in listings)
    [order_line] = [line for line in lines if "/marketplace/orders" in line]
    buy = order_line.replace("<id from the search>", listings[0]["id"])
    bought = subprocess.run(
        ["bash", "-c", "\n".join([*lines[:2], buy])], capture_output=True, text=True, timeout=60, check=False
    )
    order = json.loads(bought.stdout)
    assert order["status"] == "PENDING", bought.stdout
    assert order["waLink"].startswith("https://wa.me/")
    after = _banner(runner).split("and its books (Lucrum)", 1)[1].splitlines()[1:]
    books = []
    for line in after:
        if line.startswith("    "):
            books.append(line[4:])
        elif line.strip() and books:
            break
    [accounts_line] = [line for line in books if "/finance/accounts'" in line]
    accounts = subprocess.run(
        ["bash", "-c", "\n".join([*books[:2], accounts_line])], capture_output=True, text=True, timeout=60, check=False
    )
    assert json.loads(accounts.stdout)["items"], accounts.stdout + accounts.stderr


def test_the_banners_pagarme_lines_pay_a_new_order_through_pagarmes_hosted_checkout(runner: Runner) -> None:
    script = _section_lines(_banner(runner), "Pagar.me:", "a refund in Pagar.me's dashboard")
    assert '"provider": "pagarme"' in script, script

    pasted = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)

    assert pasted.returncode == 0, pasted.stderr
    assert "paid at the fake Pagar.me: HTTP 200" in pasted.stdout, pasted.stdout + pasted.stderr
    headers = _login(runner)

    def confirmed() -> list[dict[str, Any]]:
        found = httpx.get(f"{runner.api}/payments?provider=pagarme", headers=headers, timeout=20).json()["items"]
        return [p for p in found if p["status"] == "succeeded"]

    [payment] = _until(confirmed, "the Pagar.me payment being confirmed")
    assert payment["providerPaymentId"].startswith("ch_")
    order = httpx.get(f"{runner.api}/orders/{payment['orderId']}", headers=headers, timeout=20).json()
    assert (order["paymentStatus"], order["paymentId"]) == ("paid", payment["id"])
    sent = httpx.get(f"{_fake(runner, 'pagarme')}/_webhooks", timeout=20).json()["webhooks"]
    assert sorted(hook["body"]["type"] for hook in sent) == ["charge.paid", "order.paid"]
    assert all(d["status"] == 200 for hook in sent for d in hook["deliveries"])
