"""Lucrum planning: recurring items (a monthly rent, salaries) and the cash-flow report by month and category,
with the forecast of the recurring items still to come. The report reads the month totals every transaction keeps
(one key-range read), never the transactions themselves.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table
from chalicelib.core.errors import invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.finance import service, store
from chalicelib.finance.models import (
    CashFlowCategory,
    CashFlowMonth,
    CashFlowQuery,
    CashFlowReport,
    CreateRecurringRequest,
    RecurringItem,
)
from chalicelib.tenants.service import load_tenant

__all__ = ["MAX_MONTHS", "cash_flow", "create_recurring", "list_recurring"]

MAX_MONTHS = 24
_RECURRING_CAP = 500


def create_recurring(
    principal: Principal, body: CreateRecurringRequest, idempotency_key: str | None = None
) -> RecurringItem:
    """A monthly income or expense the forecast counts (not posted by itself)."""
    require(principal, Permission.FINANCE_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "finance-recurring",
        body,
        RecurringItem,
        lambda seal: _create_recurring(principal, body, seal),
    )


def _create_recurring(principal: Principal, body: CreateRecurringRequest, seal: idempotency.Seal) -> RecurringItem:
    if body.account_id is not None:
        account = service.account_item(principal.tenant_id, body.account_id, "body.accountId")
        if body.amount.currency != account["currency"]:
            raise invalid_field("body.amount.currency", f"must be the account's currency, {account['currency']}")
    if body.amount.amount <= 0:
        raise invalid_field("body.amount.amount", "must be above 0", "not-positive")
    starts = body.starts_on or clock.now().date()
    if body.ends_on is not None and body.ends_on < starts:
        raise invalid_field("body.endsOn", "must not be before startsOn")
    item = RecurringItem(
        id=new_id(),
        name=body.name,
        type=body.type,
        amount=body.amount,
        category=body.category,
        day_of_month=body.day_of_month,
        account_id=body.account_id,
        starts_on=starts.isoformat(),
        ends_on=body.ends_on.isoformat() if body.ends_on else None,
        created_at=clock.now_iso(),
    )
    after = item.model_dump(exclude_none=True)
    Table().transact(
        [
            store.new_recurring_op(principal.tenant_id, item),
            audit_op(principal, "finance.recurring_created", Kind.RECURRING_ITEM, item.id, after=after),
            *seal(item),
        ]
    )
    return item


def list_recurring(principal: Principal, params: PageParams) -> Page[RecurringItem]:
    """The tenant's recurring items, oldest first."""
    require(principal, Permission.FINANCE_READ)
    return paginate(
        Page[RecurringItem],
        params,
        tenant_id=principal.tenant_id,
        scope="finance-recurring",
        fetch=lambda start: store.list_recurring(principal.tenant_id, params.limit, start),
        convert=store.recurring_of,
    )


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _all_recurring(tenant_id: str) -> list[RecurringItem]:
    found: list[RecurringItem] = []
    start: Mapping[str, str] | None = None
    while len(found) < _RECURRING_CAP:
        page = store.list_recurring(tenant_id, 100, start)
        found += [store.recurring_of(i) for i in page.items]
        if page.last_key is None:
            break
        start = page.last_key
    return found


def _due(item: RecurringItem, month: str, today: date) -> bool:
    """Whether the recurring item still comes in ``month`` (counted from today on, within its start and end)."""
    year, number = int(month[:4]), int(month[5:])
    due = date(year, number, min(item.day_of_month, calendar.monthrange(year, number)[1]))
    if due <= today or not item.active:
        return False
    return date.fromisoformat(item.starts_on) <= due and (
        item.ends_on is None or due <= date.fromisoformat(item.ends_on)
    )


def _categories(totals: Mapping[str, tuple[Decimal, Decimal]], currency: str) -> list[CashFlowCategory]:
    return [
        CashFlowCategory(category=name, income=Money.of(i, currency), expense=Money.of(e, currency))
        for name, (i, e) in sorted(totals.items())
    ]


def cash_flow(principal: Principal, query: CashFlowQuery) -> CashFlowReport:
    """Income and expense per month and category (kept totals: one range read), and the forecast of the recurring
    items still to come in each month."""
    require(principal, Permission.FINANCE_READ)
    if query.from_ > query.to:
        raise invalid_field("query.from", "must not be after to")
    months = _months(query.from_, query.to)
    if len(months) > MAX_MONTHS:
        raise invalid_field("query.to", f"at most {MAX_MONTHS} months")
    currency = query.currency or load_tenant(principal.tenant_id).currency
    actual: dict[str, dict[str, tuple[Decimal, Decimal]]] = {m: {} for m in months}
    for row in store.list_cash_flow(principal.tenant_id, months[0], months[-1]):
        if row.get("currency") != currency or row.get("month") not in actual:
            continue
        actual[str(row["month"])][str(row["category"])] = (Decimal(str(row["income"])), Decimal(str(row["expense"])))
    today = clock.now().date()
    recurring = [r for r in _all_recurring(principal.tenant_id) if r.amount.currency == currency]
    result = []
    for month in months:
        forecast: dict[str, tuple[Decimal, Decimal]] = {}
        for item in recurring:
            if _due(item, month, today):
                i, e = forecast.get(item.category, (Decimal(0), Decimal(0)))
                add = item.amount.amount
                forecast[item.category] = (i + add, e) if item.type == "income" else (i, e + add)
        income = sum((v[0] for v in actual[month].values()), Decimal(0))
        expense = sum((v[1] for v in actual[month].values()), Decimal(0))
        result.append(
            CashFlowMonth(
                month=month,
                income=Money.of(income, currency),
                expense=Money.of(expense, currency),
                net=Money.of(income - expense, currency),
                categories=_categories(actual[month], currency),
                forecast_income=Money.of(sum((v[0] for v in forecast.values()), Decimal(0)), currency),
                forecast_expense=Money.of(sum((v[1] for v in forecast.values()), Decimal(0)), currency),
                forecast_categories=_categories(forecast, currency),
            )
        )
    return CashFlowReport(currency=currency, months=result)
