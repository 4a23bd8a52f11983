"""The demo companies' books in Lucrum (``localdev.seed``): their accounts, a month of entries and the recurring
items, made through the finance services as a person would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.access.principal import Principal
from chalicelib.core.money import Money
from chalicelib.finance import planning as finance_planning
from chalicelib.finance import service as finance
from chalicelib.finance.models import (
    BankAccount,
    CreateAccountRequest,
    CreateRecurringRequest,
    CreateTransactionRequest,
)

__all__ = ["BIKE_SHOP_BOOKS", "RESELLER_BOOKS", "Account", "Books", "seed_books"]

# (type, amount, category, days ago, description)
Entry = tuple[str, str, str, int, str]
# (name, type, amount, category, day of the month)
Recurring = tuple[str, str, str, str, int]


@dataclass(frozen=True)
class Account:
    """An account of the books, with its opening balance, its fields (bankCode, number, type…) and its entries."""

    name: str
    opening: str
    fields: dict[str, Any] = field(default_factory=dict)
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Books:
    """A company's books: its accounts (the first receives payments and carries the recurring items)."""

    currency: str
    accounts: tuple[Account, ...]
    recurring: tuple[Recurring, ...] = ()


BIKE_SHOP_BOOKS = Books(
    "USD",
    (
        Account(
            "Chase Business Checking",
            "8000.00",
            {"bankCode": "021", "number": "000123456789", "receivesPayments": True},
            (
                ("income", "1240.00", "services", 20, "Tune-ups, week 1"),
                ("income", "980.50", "parts", 13, "Counter sales"),
                ("expense", "310.00", "parts", 9, "Tubes and chains"),
                ("expense", "95.20", "utilities", 4, "Electricity"),
            ),
        ),
    ),
    (
        ("Shop rent", "expense", "2200.00", "rent", 1),
        ("Mechanics' wages", "expense", "5400.00", "wages", 28),
    ),
)

RESELLER_BOOKS = Books(
    "BRL",
    (
        Account(
            "Itaú PJ",
            "25000.00",
            {"bankCode": "341", "agency": "0912", "number": "45871-3", "receivesPayments": True},
            (
                ("income", "12480.00", "vendas", 25, "Pedido atacado Loja Pedal Forte"),
                ("income", "8320.50", "vendas", 11, "Pedido atacado Ciclo Sul"),
                ("expense", "9800.00", "fornecedores", 18, "Reposição Shimano"),
                ("expense", "1250.00", "frete", 7, "Transportadora"),
            ),
        ),
        Account(
            "Caixa da loja",
            "1500.00",
            {"type": "cash"},
            (("expense", "180.00", "material de escritório", 3, "Papelaria"),),
        ),
    ),
    (
        ("Aluguel do galpão", "expense", "4500.00", "aluguel", 5),
        ("Folha de pagamento", "expense", "12000.00", "salários", 28),
        ("Contrato Ciclo Sul", "income", "6000.00", "vendas", 15),
    ),
)


def seed_books(admin: Principal, books: Books) -> None:
    """Open the accounts of ``books``, record their entries, then the recurring items of the first."""
    opened = [
        finance.create_account(
            admin,
            CreateAccountRequest.model_validate(
                {"name": account.name, "openingBalance": Money.of(account.opening, books.currency), **account.fields}
            ),
        )
        for account in books.accounts
    ]
    for account, made in zip(books.accounts, opened, strict=True):
        _record(admin, made, account.entries)
    for name, type_, amount, category, day in books.recurring:
        body = CreateRecurringRequest.model_validate(
            {
                "name": name,
                "type": type_,
                "amount": Money.of(amount, opened[0].currency),
                "category": category,
                "dayOfMonth": day,
                "accountId": opened[0].id,
            }
        )
        finance_planning.create_recurring(admin, body)


def _record(admin: Principal, account: BankAccount, entries: tuple[Entry, ...]) -> None:
    today = datetime.now(ZoneInfo("UTC")).date()
    for type_, amount, category, days_ago, description in entries:
        body = CreateTransactionRequest.model_validate(
            {
                "type": type_,
                "amount": Money.of(amount, account.currency),
                "category": category,
                "date": (today - timedelta(days=days_ago)).isoformat(),
                "description": description,
                "accountId": account.id,
            }
        )
        finance.create_transaction(admin, body, None)
