"""Finance items: bank accounts (their balance an attribute every transaction ADDs to, conditionally, in its own
transaction), transactions by date (all, and per account), the code and source claims, recurring items, payouts,
and the cash flow kept per month, currency and category (never recomputed by reading transactions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Facet, Kind, UniqueField
from chalicelib.core.db.store import QueryPage, Table, WriteOp, add_op, change_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, strip_storage
from chalicelib.core.errors import AppError
from chalicelib.finance.models import BankAccount, FinanceTransaction, Payout, RecurringItem

__all__ = [
    "account_key",
    "account_record",
    "balance_op",
    "cash_flow_op",
    "claim_op",
    "existing_account_ids",
    "get_account",
    "get_payout",
    "list_accounts",
    "list_cash_flow",
    "list_payouts",
    "list_recurring",
    "list_transactions",
    "new_account_op",
    "new_payout_op",
    "new_recurring_op",
    "new_transaction_op",
    "payout_key",
    "payout_of",
    "recurring_of",
    "transaction_of",
]

ACCOUNT_ENTITY = "BankAccount"
TRANSACTION_ENTITY = "FinanceTransaction"
_ACCOUNT = frozenset(f.alias or n for n, f in BankAccount.model_fields.items())
_TRANSACTION = frozenset(f.alias or n for n, f in FinanceTransaction.model_fields.items())
_RECURRING = frozenset(f.alias or n for n, f in RecurringItem.model_fields.items())
_PAYOUT = frozenset(f.alias or n for n, f in Payout.model_fields.items())


def account_key(tenant_id: str, account_id: str) -> tuple[str, str]:
    """(PK, SK) of a bank account."""
    return keys.entity_pk(tenant_id, Kind.BANK_ACCOUNT, account_id), keys.META_SK


def new_account_op(tenant_id: str, item: Mapping[str, Any]) -> WriteOp:
    """The write creating a bank account (``item``: its stored fields, balance as a plain decimal)."""
    pk, sk = account_key(tenant_id, str(item["id"]))
    return put_op(
        {
            "PK": pk,
            "SK": sk,
            ENTITY: ACCOUNT_ENTITY,
            GSI1.partition_key: keys.collection_pk(tenant_id, Collection.FINANCE_ACCOUNTS),
            GSI1.sort_key: keys.time_sk(str(item["createdAt"]), str(item["id"])),
            **item,
        }
    )


def get_account(tenant_id: str, account_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """A bank account as stored (encrypted number, balance as a decimal), or None."""
    return Table().get(*account_key(tenant_id, account_id), consistent=consistent)


def existing_account_ids(tenant_id: str, account_ids: Iterable[str]) -> set[str]:
    """The ids among ``account_ids`` that name accounts of the tenant (one batch read)."""
    return {str(item["id"]) for item in Table().batch_get(account_key(tenant_id, a) for a in account_ids)}


def account_record(item: Mapping[str, Any]) -> BankAccount:
    """The API's account: balances as Money, the number masked."""
    currency = str(item["currency"])
    fields = {k: v for k, v in strip_storage(item).items() if k in _ACCOUNT}
    fields["balance"] = {"amount": format(Decimal(str(item["balance"])), "f"), "currency": currency}
    fields["openingBalance"] = {"amount": format(Decimal(str(item["openingBalance"])), "f"), "currency": currency}
    if item.get("numberLast4"):
        fields["numberMasked"] = f"••••{item['numberLast4']}"
    return BankAccount.model_validate(fields)


def list_accounts(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[dict[str, Any]]:
    """One page of the tenant's accounts, oldest first."""
    return Table().query_page(
        keys.collection_pk(tenant_id, Collection.FINANCE_ACCOUNTS), index=GSI1, limit=limit, start_key=start_key
    )


def balance_op(tenant_id: str, account_id: str, delta: Decimal, *, conflict: AppError) -> WriteOp:
    """ADD ``delta`` to the account's balance, on the condition that the account exists and is active (``conflict``
    otherwise): concurrent transactions never lose one another's change, and nothing reads the balance first."""
    pk, sk = account_key(tenant_id, account_id)
    return change_op(pk, sk, add={"balance": delta}, condition=Attr("active").eq(True), conflict=conflict)


def claim_op(tenant_id: str, field: UniqueField, value: str, transaction_id: str, *, conflict: AppError) -> WriteOp:
    """A unique claim: a transaction code, or the source (a payment, a sale) an income was recorded for once."""
    return put_op(
        {
            "PK": keys.unique_pk(tenant_id, field, value),
            "SK": keys.UNIQUE_SK,
            ENTITY: "FinanceClaim",
            "transactionId": transaction_id,
        },
        conflict=conflict,
    )


def new_transaction_op(tenant_id: str, transaction: FinanceTransaction) -> WriteOp:
    """The write creating a transaction, listed by date: all, and in its account's list."""
    pk, sk = keys.entity_pk(tenant_id, Kind.FINANCE_TRANSACTION, transaction.id), keys.META_SK
    sort = keys.time_sk(transaction.date, transaction.id)
    return put_op(
        {
            "PK": pk,
            "SK": sk,
            ENTITY: TRANSACTION_ENTITY,
            "tenantId": tenant_id,
            GSI1.partition_key: keys.collection_pk(tenant_id, Collection.FINANCE_TRANSACTIONS),
            GSI1.sort_key: sort,
            GSI2.partition_key: keys.facet_pk(
                tenant_id, Collection.FINANCE_TRANSACTIONS, Facet.ACCOUNT, transaction.account_id
            ),
            GSI2.sort_key: sort,
            **transaction.model_dump(exclude_none=True),
        }
    )


def transaction_of(item: Mapping[str, Any]) -> FinanceTransaction:
    """A transaction as the API shows it."""
    return FinanceTransaction.model_validate({k: v for k, v in item.items() if k in _TRANSACTION})


def list_transactions(
    tenant_id: str,
    account_id: str | None,
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage[dict[str, Any]]:
    """One page of transactions, newest date first, within ``between`` (sort-key bounds)."""
    if account_id is None:
        partition, index = keys.collection_pk(tenant_id, Collection.FINANCE_TRANSACTIONS), GSI1
    else:
        partition = keys.facet_pk(tenant_id, Collection.FINANCE_TRANSACTIONS, Facet.ACCOUNT, account_id)
        index = GSI2
    return Table().query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )


def _cash_flow_pk(tenant_id: str) -> str:
    return keys.entity_pk(tenant_id, Kind.FINANCE, tenant_id)


def cash_flow_op(
    tenant_id: str, month: str, currency: str, category_key: str, category: str, income: Decimal, expense: Decimal
) -> WriteOp:
    """ADD a transaction's amount to its month's category totals (made on first use)."""
    return add_op(
        _cash_flow_pk(tenant_id),
        keys.cash_flow_sk(month, currency, category_key),
        {"income": income, "expense": expense},
        set_once={ENTITY: "CashFlow", "category": category, "currency": currency, "month": month},
    )


def list_cash_flow(tenant_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """The kept totals of months ``first`` to ``last`` (every currency and category; at most a few hundred)."""
    found: list[dict[str, Any]] = []
    start: Mapping[str, str] | None = None
    while True:
        page = Table().query_page(
            _cash_flow_pk(tenant_id),
            sort_between=(keys.cash_flow_prefix(first), keys.cash_flow_prefix(last) + "~"),
            limit=100,
            start_key=start,
        )
        found += page.items
        if page.last_key is None:
            return found
        start = page.last_key


def new_recurring_op(tenant_id: str, item: RecurringItem) -> WriteOp:
    """The write creating a recurring item."""
    return put_op(
        {
            "PK": keys.entity_pk(tenant_id, Kind.RECURRING_ITEM, item.id),
            "SK": keys.META_SK,
            ENTITY: "RecurringItem",
            GSI1.partition_key: keys.collection_pk(tenant_id, Collection.RECURRING_ITEMS),
            GSI1.sort_key: keys.time_sk(item.created_at, item.id),
            **item.model_dump(exclude_none=True),
        }
    )


def recurring_of(item: Mapping[str, Any]) -> RecurringItem:
    """A recurring item as the API shows it."""
    return RecurringItem.model_validate({k: v for k, v in item.items() if k in _RECURRING})


def list_recurring(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[dict[str, Any]]:
    """One page of the tenant's recurring items, oldest first."""
    return Table().query_page(
        keys.collection_pk(tenant_id, Collection.RECURRING_ITEMS), index=GSI1, limit=limit, start_key=start_key
    )


def payout_key(tenant_id: str, payout_id: str) -> tuple[str, str]:
    """(PK, SK) of a payout."""
    return keys.entity_pk(tenant_id, Kind.PAYOUT, payout_id), keys.META_SK


def new_payout_op(tenant_id: str, payout: Payout, encrypted_number: str) -> WriteOp:
    """The write creating a payout (the destination's number encrypted)."""
    pk, sk = payout_key(tenant_id, payout.id)
    return put_op(
        {
            "PK": pk,
            "SK": sk,
            ENTITY: "Payout",
            GSI1.partition_key: keys.collection_pk(tenant_id, Collection.PAYOUTS),
            GSI1.sort_key: keys.time_sk(payout.created_at, payout.id),
            "numberEncrypted": encrypted_number,
            **payout.model_dump(exclude_none=True),
        }
    )


def get_payout(tenant_id: str, payout_id: str) -> dict[str, Any] | None:
    """A payout as stored, or None."""
    return Table().get(*payout_key(tenant_id, payout_id), consistent=True)


def payout_of(item: Mapping[str, Any]) -> Payout:
    """A payout as the API shows it."""
    return Payout.model_validate({k: v for k, v in strip_storage(item).items() if k in _PAYOUT})


def list_payouts(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[dict[str, Any]]:
    """One page of payouts, newest first."""
    return Table().query_page(
        keys.collection_pk(tenant_id, Collection.PAYOUTS),
        index=GSI1,
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )
