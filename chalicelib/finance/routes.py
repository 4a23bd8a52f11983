"""Lucrum finance routes: accounts, transactions and transfers, recurring items, the cash flow, payouts."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.finance import payouts, planning, service
from chalicelib.finance.models import (
    BankAccount,
    CashFlowQuery,
    CashFlowReport,
    CreateAccountRequest,
    CreatePayoutRequest,
    CreateRecurringRequest,
    CreateTransactionRequest,
    FinanceTransaction,
    Payout,
    RecurringItem,
    TransactionListQuery,
    TransferRequest,
    TransferResult,
)

blueprint = protected_blueprint(__name__, tag="finance")
M = Module.FINANCE
READ = Permission.FINANCE_READ
WRITE = Permission.FINANCE_WRITE


@blueprint.operation(
    "/finance/accounts",
    "POST",
    body=CreateAccountRequest,
    response=BankAccount,
    status=201,
    permission=WRITE,
    module=M,
    idempotent=True,
)
def finance_create_account(
    body: CreateAccountRequest, principal: Principal, idempotency_key: str | None
) -> BankAccount:
    """Add a bank account

    Bank, agency, number (stored encrypted, shown masked), type, currency (the tenant's by default) and opening
    balance. receivesPayments: payments and paid sales are recorded as income here.
    """
    return service.create_account(principal, body, idempotency_key)


@blueprint.operation("/finance/accounts", query=PageParams, response=Page[BankAccount], permission=READ, module=M)
def finance_list_accounts(query: PageParams, principal: Principal) -> Page[BankAccount]:
    """List bank accounts

    With their current balances.
    """
    return service.list_accounts(principal, query)


@blueprint.operation("/finance/accounts/{account_id}", response=BankAccount, problems=(404,), permission=READ, module=M)
def finance_get_account(account_id: str, principal: Principal) -> BankAccount:
    """Get a bank account and its balance"""
    return service.get_account(principal, account_id)


@blueprint.operation(
    "/finance/transactions",
    "POST",
    body=CreateTransactionRequest,
    response=FinanceTransaction,
    status=201,
    permission=WRITE,
    module=M,
    idempotent=True,
)
def finance_create_transaction(
    body: CreateTransactionRequest, principal: Principal, idempotency_key: str | None
) -> FinanceTransaction:
    """Record an income or expense

    Gets a code (LC12345678A); the account's balance changes in the same write. The amount is above 0 in the
    account's currency. Send Idempotency-Key to retry safely.
    """
    return service.create_transaction(principal, body, idempotency_key)


@blueprint.operation(
    "/finance/transactions", query=TransactionListQuery, response=Page[FinanceTransaction], permission=READ, module=M
)
def finance_list_transactions(query: TransactionListQuery, principal: Principal) -> Page[FinanceTransaction]:
    """List transactions

    Newest date first: all, or of one account, within from/to. CSV: POST /exports {kind: finance_transactions}.
    """
    return service.list_transactions(principal, query)


@blueprint.operation(
    "/finance/transfers",
    "POST",
    body=TransferRequest,
    response=TransferResult,
    status=201,
    permission=WRITE,
    module=M,
    idempotent=True,
)
def finance_transfer(body: TransferRequest, principal: Principal, idempotency_key: str | None) -> TransferResult:
    """Transfer between two accounts

    One expense and one income, written together (same currency). Transfers are left out of the cash flow.
    """
    return service.transfer(principal, body, idempotency_key)


@blueprint.operation(
    "/finance/recurring",
    "POST",
    body=CreateRecurringRequest,
    response=RecurringItem,
    status=201,
    permission=WRITE,
    module=M,
    idempotent=True,
)
def finance_create_recurring(
    body: CreateRecurringRequest, principal: Principal, idempotency_key: str | None
) -> RecurringItem:
    """Add a recurring item

    A monthly income or expense (rent, salaries) on a day of the month, counted by the cash-flow forecast.
    """
    return planning.create_recurring(principal, body, idempotency_key)


@blueprint.operation("/finance/recurring", query=PageParams, response=Page[RecurringItem], permission=READ, module=M)
def finance_list_recurring(query: PageParams, principal: Principal) -> Page[RecurringItem]:
    """List recurring items"""
    return planning.list_recurring(principal, query)


@blueprint.operation("/finance/cash-flow", query=CashFlowQuery, response=CashFlowReport, permission=READ, module=M)
def finance_cash_flow(query: CashFlowQuery, principal: Principal) -> CashFlowReport:
    """Cash flow by month and category

    Income, expense and net per month (at most 24) and category, in one currency; from today on, the forecast of
    the recurring items still to come.
    """
    return planning.cash_flow(principal, query)


@blueprint.operation(
    "/finance/payouts",
    "POST",
    body=CreatePayoutRequest,
    response=Payout,
    status=201,
    permission=WRITE,
    module=M,
    idempotent=True,
)
def finance_create_payout(body: CreatePayoutRequest, principal: Principal, idempotency_key: str | None) -> Payout:
    """Record a payout

    A transfer to an external account (its number stored encrypted): an expense of the account now, pending until
    reconciled by hand.
    """
    return payouts.create_payout(principal, body, idempotency_key)


@blueprint.operation("/finance/payouts", query=PageParams, response=Page[Payout], permission=READ, module=M)
def finance_list_payouts(query: PageParams, principal: Principal) -> Page[Payout]:
    """List payouts"""
    return payouts.list_payouts(principal, query)


@blueprint.operation(
    "/finance/payouts/{payout_id}/reconcile",
    "POST",
    response=Payout,
    problems=(404, 409),
    permission=WRITE,
    module=M,
)
def finance_reconcile_payout(payout_id: str, principal: Principal) -> Payout:
    """Reconcile a payout

    Seen on the bank statement; a second time is a 409.
    """
    return payouts.reconcile_payout(principal, payout_id)
