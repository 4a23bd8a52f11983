"""StockTech and Lucrum by data size: a marketplace search page and a balance read at 1 000 vs 100 000 items.

The marketplace index is global, so the two sizes are two operator categories of the same index: one holding 1 000
published listings, the other up to 100 000 (``GET /marketplace/listings?categoryId=`` reads that category's index
partition; with ``q=`` a name prefix inside it). The balance read is ``GET /finance/accounts/{id}`` of an account
with 1 000 transactions and of one with up to 100 000 (and the first page of ``GET /finance/transactions`` of each).

The items are written straight into DynamoDB Local (BatchWriteItem from a few threads): each one built by the real
code (``marketplace.store`` keys and index entries of a visible listing; ``finance.store.new_transaction_op``'s Put
of a ``FinanceTransaction``), the balance then ADDed once with the total, as the transactions' own writes would have.
Seeding stops at its time budget; the report says how many items the large side holds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.stats import Summary, summarise, timed_ms
from bench.target import BenchError, Target, send

__all__ = ["LARGE", "SMALL", "MarketReport", "measure_marketplace", "render_marketplace"]

SMALL = 1_000
LARGE = 100_000
_BATCH = 25
_CHUNK = 1_000
_WORKERS = 4
_NAMES = ("Câmara de ar", "Corrente", "Pedal", "Selim", "Freio", "Cubo", "Raio", "Pneu", "Guidão", "Manopla")


@dataclass(frozen=True)
class MarketRow:
    """One timed request on the small and the large side."""

    label: str
    small: Summary
    large: Summary
    items: int


@dataclass(frozen=True)
class MarketReport:
    """What was seeded and how the reads compare."""

    small: int
    listings: int
    transactions: int
    seed_s: float
    rows: list[MarketRow]


def _listing_items(seller: str, category: str, start: int, count: int) -> list[dict[str, Any]]:
    from chalicelib.core.db.store import put_op
    from chalicelib.core.ids import new_id
    from chalicelib.marketplace import store

    items = []
    for i in range(start, start + count):
        listing_id = new_id()
        item: dict[str, Any] = {
            "id": listing_id,
            "sellerTenantId": seller,
            "sellerName": "Bench Atacado",
            "productId": new_id(),
            "code": f"BP{i % 1_000_000:06d}X",
            "name": f"{_NAMES[i % len(_NAMES)]} {i:06d}",
            "price": {"amount": Decimal("19.90"), "currency": "BRL"},
            "minQuantity": 1,
            "categoryId": category,
            "visible": True,
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "version": 1,
        }
        pk, sk = store.listing_key(listing_id)
        full = {"PK": pk, "SK": sk, "entity": store.LISTING_ENTITY, **item, **store.listing_index_keys(item)}
        items.append(put_op(full).body["Item"])
    return items


def _transaction_items(tenant: str, account: str, start: int, count: int) -> list[dict[str, Any]]:
    from chalicelib.core.ids import new_id
    from chalicelib.finance import service, store
    from chalicelib.finance.models import FinanceTransaction

    items = []
    for i in range(start, start + count):
        transaction = FinanceTransaction.model_validate(
            {
                "id": new_id(),
                "code": service.new_code(),
                "type": "income",
                "amount": {"amount": "1.00", "currency": "BRL"},
                "category": "vendas",
                "date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "accountId": account,
                "source": "manual",
                "createdBy": "bench",
                "createdAt": "2026-01-01T00:00:00.000Z",
            }
        )
        items.append(store.new_transaction_op(tenant, transaction).body["Item"])
    return items


def _write(target: Target, build: Callable[[int, int], list[dict[str, Any]]], total: int, deadline: float) -> int:
    """Write ``total`` items built by ``build(start, count)`` in chunks until done or ``deadline``; how many."""
    table = target.table.name

    def chunk(start: int) -> int:
        items = build(start, min(_CHUNK, total - start))
        for i in range(0, len(items), _BATCH):
            pending: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items[i : i + _BATCH]]}
            while pending:
                answer = target.bare_dynamodb.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        return len(items)

    written = 0
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for start in range(0, total, _CHUNK * _WORKERS):
            if start and time.monotonic() > deadline:
                break
            starts = range(start, min(total, start + _CHUNK * _WORKERS), _CHUNK)
            written += sum(pool.map(chunk, starts))
    return written


def _category(name: str) -> str:
    from chalicelib.access.permissions import Role
    from chalicelib.access.principal import Principal
    from chalicelib.core.ids import new_id
    from chalicelib.marketplace import service
    from chalicelib.marketplace.models import CreateMarketGroupRequest

    operator = Principal(user_id="bench", tenant_id="platform", role=Role.PLATFORM_ADMIN, email="bench@example.com")
    body = CreateMarketGroupRequest(name=f"{name} {new_id()}")
    return service.create_group(operator, "category", body).id


def _account(target: Target, token: str) -> str:
    body = {"name": "Bench bank", "number": "12345-6"}
    return str(json.loads(send(target.api, "POST", "/finance/accounts", body, token=token, expect=201).body)["id"])


def _add_balance(tenant: str, account: str, amount: Decimal) -> None:
    from chalicelib.core.db.store import Table
    from chalicelib.core.errors import Conflict
    from chalicelib.finance import store

    Table().transact([store.balance_op(tenant, account, amount, conflict=Conflict(detail="no account"))])


def _time(target: Target, token: str, paths: Sequence[str], runs: int) -> list[Summary]:
    def request(path: str) -> Callable[[], object]:
        return lambda: send(target.api, "GET", path, None, token=token, expect=200)

    samples: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):  # interleaved, so both sides see the same machine load
        for i, path in enumerate(paths):
            samples[i].append(timed_ms(request(path)))
    return [summarise(s) for s in samples]


def measure_marketplace(
    target: Target, *, large: int = LARGE, runs: int = 50, budget_s: float = 120.0, progress: Callable[[str], None]
) -> MarketReport:
    """Seed both sides, check the reads answer a full page, and time them."""
    seller, buyer = target.sign_up(), target.sign_up()
    small_category, large_category = _category("Bench pequena"), _category("Bench grande")
    small_account, large_account = _account(target, seller.access_token), _account(target, seller.access_token)
    started = time.monotonic()
    deadline = started + budget_s
    _write(target, lambda s, n: _listing_items(seller.tenant_id, small_category, s, n), SMALL, deadline)
    _write(target, lambda s, n: _transaction_items(seller.tenant_id, small_account, s, n), SMALL, deadline)
    progress(f"marketplace: {SMALL} listings and transactions written; the large side within {budget_s:.0f} s")
    listings = _write(target, lambda s, n: _listing_items(seller.tenant_id, large_category, s, n), large, deadline)
    transactions = _write(
        target, lambda s, n: _transaction_items(seller.tenant_id, large_account, s, n), large, deadline + budget_s / 2
    )
    _add_balance(seller.tenant_id, small_account, Decimal(SMALL))
    _add_balance(seller.tenant_id, large_account, Decimal(transactions))
    seed_s = time.monotonic() - started
    for account, expected in ((small_account, SMALL), (large_account, transactions)):
        shown = json.loads(
            send(target.api, "GET", f"/finance/accounts/{account}", None, token=seller.access_token, expect=200).body
        )
        if Decimal(shown["balance"]["amount"]) != expected:
            raise BenchError(f"balance {shown['balance']} of an account with {expected} transactions of 1.00")
    pairs = [
        ("search page (category)", "/marketplace/listings?categoryId={c}&limit=25", buyer.access_token, listings),
        (
            "search page (category + q=Pedal)",
            "/marketplace/listings?categoryId={c}&q=pedal&limit=25",
            buyer.access_token,
            listings,
        ),
        ("balance read (GET account)", "/finance/accounts/{a}", seller.access_token, transactions),
        (
            "transactions page (account)",
            "/finance/transactions?accountId={a}&limit=25",
            seller.access_token,
            transactions,
        ),
    ]
    rows = []
    for label, pattern, token, items in pairs:
        small_path = pattern.format(c=small_category, a=small_account)
        large_path = pattern.format(c=large_category, a=large_account)
        small_summary, large_summary = _time(target, token, [small_path, large_path], runs)
        rows.append(MarketRow(label, small_summary, large_summary, items))
    small_bare, large_bare = _time_bare_prefix([small_category, large_category], "pedal", runs)
    rows.insert(2, MarketRow("bare Query of that page (GSI2, begins_with)", small_bare, large_bare, listings))
    return MarketReport(SMALL, listings, transactions, seed_s, rows)


def _time_bare_prefix(categories: Sequence[str], prefix: str, runs: int) -> list[Summary]:
    """The search's own Query (no HTTP, no app): one page of a category's listings whose name starts with ``prefix``.
    Shows how much of the prefix search's time is the database's key-range read itself."""
    from chalicelib.marketplace import store

    def query(category: str) -> Callable[[], object]:
        return lambda: store.search_listings(
            category_id=category, brand_id=None, prefix=prefix, limit=25, start_key=None
        )

    samples: list[list[float]] = [[] for _ in categories]
    for _ in range(runs):
        for i, category in enumerate(categories):
            samples[i].append(timed_ms(query(category)))
    return [summarise(s) for s in samples]


def render_marketplace(report: MarketReport) -> str:
    """The markdown table of the report."""
    from bench.report import table

    lines = [
        f"| request | median at {report.small:,} (ms) | p95 | median at the large side (ms) | p95 | large side |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report.rows:
        cells = (r.label, f"{r.small.median:.1f}", f"{r.small.p95:.1f}", f"{r.large.median:.1f}", f"{r.large.p95:.1f}")
        lines.append("| " + " | ".join(cells) + f" | {r.items:,} |")
    seeded = table(
        ["seeded", "count"],
        [
            ["listings in the large category", f"{report.listings:,}"],
            ["transactions of the large account", f"{report.transactions:,}"],
            ["seeding (s)", f"{report.seed_s:.0f}"],
        ],
    )
    return "\n".join(lines) + "\n\n" + seeded
