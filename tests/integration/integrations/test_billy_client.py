"""The Billy client against the fake Billy: Billy's wire format (singular in, plural out), its errors, its traps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

from chalicelib.integrations.billy import client
from chalicelib.integrations.billy.credentials import BillyCredentials
from chalicelib.integrations.http import Failure, ProviderError
from localdev.fake_billy import FakeBilly


def _company(fake: FakeBilly) -> tuple[str, client.Billy]:
    token = fake.add_company("Nordisk Salg ApS")
    return token, client.connect(BillyCredentials(access_token=SecretStr(token)))


def test_an_approved_invoice_is_created_with_billys_amounts_and_found_again(billy: FakeBilly) -> None:
    token, company = _company(billy)
    contact = client.create_contact(
        company, name="Karen Jensen", contact_no="CUST1", country="DK", email="karen@example.dk", phone=None
    )
    assert client.find_contact(company, "CUST1") == contact
    product = client.create_product(
        company, name="Vinduespudsning", product_no="S123", unit_price=Decimal("800.00"), currency="DKK"
    )
    vat = client.sales_tax_rate(company, Decimal("25"))
    assert vat is not None
    line = client.InvoiceLine(product, "S-2026-000001 Vinduespudsning", Decimal(1), Decimal("800.00"), vat)
    invoice = client.create_invoice(
        company,
        contact_id=contact,
        entry_date="2026-03-02",
        currency="DKK",
        lines=[line],
        contact_message="Sale S-2026-000001",
    )
    assert (invoice.state, invoice.amount, invoice.tax, invoice.balance) == (
        "approved",
        Decimal("800.0"),
        Decimal("200.0"),
        Decimal("1000.0"),
    )
    assert not invoice.is_paid
    assert invoice.invoice_no == "1"
    assert client.find_invoice(company, contact, "S-2026-000001") == invoice
    assert client.find_invoice(company, contact, "S-2026-000002") is None
    assert client.unpaid_invoices(company) == {invoice.id}
    billy.mark_paid(invoice.id)
    assert client.unpaid_invoices(company) == set()
    paid = client.get_invoice(company, invoice.id)
    assert paid.is_paid
    assert paid.balance == Decimal(0)
    posted = [r for r in billy.received if r["method"] == "POST" and r["path"] == "/v2/invoices"]
    assert posted[0]["body"]["invoice"]["organizationId"] == company.organization_id
    assert billy.invoices(token)[0]["contactMessage"] == "Sale S-2026-000001"


def test_a_wrong_token_is_refused_and_an_outage_is_retryable(billy: FakeBilly) -> None:
    with pytest.raises(ProviderError) as refused:
        client.connect(BillyCredentials(access_token=SecretStr("not-a-token-of-any-company")))
    assert (refused.value.failure, refused.value.status) == (Failure.FATAL, 401)
    _, company = _company(billy)
    billy.configure(failNext=1)
    with pytest.raises(ProviderError) as outage:
        client.unpaid_invoices(company)
    assert outage.value.failure is Failure.RETRYABLE


def test_billy_rejects_the_plural_body_and_an_edit_of_an_approved_invoice(billy: FakeBilly) -> None:
    import httpx

    token, company = _company(billy)
    headers = {"X-Access-Token": token}
    plural = httpx.post(
        f"{billy.api_url}/contacts",
        json={"contacts": [{"organizationId": company.organization_id, "name": "X", "countryId": "DK"}]},
        headers=headers,
    )
    assert plural.status_code == 422
    assert "singular" in plural.json()["errorMessage"]
    contact = client.create_contact(company, name="Ole", contact_no="C2", country="DK", email=None, phone="+4512345678")
    product = client.create_product(company, name="Rengøring", product_no="S1", unit_price=Decimal(100), currency="DKK")
    invoice = client.create_invoice(
        company,
        contact_id=contact,
        entry_date="2026-03-02",
        currency="DKK",
        lines=[client.InvoiceLine(product, "Rengøring", Decimal(1), Decimal(100))],
        contact_message="Sale S-2026-000009",
    )
    edit = httpx.put(
        f"{billy.api_url}/invoices/{invoice.id}",
        json={"invoice": {"organizationId": company.organization_id, "contactMessage": "changed"}},
        headers=headers,
    )
    assert edit.status_code == 422
    with pytest.raises(ProviderError) as rejected:
        client.create_invoice(
            company,
            contact_id="no-such-contact",
            entry_date="2026-03-02",
            currency="DKK",
            lines=[client.InvoiceLine(product, "x", Decimal(1), Decimal(1))],
            contact_message="x",
        )
    assert rejected.value.failure is Failure.REJECTED
    assert "contactId" in rejected.value.detail
