"""Lucrum finance over the API: accounts with encrypted numbers, coded transactions whose balances stay exact under
concurrent writes, transfers as one pair, the cash flow with its forecast, payouts, and income recorded once per
payment or paid sale."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chalicelib.catalog.codes import check_letter
from chalicelib.core.db.keys import META_SK, Kind, entity_pk
from chalicelib.core.db.store import Table
from chalicelib.finance import jobs as finance_jobs
from chalicelib.integrations.jobs import Job
from tests.support.identity import Account, call, signup


@pytest.fixture(scope="module")
def admin(api: Any) -> Account:
    return signup(api, businessType="b2b_reseller")[0]


def _account(api: Any, admin: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "Itaú PJ", "bankCode": "341", "agency": "0001", "number": "12345-6", **fields}
    answer = call(api, "POST", "/finance/accounts", body, admin.headers())
    assert answer.status_code == 201, answer.body
    return dict(answer.json_body)


def _record(
    api: Any, admin: Account, account_id: str, type_: str, amount: str, category: str = "vendas", **more: Any
) -> Any:
    body = {
        "type": type_,
        "amount": {"amount": amount, "currency": "BRL"},
        "category": category,
        "date": more.pop("date", datetime.now(UTC).date().isoformat()),
        "accountId": account_id,
        **more,
    }
    return call(api, "POST", "/finance/transactions", body, admin.headers())


def _balance(api: Any, admin: Account, account_id: str) -> str:
    answer = call(api, "GET", f"/finance/accounts/{account_id}", headers=admin.headers())
    assert answer.status_code == 200, answer.body
    return str(answer.json_body["balance"]["amount"])


def _field(response: Any) -> list[str]:
    return [e["field"] for e in response.json_body.get("errors", [])]


def test_an_account_keeps_its_number_encrypted_and_its_balance_follows_each_transaction(
    api: Any, admin: Account
) -> None:
    account = _account(api, admin, openingBalance={"amount": "100.00", "currency": "BRL"})
    assert account["numberMasked"] == "••••45-6"
    assert account["balance"] == {"amount": "100.00", "currency": "BRL"}
    stored = Table().get(entity_pk(admin.tenant_id, Kind.BANK_ACCOUNT, account["id"]), META_SK)
    assert stored is not None
    assert "12345-6" not in str(stored)

    income = _record(api, admin, account["id"], "income", "250.50", description="Venda balcão")
    assert income.status_code == 201, income.body
    code = income.json_body["code"]
    assert code.startswith("LC")
    assert len(code) == 11
    assert check_letter(code[:10]) == code[10]
    assert _record(api, admin, account["id"], "expense", "80.25", "aluguel").status_code == 201
    assert _balance(api, admin, account["id"]) == "270.25"
    listed = call(api, "GET", f"/finance/transactions?accountId={account['id']}", headers=admin.headers()).json_body
    assert sorted(t["category"] for t in listed["items"]) == ["aluguel", "vendas"]


def test_balances_stay_exact_under_50_concurrent_transactions(api: Any, admin: Account) -> None:
    account = _account(api, admin)
    amounts = [("income", f"{i}.{i:02d}") if i % 3 else ("expense", f"{i}.01") for i in range(1, 51)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda a: _record(api, admin, account["id"], a[0], a[1]), amounts))
    assert [a.status_code for a in answers] == [201] * 50, [a.body for a in answers if a.status_code != 201]
    expected = sum(Decimal(v) if t == "income" else -Decimal(v) for t, v in amounts)
    assert _balance(api, admin, account["id"]) == format(expected, "f")
    assert len({a.json_body["code"] for a in answers}) == 50


def test_a_transfer_is_one_pair_left_out_of_the_cash_flow(api: Any, admin: Account) -> None:
    checking = _account(api, admin, openingBalance={"amount": "500.00", "currency": "BRL"})
    savings = _account(api, admin, name="Poupança", type="savings")
    today = datetime.now(UTC).date().isoformat()
    body = {
        "fromAccountId": checking["id"],
        "toAccountId": savings["id"],
        "amount": {"amount": "120.00", "currency": "BRL"},
        "date": today,
    }
    moved = call(api, "POST", "/finance/transfers", body, admin.headers())
    assert moved.status_code == 201, moved.body
    pair = moved.json_body
    assert pair["out"]["transferId"] == pair["in"]["transferId"] == pair["transferId"]
    assert (pair["out"]["type"], pair["in"]["type"]) == ("expense", "income")
    assert (_balance(api, admin, checking["id"]), _balance(api, admin, savings["id"])) == ("380.00", "120.00")
    same = call(api, "POST", "/finance/transfers", {**body, "toAccountId": checking["id"]}, admin.headers())
    assert same.status_code == 422
    assert _field(same) == ["body.toAccountId"]


def test_the_cash_flow_sums_months_by_category_and_forecasts_recurring_items(api: Any) -> None:
    admin, _ = signup(api, businessType="retail")
    account = _account(api, admin)
    today = datetime.now(UTC).date()
    month = today.isoformat()[:7]
    for type_, amount, category in (
        ("income", "1000.00", "vendas"),
        ("income", "200.00", "vendas"),
        ("expense", "300.00", "aluguel"),
    ):
        assert _record(api, admin, account["id"], type_, amount, category).status_code == 201
    rent = {
        "name": "Aluguel",
        "type": "expense",
        "amount": {"amount": "3000.00", "currency": "BRL"},
        "category": "aluguel",
        "dayOfMonth": 5,
        "accountId": account["id"],
    }
    assert call(api, "POST", "/finance/recurring", rent, admin.headers()).status_code == 201
    following = (today.replace(day=1) + timedelta(days=32)).isoformat()[:7]
    report = call(api, "GET", f"/finance/cash-flow?from={month}&to={following}", headers=admin.headers())
    assert report.status_code == 200, report.body
    this, after = report.json_body["months"]
    assert (this["income"]["amount"], this["expense"]["amount"], this["net"]["amount"]) == (
        "1200.00",
        "300.00",
        "900.00",
    )
    assert {c["category"]: c["income"]["amount"] for c in this["categories"]} == {
        "aluguel": "0.00",
        "vendas": "1200.00",
    }
    assert (after["income"]["amount"], after["forecastExpense"]["amount"]) == ("0.00", "3000.00")
    assert [c["category"] for c in after["forecastCategories"]] == ["aluguel"]
    wide = call(api, "GET", "/finance/cash-flow?from=2020-01&to=2026-01", headers=admin.headers())
    assert wide.status_code == 422
    assert _field(wide) == ["query.to"]
    year_zero = call(api, "GET", "/finance/cash-flow?from=0000-11&to=0001-02", headers=admin.headers())
    assert year_zero.status_code == 422, year_zero.body
    assert _field(year_zero) == ["query.from"]


def test_bad_transactions_are_refused_naming_the_field(api: Any, admin: Account) -> None:
    account = _account(api, admin)
    zero = _record(api, admin, account["id"], "income", "0.00")
    assert zero.status_code == 422
    assert _field(zero) == ["body.amount.amount"]
    other, _ = signup(api, businessType="retail")
    theirs = _account(api, other)
    foreign = _record(api, admin, theirs["id"], "income", "10.00")
    assert foreign.status_code == 422
    assert _field(foreign) == ["body.accountId"]
    dollars = call(
        api,
        "POST",
        "/finance/transactions",
        {
            "type": "income",
            "amount": {"amount": "1.00", "currency": "USD"},
            "category": "x",
            "date": "2026-01-02",
            "accountId": account["id"],
        },
        admin.headers(),
    )
    assert dollars.status_code == 422
    assert _field(dollars) == ["body.amount.currency"]
    assert call(api, "GET", f"/finance/accounts/{theirs['id']}", headers=admin.headers()).status_code == 404
    assert _balance(api, admin, account["id"]) == "0.00"


def test_a_payout_is_an_expense_reconciled_once(api: Any, admin: Account) -> None:
    account = _account(api, admin, openingBalance={"amount": "1000.00", "currency": "BRL"})
    body = {
        "accountId": account["id"],
        "amount": {"amount": "400.00", "currency": "BRL"},
        "date": "2026-03-10",
        "beneficiary": "Fornecedor Ltda",
        "bankCode": "001",
        "number": "99887-1",
    }
    created = call(api, "POST", "/finance/payouts", body, admin.headers())
    assert created.status_code == 201, created.body
    payout = created.json_body
    assert payout["status"] == "pending"
    assert "99887-1" not in payout["destination"]
    assert _balance(api, admin, account["id"]) == "600.00"
    done = call(api, "POST", f"/finance/payouts/{payout['id']}/reconcile", None, admin.headers())
    assert done.status_code == 200, done.body
    assert done.json_body["status"] == "reconciled"
    assert call(api, "POST", f"/finance/payouts/{payout['id']}/reconcile", None, admin.headers()).status_code == 409


def _event_job(tenant_id: str, type_: str, subject: str, data: dict[str, Any]) -> Job:
    body = {
        "detail-type": type_,
        "detail": {"id": f"evt-{subject}", "tenantId": tenant_id, "subject": subject, "data": data},
    }
    return Job(kind=f"event:{type_}", tenant_id=tenant_id, body=body, key=f"evt-{subject}", attempt=1)


def test_a_payment_and_a_paid_sale_are_recorded_as_income_once_each(api: Any) -> None:
    admin, _ = signup(api, businessType="retail")
    receiving = _account(api, admin, receivesPayments=True)
    _account(api, admin, name="Caixa", type="cash")
    payment = {
        "orderId": "01ORDER",
        "provider": "stripe",
        "providerPaymentId": "pi_123",
        "amount": {"amount": "59.90", "currency": "BRL"},
        "paidAt": "2026-03-02T10:00:00.000Z",
    }
    for _ in range(2):  # a replayed event adds nothing
        finance_jobs.income_from_payment(_event_job(admin.tenant_id, "payment.succeeded", "pay-1", payment))
    sale = {"sale": {"number": "S-2026-000001", "amount": {"amount": "40.10", "currency": "BRL"}, "closedAt": None}}
    for _ in range(2):
        finance_jobs.income_from_sale(_event_job(admin.tenant_id, "sale.paid", "sale-1", sale))
    duplicate = {**payment, "providerPaymentId": "pi_456", "duplicateOf": "pay-1"}
    finance_jobs.income_from_payment(_event_job(admin.tenant_id, "payment.succeeded", "pay-2", duplicate))
    # A sale paid through a payment link: its payment is the income, its sale.paid (naming the payment) adds none.
    of_a_sale = {k: v for k, v in payment.items() if k != "orderId"} | {"saleId": "sale-2", "providerPaymentId": "pi_7"}
    finance_jobs.income_from_payment(_event_job(admin.tenant_id, "payment.succeeded", "pay-3", of_a_sale))
    finance_jobs.income_from_sale(_event_job(admin.tenant_id, "sale.paid", "sale-2", sale | {"paymentId": "pay-3"}))

    assert _balance(api, admin, receiving["id"]) == "159.90"
    listed = call(api, "GET", f"/finance/transactions?accountId={receiving['id']}", headers=admin.headers()).json_body[
        "items"
    ]
    assert sorted((t["source"], t.get("paymentId"), t.get("saleId")) for t in listed) == [
        ("payment", "pay-1", None),
        ("payment", "pay-3", "sale-2"),
        ("sale", None, "sale-1"),
    ]


def test_transactions_export_as_csv(api: Any, drain: Any) -> None:
    admin, _ = signup(api, businessType="retail")
    account = _account(api, admin)
    assert _record(api, admin, account["id"], "income", "10.00", "=cmd", date="2026-02-03").status_code == 201
    assert _record(api, admin, account["id"], "expense", "4.00", "luz", date="2026-02-04").status_code == 201
    assert _record(api, admin, account["id"], "expense", "1.00", "luz", date="2026-05-01").status_code == 201
    filters = {"accountId": account["id"], "from": "2026-02-01", "to": "2026-02-28"}
    created = call(api, "POST", "/exports", {"kind": "finance_transactions", "filters": filters}, admin.headers())
    assert created.status_code == 202, created.body

    def done() -> bool:
        shown = call(api, "GET", f"/exports/{created.json_body['id']}", headers=admin.headers()).json_body
        return bool(shown["status"] in ("completed", "failed"))

    drain(done, timeout_s=120)
    shown = call(api, "GET", f"/exports/{created.json_body['id']}", headers=admin.headers()).json_body
    assert shown["status"] == "completed", shown
    rows = list(csv.DictReader(io.StringIO(httpx.get(shown["url"], timeout=30).content.decode())))
    assert [(r["date"], r["type"], r["amount"], r["category"]) for r in rows] == [
        ("2026-02-04", "expense", "4.00", "luz"),
        ("2026-02-03", "income", "10.00", "'=cmd"),
    ]
    assert all(r["code"].startswith("LC") for r in rows)
