"""A fake Billy.dk API v2 on loopback, for tests and for ``make run`` without a Billy company.

Point ``settings.billy_api_url`` at ``<url>/v2``. It speaks Billy's wire format and keeps its traps:

- ``X-Access-Token`` names one company (``add_company``); any other token → 401 ``AUTHENTICATION_FAILED``.
- Singular in, plural out: ``POST /v2/invoices {"invoice": {…}}`` answers ``{"invoices": [{…}]}``; a body
  without the singular key (or with the plural one) → 422. One resource: ``GET /v2/invoices/<id>`` →
  ``{"invoice": {…}}``; lists ``{"invoices": […], "meta": {"paging": {page, pageCount, pageSize, total}}}``.
- Every create names ``organizationId`` (``GET /v2/organization``); another company's → 403.
- Contacts (``contactNo`` filter), products (one price per currency), tax rates (Danish sales VAT 25 % and 0 %),
  invoices: ``state`` draft → approved → voided only; an approved invoice cannot be edited or deleted (422). Billy
  computes ``amount`` (excl. tax), ``tax``, ``grossAmount``, ``balance``, ``dueDate``, ``invoiceNo``, ``isPaid``.
  ``GET /v2/invoices?state=approved&isPaid=false`` lists what is unpaid (filters ``contactId``, ``page``,
  ``pageSize``); ``POST /v2/invoices/<id>/emails`` records an email.
- Control: ``POST /_invoices/<id>/pay`` marks an invoice paid (``isPaid``, ``balance`` 0, ``paidDate``), as a bank
  payment would; ``POST /_config {"failRate", "failStatus", "failNext"}``; ``GET|DELETE /_received``;
  ``GET /_invoices`` lists every invoice of every company.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.fake_base import Answer, LoopbackFake, json_handler

__all__ = ["FakeBilly"]

_PAGE_SIZE = 100
_RESOURCES = {"contacts": "contact", "products": "product", "invoices": "invoice"}


@dataclass
class _Company:
    """One Billy company (organization) and what it holds."""

    id: str
    name: str
    currency: str
    token: str
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    tax_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    next_invoice_no: int = 1


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"errorCode": code, "errorMessage": message})


def _money(value: Decimal) -> float:
    # Billy's JSON carries amounts as numbers with two decimals.
    return float(value.quantize(Decimal("0.01")))


class _Invalid(Exception):
    """A validation error, answered 422 (Billy's ``VALIDATION_ERROR``)."""


class FakeBilly(LoopbackFake):
    """A fake Billy API on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "billy"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.companies: dict[str, _Company] = {}
        self._ids = itertools.count(1)
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-billy")

    @property
    def api_url(self) -> str:
        """The value for ``settings.billy_api_url``."""
        return f"{self.url}/v2"

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def add_company(self, name: str, *, token: str | None = None, currency: str = "DKK") -> str:
        """Create a company; returns its access token (one is made up unless given)."""
        with self._lock:
            token = token or secrets.token_hex(20)
            company = _Company(self._new_id("org"), name, currency, token)
            rates: list[dict[str, Any]] = [
                {"id": self._new_id("tax"), "name": "Salgsmoms 25%", "rate": 0.25, "appliesToSales": True},
                {"id": self._new_id("tax"), "name": "Momsfri salg", "rate": 0.0, "appliesToSales": True},
                {"id": self._new_id("tax"), "name": "Købsmoms 25%", "rate": 0.25, "appliesToSales": False},
            ]
            company.tax_rates = {str(rate["id"]): rate for rate in rates}
            for rate in company.tax_rates.values():
                rate.update(organizationId=company.id, isActive=True)
            self.companies[token] = company
            return token

    def invoices(self, token: str | None = None) -> list[dict[str, Any]]:
        """Every invoice (of the company of ``token``), oldest first."""
        with self._lock:
            companies = [self.companies[token]] if token else list(self.companies.values())
            return [dict(invoice) for company in companies for invoice in company.invoices.values()]

    def contacts(self, token: str) -> list[dict[str, Any]]:
        """The contacts of the company of ``token``."""
        with self._lock:
            return [dict(contact) for contact in self.companies[token].contacts.values()]

    def products(self, token: str) -> list[dict[str, Any]]:
        """The products of the company of ``token``."""
        with self._lock:
            return [dict(product) for product in self.companies[token].products.values()]

    def mark_paid(self, invoice_id: str) -> dict[str, Any]:
        """Record a full payment of the invoice (as a bank payment in Billy would); returns it."""
        with self._lock:
            for company in self.companies.values():
                invoice = company.invoices.get(invoice_id)
                if invoice is not None:
                    if invoice["state"] != "approved":
                        raise ValueError(f"invoice {invoice_id} is {invoice['state']}, not approved")
                    invoice.update(isPaid=True, balance=0.0, paidDate=date.today().isoformat())
                    return dict(invoice)
        raise KeyError(invoice_id)

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python."""
        with self._lock:
            failures = self._configure_failures(config)
            return failures

    def _new_id(self, prefix: str) -> str:
        # Billy's ids are opaque strings (22 characters, base62-like): keep them opaque here too.
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(6)}"

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if path.startswith("/_"):
            return self._control(method, path, body)
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            sent = None
            reply = _error(400, "INVALID_JSON", "The request body is not valid JSON")
        else:
            with self._lock:
                reply = self._api(method, path, query, sent, headers.get("x-access-token", ""))
        entry = {"method": method, "path": path, "query": query, "status": reply.status, "body": sent}
        with self._lock:
            self.received.append(entry)
        return reply

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        common = self._common_control(method, path, body)
        if common is not None:
            return common
        if path == "/_invoices" and method == "GET":
            return Answer(200, {"invoices": self.invoices()})
        paid = re.fullmatch(r"/_invoices/([^/]+)/pay", path)
        if paid and method == "POST":
            try:
                return Answer(200, {"invoice": self.mark_paid(paid.group(1))})
            except KeyError:
                return _error(404, "NOT_FOUND", f"no invoice {paid.group(1)}")
            except ValueError as exc:
                return _error(422, "VALIDATION_ERROR", str(exc))
        return _error(404, "NOT_FOUND", f"no control endpoint {path}")

    def _api(self, method: str, path: str, query: dict[str, str], sent: Any, token: str) -> Answer:
        company = self.companies.get(token)
        if company is None:
            return _error(401, "AUTHENTICATION_FAILED", "The access token is not valid")
        if self._failing():
            return _error(self.fail_status, "SERVICE_UNAVAILABLE", "Billy is failing on purpose (fake)")
        segments = path.split("/")[1:]
        if not segments or segments[0] != "v2":
            return _error(404, "NOT_FOUND", f"no route {path}")
        route = segments[1:]
        try:
            if route == ["organization"] and method == "GET":
                return Answer(200, {"organization": self._organization(company)})
            if route == ["taxRates"] and method == "GET":
                return self._list(company, "taxRates", list(company.tax_rates.values()), query)
            if len(route) >= 1 and route[0] in _RESOURCES:
                return self._resource(company, method, route, query, sent)
        except _Invalid as exc:
            return _error(422, "VALIDATION_ERROR", str(exc))
        return _error(404, "NOT_FOUND", f"no route {method} {path}")

    @staticmethod
    def _organization(company: _Company) -> dict[str, Any]:
        return {"id": company.id, "name": company.name, "baseCurrencyId": company.currency, "countryId": "DK"}

    def _list(self, company: _Company, plural: str, items: list[dict[str, Any]], query: dict[str, str]) -> Answer:
        wanted = query.get("organizationId")
        if wanted is not None and wanted != company.id:
            return _error(403, "FORBIDDEN", "The organization is not the token's")
        filters = {name: value for name, value in query.items() if name not in ("organizationId", "page", "pageSize")}
        matching = [item for item in items if all(_matches(item.get(n), v) for n, v in filters.items())]
        size = max(1, min(int(query.get("pageSize", _PAGE_SIZE)), 1000))
        page = max(1, int(query.get("page", 1)))
        count = max(1, -(-len(matching) // size))
        paging = {"page": page, "pageCount": count, "pageSize": size, "total": len(matching)}
        return Answer(200, {"meta": {"paging": paging}, plural: matching[(page - 1) * size : page * size]})

    def _resource(self, company: _Company, method: str, route: list[str], query: dict[str, str], sent: Any) -> Answer:
        plural = route[0]
        singular = _RESOURCES[plural]
        store: dict[str, dict[str, Any]] = getattr(company, plural)
        if len(route) == 1 and method == "GET":
            return self._list(company, plural, list(store.values()), query)
        if len(route) == 1 and method == "POST":
            fields = self._singular(sent, singular, plural, company)
            created = getattr(self, f"_new_{singular}")(company, fields)
            store[created["id"]] = created
            return Answer(200, {plural: [dict(created)]})
        found = store.get(route[1]) if len(route) >= 2 else None
        if found is None:
            return _error(404, "NOT_FOUND", f"no {singular} {route[1] if len(route) > 1 else ''}".strip())
        if len(route) == 2 and method == "GET":
            return Answer(200, {singular: dict(found)})
        if plural == "invoices":
            return self._invoice_change(company, method, route, found, sent)
        if len(route) == 2 and method == "PUT":
            found.update({k: v for k, v in self._singular(sent, singular, plural, company).items() if k != "id"})
            return Answer(200, {plural: [dict(found)]})
        return _error(404, "NOT_FOUND", f"no route {method} /{'/'.join(route)}")

    @staticmethod
    def _singular(sent: Any, singular: str, plural: str, company: _Company) -> dict[str, Any]:
        if not isinstance(sent, dict) or not isinstance(sent.get(singular), dict):
            wrong = isinstance(sent, dict) and plural in sent
            hint = f" (the singular {singular!r}, not {plural!r})" if wrong else ""
            raise _Invalid(f"the body must be {{{singular!r}: {{…}}}}{hint}")
        fields: dict[str, Any] = sent[singular]
        if fields.get("organizationId") != company.id:
            raise _Invalid(f"{singular}.organizationId must be the organization of the token ({company.id})")
        return fields

    def _new_contact(self, company: _Company, fields: dict[str, Any]) -> dict[str, Any]:
        if not str(fields.get("name") or "").strip():
            raise _Invalid("contact.name is required")
        if not re.fullmatch(r"[A-Z]{2}", str(fields.get("countryId") or "")):
            raise _Invalid("contact.countryId must be an ISO 3166 country code")
        contact = {**fields, "id": self._new_id("con"), "type": fields.get("type", "company")}
        contact.setdefault("isCustomer", True)
        return contact

    def _new_product(self, company: _Company, fields: dict[str, Any]) -> dict[str, Any]:
        if not str(fields.get("name") or "").strip():
            raise _Invalid("product.name is required")
        for i, price in enumerate(fields.get("prices") or []):
            if not price.get("currencyId") or price.get("unitPrice") is None:
                raise _Invalid(f"product.prices[{i}] needs unitPrice and currencyId")
        return {**fields, "id": self._new_id("pro")}

    def _new_invoice(self, company: _Company, fields: dict[str, Any]) -> dict[str, Any]:
        if fields.get("contactId") not in company.contacts:
            raise _Invalid("invoice.contactId is not a contact of the organization")
        state = fields.get("state", "draft")
        if state not in ("draft", "approved"):
            raise _Invalid("invoice.state must be draft or approved when creating")
        mode = fields.get("taxMode", "excl")
        if mode not in ("incl", "excl"):
            raise _Invalid("invoice.taxMode must be incl or excl")
        try:
            entry = date.fromisoformat(str(fields.get("entryDate")))
        except ValueError as exc:
            raise _Invalid("invoice.entryDate must be a date (YYYY-MM-DD)") from exc
        lines = fields.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _Invalid("invoice.lines needs at least one line")
        amount, tax = Decimal(0), Decimal(0)
        for i, line in enumerate(lines):
            if line.get("productId") not in company.products:
                raise _Invalid(f"invoice.lines[{i}].productId is not a product of the organization")
            rate_id = line.get("taxRateId")
            if rate_id is not None and rate_id not in company.tax_rates:
                raise _Invalid(f"invoice.lines[{i}].taxRateId is not a tax rate of the organization")
            rate = Decimal(str(company.tax_rates[rate_id]["rate"])) if rate_id else Decimal(0)
            total = Decimal(str(line.get("quantity", 1))) * Decimal(str(line.get("unitPrice", 0)))
            net = total if mode == "excl" else total / (1 + rate)
            amount += net
            tax += net * rate
        gross = amount.quantize(Decimal("0.01")) + tax.quantize(Decimal("0.01"))
        terms = int(fields.get("paymentTermsDays", 8))
        invoice = {
            **fields,
            "id": self._new_id("inv"),
            "state": state,
            "taxMode": mode,
            "currencyId": fields.get("currencyId") or company.currency,
            "amount": _money(amount),
            "tax": _money(tax),
            "grossAmount": _money(gross),
            "balance": _money(gross),
            "isPaid": False,
            "paidDate": None,
            "dueDate": (entry + timedelta(days=terms)).isoformat(),
        }
        if state == "approved":
            self._approve(company, invoice)
        return invoice

    def _approve(self, company: _Company, invoice: dict[str, Any]) -> None:
        invoice["state"] = "approved"
        invoice["invoiceNo"] = str(company.next_invoice_no)
        invoice["approvedTime"] = date.today().isoformat()
        invoice["downloadUrl"] = f"{self.url}/_download/{invoice['id']}.pdf"
        company.next_invoice_no += 1

    def _invoice_change(
        self, company: _Company, method: str, route: list[str], invoice: dict[str, Any], sent: Any
    ) -> Answer:
        if len(route) == 3 and route[2] == "emails" and method == "POST":
            if invoice["state"] != "approved":
                raise _Invalid("only an approved invoice can be sent")
            company.emails.append({"invoiceId": invoice["id"], **((sent or {}).get("invoiceEmail") or {})})
            return Answer(200, {"invoiceEmails": [{"invoiceId": invoice["id"]}]})
        if len(route) == 2 and method == "DELETE":
            if invoice["state"] != "draft":
                raise _Invalid("an approved invoice cannot be deleted (void it instead)")
            del company.invoices[invoice["id"]]
            return Answer(200, {"meta": {"deleteRecords": {"invoices": [invoice["id"]]}}})
        if len(route) == 2 and method == "PUT":
            fields = self._singular(sent, "invoice", "invoices", company)
            wanted = fields.get("state", invoice["state"])
            if invoice["state"] == "approved" and set(fields) - {"organizationId", "state"}:
                raise _Invalid("an approved invoice cannot be edited")
            allowed = {("draft", "draft"), ("draft", "approved"), ("approved", "approved"), ("approved", "voided")}
            if (invoice["state"], wanted) not in allowed:
                raise _Invalid(f"an invoice cannot go from {invoice['state']} to {wanted}")
            if invoice["state"] == "draft":
                invoice.update({k: v for k, v in fields.items() if k not in ("id", "state")})
            if wanted == "approved" and invoice["state"] == "draft":
                self._approve(company, invoice)
            elif wanted == "voided":
                invoice.update(state="voided", balance=0.0)
            return Answer(200, {"invoices": [dict(invoice)]})
        return _error(404, "NOT_FOUND", f"no route {method} /{'/'.join(route)}")


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    return value is not None and str(value) == wanted
