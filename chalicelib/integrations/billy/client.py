"""Billy API v2 calls (``https://api.billysbilling.com/v2``, the company's ``X-Access-Token``, JSON).

Billy's shapes: a GET of one resource answers ``{"invoice": {…}}``, a list ``{"invoices": […], "meta": {"paging":
…}}``; a POST takes the singular ``{"invoice": {…}}`` and answers the plural array (``invoices[0].id``). Every
create names the company (``organizationId``, from ``GET /organization``). An approved invoice cannot be changed:
its read-only ``isPaid`` / ``balance`` say whether it was paid. Errors are ``ProviderError``s: ``fatal`` for a
token Billy does not take (401/403), ``retryable`` for 5xx, 429 and timeouts, ``rejected`` for what Billy rejects
(validation), with Billy's ``errorMessage`` when it gives one.

Not confirmed in Billy's public documentation, and kept to the narrowest use: filtering lists by ``contactNo`` and
by ``contactId``, ``meta.paging.pageCount``; each is only a recovery path (finding what a crashed run created).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.core.config import get_settings
from chalicelib.integrations.billy.credentials import BillyCredentials
from chalicelib.integrations.http import Failure, ProviderError, json_object, send

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Billy",
    "Invoice",
    "InvoiceLine",
    "anonymise_contact",
    "connect",
    "create_contact",
    "create_invoice",
    "create_product",
    "find_contact",
    "find_invoice",
    "get_invoice",
    "sales_tax_rate",
    "unpaid_invoices",
    "whoami",
]

_WHAT = "Billy"
_PAGE_SIZE = 100


@dataclass(frozen=True)
class Billy:
    """A Billy company, ready for calls: its token and its organization id."""

    token: str = field(repr=False)
    organization_id: str
    organization_name: str


@dataclass(frozen=True)
class InvoiceLine:
    """One line: a product, a description, quantity and unit price (excluding tax), the tax rate Billy applies."""

    product_id: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate_id: str | None = None


@dataclass(frozen=True)
class Invoice:
    """What BTRIX reads of an invoice (Billy computes the amounts; ``balance`` 0 and ``isPaid`` when paid)."""

    id: str
    state: str
    contact_id: str | None
    invoice_no: str | None
    currency: str | None
    amount: Decimal | None
    tax: Decimal | None
    balance: Decimal | None
    is_paid: bool
    paid_date: str | None
    contact_message: str | None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Invoice:
        """From Billy's invoice object."""

        def money(name: str) -> Decimal | None:
            value = item.get(name)
            return None if value is None else Decimal(str(value))

        return cls(
            id=str(item["id"]),
            state=str(item.get("state") or ""),
            contact_id=item.get("contactId"),
            invoice_no=item.get("invoiceNo"),
            currency=item.get("currencyId"),
            amount=money("amount"),
            tax=money("tax"),
            balance=money("balance"),
            is_paid=bool(item.get("isPaid")),
            paid_date=item.get("paidDate"),
            contact_message=item.get("contactMessage"),
        )


def _url(path: str) -> str:
    return get_settings().billy_api_url.rstrip("/") + path


def _message(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    message = body.get("errorMessage") if isinstance(body, dict) else None
    return str(message) if message else None


def _call(
    token: str,
    method: Literal["GET", "POST", "PUT"],
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
) -> dict[str, object]:
    headers = {"X-Access-Token": token, "Accept": "application/json"}
    answered: list[httpx.Response] = []

    def run(http: httpx.Client) -> httpx.Response:
        answered.append(http.request(method, _url(path), params=params, json=body, headers=headers))
        return answered[-1]

    try:
        return json_object(_WHAT, send(_WHAT, run))
    except ProviderError as exc:
        message = _message(answered[-1]) if answered else None
        if message is None:
            raise
        raise ProviderError(f"{exc.detail}: {message}", failure=exc.failure, status=exc.status) from exc


def _one(body: Mapping[str, object], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict) or not value.get("id"):
        raise ProviderError(f"Billy answered without {name}", failure=Failure.REJECTED)
    return value


def _first(body: Mapping[str, object], plural: str) -> dict[str, Any]:
    values = body.get(plural)
    if not isinstance(values, list) or not values or not isinstance(values[0], dict) or not values[0].get("id"):
        raise ProviderError(f"Billy answered without {plural}[0].id", failure=Failure.REJECTED)
    return values[0]


def _list(body: Mapping[str, object], plural: str) -> list[dict[str, Any]]:
    values = body.get(plural)
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def connect(credentials: BillyCredentials) -> Billy:
    """The company the token belongs to (``GET /organization``), ready for calls."""
    token = credentials.access_token.get_secret_value()
    organization = _one(_call(token, "GET", "/organization"), "organization")
    return Billy(token, str(organization["id"]), str(organization.get("name") or organization["id"]))


def whoami(credentials: BillyCredentials) -> str:
    """The organization the token belongs to."""
    return connect(credentials).organization_name


def find_contact(billy: Billy, contact_no: str) -> str | None:
    """The contact whose ``contactNo`` is ours (a customer we created before), or None."""
    params = {"organizationId": billy.organization_id, "contactNo": contact_no}
    found = [c for c in _list(_call(billy.token, "GET", "/contacts", params=params), "contacts")]
    return next((str(c["id"]) for c in found if c.get("contactNo") == contact_no), None)


def create_contact(
    billy: Billy, *, name: str, contact_no: str, country: str, email: str | None, phone: str | None
) -> str:
    """Create a customer contact (``contactNo`` = our customer id; the email as its contact person)."""
    contact: dict[str, Any] = {
        "organizationId": billy.organization_id,
        "type": "person",
        "name": name,
        "contactNo": contact_no,
        "countryId": country,
        "isCustomer": True,
    }
    if phone:
        contact["phone"] = phone
    if email:
        contact["contactPersons"] = [{"name": name, "email": email, "isPrimary": True}]
    return str(_first(_call(billy.token, "POST", "/contacts", body={"contact": contact}), "contacts")["id"])


def anonymise_contact(billy: Billy, contact_id: str, pseudonym: str) -> None:
    """``PUT /contacts/<id>``: the contact renamed to ``pseudonym``, its phone, address, email and contact persons
    removed (its invoices stay: accounting law keeps them, under the pseudonym)."""
    contact: dict[str, Any] = {
        "organizationId": billy.organization_id,
        "name": pseudonym,
        "phone": None,
        "street": None,
        "zipcodeText": None,
        "cityText": None,
        "contactPersons": [],
    }
    _call(billy.token, "PUT", f"/contacts/{contact_id}", body={"contact": contact})


def create_product(billy: Billy, *, name: str, product_no: str, unit_price: Decimal, currency: str) -> str:
    """Create a product with one price (excluding tax) in ``currency``."""
    product = {
        "organizationId": billy.organization_id,
        "name": name,
        "productNo": product_no,
        "prices": [{"unitPrice": str(unit_price), "currencyId": currency}],
    }
    return str(_first(_call(billy.token, "POST", "/products", body={"product": product}), "products")["id"])


def sales_tax_rate(billy: Billy, percent: Decimal) -> str | None:
    """The id of the company's active sales tax rate of ``percent`` (e.g. 25 → Danish VAT), or None."""
    params = {"organizationId": billy.organization_id}
    wanted = percent / Decimal(100)
    for rate in _list(_call(billy.token, "GET", "/taxRates", params=params), "taxRates"):
        applies = rate.get("appliesToSales", True) and rate.get("isActive", True)
        if applies and Decimal(str(rate.get("rate", "-1"))) == wanted:
            return str(rate["id"])
    return None


def create_invoice(
    billy: Billy,
    *,
    contact_id: str,
    entry_date: str,
    currency: str,
    lines: list[InvoiceLine],
    contact_message: str,
    payment_terms_days: int = 14,
) -> Invoice:
    """Create an approved invoice (amounts excluding tax; Billy adds each line's tax rate)."""
    invoice = {
        "organizationId": billy.organization_id,
        "contactId": contact_id,
        "entryDate": entry_date,
        "paymentTermsDays": payment_terms_days,
        "currencyId": currency,
        "taxMode": "excl",
        "state": "approved",
        "contactMessage": contact_message,
        "lines": [
            {
                "productId": line.product_id,
                "description": line.description,
                "quantity": str(line.quantity),
                "unitPrice": str(line.unit_price),
                **({"taxRateId": line.tax_rate_id} if line.tax_rate_id else {}),
            }
            for line in lines
        ],
    }
    return Invoice.of(_first(_call(billy.token, "POST", "/invoices", body={"invoice": invoice}), "invoices"))


def find_invoice(billy: Billy, contact_id: str, marker: str) -> Invoice | None:
    """An invoice of the contact whose message contains ``marker`` (our sale number): one a crashed run made."""
    params = {"organizationId": billy.organization_id, "contactId": contact_id}
    for item in _list(_call(billy.token, "GET", "/invoices", params=params), "invoices"):
        invoice = Invoice.of(item)
        if invoice.contact_message and marker in invoice.contact_message and invoice.state != "voided":
            return invoice
    return None


def get_invoice(billy: Billy, invoice_id: str) -> Invoice:
    """One invoice (``GET /invoices/<id>``)."""
    return Invoice.of(_one(_call(billy.token, "GET", f"/invoices/{invoice_id}"), "invoice"))


def unpaid_invoices(billy: Billy) -> set[str]:
    """The ids of the company's approved invoices not yet paid (``state=approved&isPaid=false``, every page)."""
    found: set[str] = set()
    page = 1
    while True:
        params = {
            "organizationId": billy.organization_id,
            "state": "approved",
            "isPaid": "false",
            "page": str(page),
            "pageSize": str(_PAGE_SIZE),
        }
        body = _call(billy.token, "GET", "/invoices", params=params)
        found |= {str(item["id"]) for item in _list(body, "invoices") if item.get("id")}
        meta = body.get("meta")
        paging = meta.get("paging") if isinstance(meta, dict) else None
        count = paging.get("pageCount") if isinstance(paging, dict) else None
        if not isinstance(count, int) or page >= count:
            return found
        page += 1
