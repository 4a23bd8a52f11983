"""Lucrum finance models: bank accounts (number encrypted), income and expense transactions with their codes,
transfers, recurring items, the cash-flow report and payouts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money, MoneyBelow
from chalicelib.core.pagination import PageParams
from chalicelib.core.references import CheckedInService
from chalicelib.core.validation import CurrencyCode

__all__ = [
    "AccountType",
    "BankAccount",
    "CashFlowCategory",
    "CashFlowMonth",
    "CashFlowQuery",
    "CashFlowReport",
    "CreateAccountRequest",
    "CreatePayoutRequest",
    "CreateRecurringRequest",
    "CreateTransactionRequest",
    "FinanceTransaction",
    "Payout",
    "RecurringItem",
    "TransactionListQuery",
    "TransactionSource",
    "TransactionType",
    "TransferRequest",
    "TransferResult",
]

AccountType = Literal["checking", "savings", "cash"]
TransactionType = Literal["income", "expense"]
TransactionSource = Literal["manual", "transfer", "payment", "sale", "payout"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^#]+$")]
Amount = Annotated[Money, MoneyBelow(15)]
AccountNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[0-9Xx-]+$")
]
# Years 0001-9999 (a Python date's): the forecast builds each month's due date.
Month = Annotated[
    str, StringConstraints(pattern=r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$")
]

IN_ACCOUNT = CheckedInService("bank_account", "the service loads the account of the caller's tenant (its currency)")
A_SALE = CheckedInService("sale", "the service loads the sale of the caller's tenant (sales.service.load_sale)")
AN_ORDER = CheckedInService("order", "the service reads the order as the caller (orders.service.get_order)")


class BankAccount(ApiModel):
    """A bank account (or the cash box) of the tenant; its number only masked; its balance kept exact by every
    transaction's conditional write."""

    id: str
    name: str
    bank_code: str | None = None
    agency: str | None = None
    number_masked: str | None = Field(default=None, description="Last digits of the account number")
    type: AccountType
    currency: str
    opening_balance: Money
    balance: Money
    receives_payments: bool = Field(description="Payments and paid sales are recorded as income here")
    active: bool = True
    created_at: str
    updated_at: str
    version: int = 1


class CreateAccountRequest(ApiModel):
    """A new bank account; its number is stored encrypted."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    bank_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    agency: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    number: AccountNumber | None = None
    type: AccountType = "checking"
    currency: CurrencyCode | None = Field(default=None, description="Defaults to the tenant's currency")
    opening_balance: Money | None = Field(default=None, description="May be negative (an overdraft); 0 by default")
    receives_payments: bool = False


class FinanceTransaction(ApiModel):
    """An income or an expense of one account, with its code (LC12345678A) and what it came from."""

    id: str
    code: str = Field(description="LC, eight digits and a check letter, e.g. LC12345678K")
    type: TransactionType
    amount: Money
    category: str
    date: str
    description: str | None = None
    account_id: str
    source: TransactionSource
    transfer_id: str | None = None
    order_id: str | None = None
    sale_id: str | None = None
    payment_id: str | None = None
    payout_id: str | None = None
    created_by: str
    created_at: str


class CreateTransactionRequest(ApiModel):
    """An income or expense recorded by hand (amount above 0)."""

    type: TransactionType
    amount: Amount
    category: Category
    date: date
    description: Text | None = None
    account_id: Annotated[EntityId, IN_ACCOUNT]
    order_id: Annotated[EntityId | None, AN_ORDER] = None
    sale_id: Annotated[EntityId | None, A_SALE] = None


class TransferRequest(ApiModel):
    """Money moved between two of the tenant's accounts (same currency): one expense and one income, together."""

    from_account_id: Annotated[EntityId, IN_ACCOUNT]
    to_account_id: Annotated[EntityId, IN_ACCOUNT]
    amount: Amount
    date: date
    description: Text | None = None


class TransferResult(ApiModel):
    """The pair a transfer wrote."""

    transfer_id: str
    out: FinanceTransaction
    in_: FinanceTransaction = Field(alias="in")


class TransactionListQuery(PageParams):
    """Transactions by date (newest first), of one account when given, within from/to (dates)."""

    account_id: EntityId | None = None
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class RecurringItem(ApiModel):
    """A monthly income or expense (rent, salaries) the cash-flow forecast counts on its day of the month."""

    id: str
    name: str
    type: TransactionType
    amount: Money
    category: str
    day_of_month: int
    account_id: str | None = None
    starts_on: str
    ends_on: str | None = None
    active: bool = True
    created_at: str


class CreateRecurringRequest(ApiModel):
    """A monthly item of the forecast."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    type: TransactionType
    amount: Amount
    category: Category
    day_of_month: int = Field(ge=1, le=28)
    account_id: Annotated[EntityId | None, IN_ACCOUNT] = None
    starts_on: date | None = None
    ends_on: date | None = None


class CashFlowQuery(ApiModel):
    """Months ``from`` to ``to`` (YYYY-MM, at most 24), in one currency (the tenant's by default)."""

    from_: Month = Field(alias="from")
    to: Month
    currency: CurrencyCode | None = None


class CashFlowCategory(ApiModel):
    """One category's income and expense in a month."""

    category: str
    income: Money
    expense: Money


class CashFlowMonth(ApiModel):
    """A month: what was recorded, and (from the current month on) what the recurring items will add."""

    month: str
    income: Money
    expense: Money
    net: Money
    categories: list[CashFlowCategory]
    forecast_income: Money
    forecast_expense: Money
    forecast_categories: list[CashFlowCategory]


class CashFlowReport(ApiModel):
    """The cash flow by month and category (transfers left out), with a forecast from the recurring items."""

    currency: str
    months: list[CashFlowMonth]


class Payout(ApiModel):
    """Money sent to an external account: recorded as an expense, reconciled by hand against the bank."""

    id: str
    account_id: str
    amount: Money
    destination: str = Field(description="Who and where (the account number masked)")
    date: str
    status: Literal["pending", "reconciled"]
    transaction_id: str
    reconciled_at: str | None = None
    created_at: str
    version: int = 1


class CreatePayoutRequest(ApiModel):
    """A transfer to an external account."""

    account_id: Annotated[EntityId, IN_ACCOUNT]
    amount: Amount
    date: date
    beneficiary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    bank_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    agency: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    number: AccountNumber
    description: Text | None = None
