"""Lucrum finance use cases: bank accounts, income and expense transactions (with their LC codes), transfers,
and the income recorded from payments and paid sales (recurring items and the cash flow: ``planning``; payouts:
``payouts``).

Balances are exact without ever being recomputed: every transaction ADDs its amount to its account's ``balance``
in the same DynamoDB transaction that writes it (conditioned on the account being active), together with its code
claim, its month's cash-flow totals, its audit entry and its event. Concurrent transactions on one account each add
their own delta; a transaction DynamoDB refuses because another held the item is built again and retried, so none
is lost and none is applied twice. A transfer is one DynamoDB transaction with both sides. Incomes from payments
(``payment.succeeded``) and paid sales (``sale.paid``) arrive through the integrations queue and are recorded once
per payment or sale (a unique claim of their source in the same transaction), in the tenant's account that
receives payments in their currency.

One responsibility: the tenant's money records (accounts, transactions and everything derived from them kept in
the same writes: balances, cash-flow totals), for people and for the events that bring income.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.codes import check_letter
from chalicelib.core import clock, idempotency
from chalicelib.core.crypto import encrypt_field
from chalicelib.core.db.keys import Kind, UniqueField
from chalicelib.core.db.store import Table, WriteOp
from chalicelib.core.errors import Conflict, InvalidInput, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.observability import logger
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.core.text import fold
from chalicelib.finance import store
from chalicelib.finance.models import (
    BankAccount,
    CreateAccountRequest,
    CreateTransactionRequest,
    FinanceTransaction,
    TransactionListQuery,
    TransactionSource,
    TransactionType,
    TransferRequest,
    TransferResult,
)
from chalicelib.orders import service as orders
from chalicelib.sales import service as sales
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows.service import system_actor

__all__ = [
    "account_item",
    "check_amount",
    "commit",
    "create_account",
    "create_transaction",
    "get_account",
    "list_accounts",
    "list_transactions",
    "new_code",
    "record_income",
    "transaction_ops",
    "transfer",
]

TRANSFER_CATEGORY = "transfer"
_ATTEMPTS = 60


def new_code() -> str:
    """A fresh transaction code: ``LC``, eight random digits and a check letter (as the catalog's codes)."""
    body = f"LC{secrets.randbelow(100_000_000):08d}"
    return body + check_letter(body)


class _CodeTaken(Conflict):
    """The code drawn was taken meanwhile (draw again)."""


def commit(build: Callable[[], tuple[list[WriteOp], Any]]) -> Any:
    """Write what ``build`` returns, building again when the code drawn was taken or a concurrent transaction held
    one of the items (jittered backoff): the balance ADDs of concurrent writers all land, each once."""
    for attempt in range(_ATTEMPTS):
        ops, result = build()
        try:
            Table().transact(ops)
            return result
        except _CodeTaken:
            continue
        except Conflict as exc:
            if not exc.retry or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * min(2**attempt, 32)))  # noqa: S311 - jitter
    raise Conflict(detail="too many writes to this account at once; retry", retry=True)


# --- accounts ---------------------------------------------------------------------------------------------------


def account_item(tenant_id: str, account_id: str, field: str) -> dict[str, Any]:
    item = store.get_account(tenant_id, account_id, consistent=True)
    if item is None or not item.get("active", True):
        raise invalid_field(field, "no active account with that id", "unknown-account")
    return item


def create_account(principal: Principal, body: CreateAccountRequest, idempotency_key: str | None = None) -> BankAccount:
    """A bank account (or cash box) with its opening balance; the number is stored encrypted."""
    require(principal, Permission.FINANCE_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "finance-accounts",
        body,
        BankAccount,
        lambda seal: _account(principal, body, seal),
    )


def _account(principal: Principal, body: CreateAccountRequest, seal: idempotency.Seal) -> BankAccount:
    tenant = load_tenant(principal.tenant_id)
    currency = body.currency or tenant.currency
    opening = body.opening_balance or Money.zero(currency)
    if opening.currency != currency:
        raise invalid_field("body.openingBalance.currency", f"must be the account's currency, {currency}", "currency")
    at = clock.now_iso()
    item: dict[str, Any] = {
        "id": new_id(),
        "name": body.name,
        "bankCode": body.bank_code,
        "agency": body.agency,
        "type": body.type,
        "currency": currency,
        "openingBalance": opening.amount,
        "balance": opening.amount,
        "receivesPayments": body.receives_payments,
        "active": True,
        "createdAt": at,
        "updatedAt": at,
        "version": 1,
    }
    if body.number:
        item["numberEncrypted"] = encrypt_field(principal.tenant_id, body.number)
        item["numberLast4"] = body.number[-4:]
    item = {k: v for k, v in item.items() if v is not None}
    account = store.account_record(item)
    Table().transact(
        [
            store.new_account_op(principal.tenant_id, item),
            audit_op(principal, "finance.account_created", Kind.BANK_ACCOUNT, account.id, after=item),
            event_put_op(new_event("finance.account_created", principal.tenant_id, {}, subject=account.id)),
            *seal(account),
        ]
    )
    return account


def get_account(principal: Principal, account_id: str) -> BankAccount:
    """One account with its current balance (one read: the balance is kept, never summed)."""
    require(principal, Permission.FINANCE_READ)
    item = store.get_account(principal.tenant_id, account_id, consistent=True)
    if item is None:
        raise NotFound(detail=f"no account {account_id}")
    return store.account_record(item)


def list_accounts(principal: Principal, params: PageParams) -> Page[BankAccount]:
    """The tenant's accounts, oldest first, with their balances."""
    require(principal, Permission.FINANCE_READ)
    return paginate(
        Page[BankAccount],
        params,
        tenant_id=principal.tenant_id,
        scope="finance-accounts",
        fetch=lambda start: store.list_accounts(principal.tenant_id, params.limit, start),
        convert=store.account_record,
    )


# --- transactions -------------------------------------------------------------------------------------------------


def _missing_account(field: str) -> InvalidInput:
    return invalid_field(field, "no active account with that id", "unknown-account")


def transaction_ops(
    tenant_id: str,
    actor: Principal,
    *,
    type_: TransactionType,
    amount: Money,
    category: str,
    day: str,
    account_id: str,
    source: TransactionSource,
    field: str = "body.accountId",
    description: str | None = None,
    links: Mapping[str, str | None] | None = None,
    transaction_id: str | None = None,
) -> tuple[FinanceTransaction, list[WriteOp]]:
    """One transaction's writes: its code claim, the item, its account's balance ADD (conditional), its month's
    cash-flow totals (not for transfers), its audit entry and its event."""
    transaction = FinanceTransaction.model_validate(
        {
            "id": transaction_id or new_id(),
            "code": new_code(),
            "type": type_,
            "amount": amount,
            "category": category,
            "date": day,
            "description": description,
            "accountId": account_id,
            "source": source,
            "createdBy": actor.user_id,
            "createdAt": clock.now_iso(),
            **{k: v for k, v in (links or {}).items() if v is not None},
        }
    )
    delta = amount.amount if type_ == "income" else -amount.amount
    ops = [
        store.claim_op(
            tenant_id,
            UniqueField.FINANCE_CODE,
            transaction.code,
            transaction.id,
            conflict=_CodeTaken(detail=f"code {transaction.code} was taken meanwhile"),
        ),
        store.new_transaction_op(tenant_id, transaction),
        store.balance_op(tenant_id, account_id, delta, conflict=_missing_account(field)),
        audit_op(actor, "finance.transaction_recorded", Kind.FINANCE_TRANSACTION, transaction.id, tenant_id=tenant_id),
        event_put_op(
            new_event(
                "finance.transaction_recorded",
                tenant_id,
                {
                    "code": transaction.code,
                    "type": type_,
                    "amount": amount,
                    "category": category,
                    "accountId": account_id,
                    "source": source,
                },
                subject=transaction.id,
            )
        ),
    ]
    if source != "transfer":
        income, expense = (amount.amount, Decimal(0)) if type_ == "income" else (Decimal(0), amount.amount)
        ops.append(store.cash_flow_op(tenant_id, day[:7], amount.currency, fold(category), category, income, expense))
    return transaction, ops


def check_amount(amount: Money, account: Mapping[str, Any], field: str) -> None:
    if amount.currency != account["currency"]:
        raise invalid_field(f"{field}.currency", f"must be the account's currency, {account['currency']}", "currency")
    if amount.amount <= 0:
        raise invalid_field(f"{field}.amount", "must be above 0", "not-positive")


def _check_links(principal: Principal, body: CreateTransactionRequest) -> None:
    if body.order_id is not None:
        try:
            orders.get_order(principal, body.order_id)
        except NotFound as exc:
            raise invalid_field("body.orderId", "no such order", "unknown-order") from exc
    if body.sale_id is not None:
        try:
            sales.load_sale(principal.tenant_id, body.sale_id)
        except NotFound as exc:
            raise invalid_field("body.saleId", "no such sale", "unknown-sale") from exc


def create_transaction(
    principal: Principal, body: CreateTransactionRequest, idempotency_key: str | None
) -> FinanceTransaction:
    """Record an income or expense; its account's balance changes in the same write."""
    require(principal, Permission.FINANCE_WRITE)
    account = account_item(principal.tenant_id, body.account_id, "body.accountId")
    check_amount(body.amount, account, "body.amount")
    _check_links(principal, body)

    def create(seal: idempotency.Seal) -> FinanceTransaction:
        def build() -> tuple[list[WriteOp], FinanceTransaction]:
            transaction, ops = transaction_ops(
                principal.tenant_id,
                principal,
                type_=body.type,
                amount=body.amount,
                category=body.category,
                day=body.date.isoformat(),
                account_id=body.account_id,
                source="manual",
                description=body.description,
                links={"orderId": body.order_id, "saleId": body.sale_id},
            )
            return [*ops, *seal(transaction)], transaction

        result: FinanceTransaction = commit(build)
        return result

    return idempotency.once(
        principal.tenant_id, idempotency_key, "finance-transactions", body, FinanceTransaction, create
    )


def transfer(principal: Principal, body: TransferRequest, idempotency_key: str | None) -> TransferResult:
    """Move money between two accounts of the same currency: an expense and an income, written together."""
    require(principal, Permission.FINANCE_WRITE)
    if body.from_account_id == body.to_account_id:
        raise invalid_field("body.toAccountId", "must be another account than fromAccountId", "same-account")
    source = account_item(principal.tenant_id, body.from_account_id, "body.fromAccountId")
    target = account_item(principal.tenant_id, body.to_account_id, "body.toAccountId")
    check_amount(body.amount, source, "body.amount")
    if target["currency"] != source["currency"]:
        raise invalid_field("body.toAccountId", "must hold the same currency as fromAccountId", "currency")
    day = body.date.isoformat()

    def create(seal: idempotency.Seal) -> TransferResult:
        def build() -> tuple[list[WriteOp], TransferResult]:
            transfer_id = new_id()
            common: dict[str, Any] = {
                "amount": body.amount,
                "category": TRANSFER_CATEGORY,
                "day": day,
                "source": "transfer",
                "description": body.description,
                "links": {"transferId": transfer_id},
            }
            out, out_ops = transaction_ops(
                principal.tenant_id,
                principal,
                type_="expense",
                account_id=body.from_account_id,
                field="body.fromAccountId",
                **common,
            )
            in_, in_ops = transaction_ops(
                principal.tenant_id,
                principal,
                type_="income",
                account_id=body.to_account_id,
                field="body.toAccountId",
                **common,
            )
            result = TransferResult.model_validate({"transferId": transfer_id, "out": out, "in": in_})
            return [*out_ops, *in_ops, *seal(result)], result

        done: TransferResult = commit(build)
        return done

    return idempotency.once(principal.tenant_id, idempotency_key, "finance-transfers", body, TransferResult, create)


def list_transactions(principal: Principal, query: TransactionListQuery) -> Page[FinanceTransaction]:
    """Transactions by date, newest first: all, or of one account, within from/to."""
    require(principal, Permission.FINANCE_READ)
    if query.from_ is not None and query.to is not None and query.from_ > query.to:
        raise invalid_field("query.from", "must not be after to")
    between = (query.from_.isoformat() if query.from_ else "0", (query.to.isoformat() if query.to else "9") + "~")
    scope = f"finance-transactions:{query.account_id or ''}:{between[0]}:{between[1]}"
    return paginate(
        Page[FinanceTransaction],
        query,
        tenant_id=principal.tenant_id,
        scope=scope,
        fetch=lambda start: store.list_transactions(principal.tenant_id, query.account_id, between, query.limit, start),
        convert=store.transaction_of,
    )


# --- income from payments and paid sales ------------------------------------------------------------------------


def _receiving_account(tenant_id: str, currency: str) -> str | None:
    """The tenant's active account that receives payments in ``currency`` (else its first active one in it)."""
    fallback: str | None = None
    start: Mapping[str, str] | None = None
    while True:
        page = store.list_accounts(tenant_id, 100, start)
        for item in page.items:
            if not item.get("active", True) or item["currency"] != currency:
                continue
            if item.get("receivesPayments"):
                return str(item["id"])
            fallback = fallback or str(item["id"])
        if page.last_key is None:
            return fallback
        start = page.last_key


def record_income(
    tenant_id: str,
    source: TransactionSource,
    source_key: str,
    amount: Money,
    day: str,
    description: str,
    links: Mapping[str, str | None],
) -> FinanceTransaction | None:
    """Record an income that BTRIX saw happen (a payment, a paid sale) once per ``source_key``; None when the tenant
    has no finance module or no account in that currency, or when it was recorded already."""
    tenant = load_tenant(tenant_id)
    if Module.FINANCE not in tenant.modules:
        return None
    account_id = _receiving_account(tenant_id, amount.currency)
    if account_id is None:
        logger.info("income not recorded: no account in its currency", extra={"source": source_key})
        return None
    claimed = Conflict(detail=f"income of {source_key} is recorded already")

    def build() -> tuple[list[WriteOp], FinanceTransaction]:
        transaction, ops = transaction_ops(
            tenant_id,
            system_actor(tenant_id),
            type_="income",
            amount=amount,
            category="vendas" if tenant.locale.startswith("pt") else "sales",
            day=day,
            account_id=account_id,
            source=source,
            description=description,
            links=links,
        )
        claim = store.claim_op(tenant_id, UniqueField.FINANCE_SOURCE, source_key, transaction.id, conflict=claimed)
        return [claim, *ops], transaction

    try:
        result: FinanceTransaction = commit(build)
    except Conflict as exc:
        if exc is claimed:
            return None
        raise
    return result
