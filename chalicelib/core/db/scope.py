"""Whose request is running: the tenant scope every key a request touches must stay inside, and the request's
read-ahead (items read in one BatchGetItem for the ``get``s that follow).

Both are context variables set by the API layer around a request; ``Table`` (``core/db/store.py``) reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from chalicelib.core.db.keys import tenant_prefix
from chalicelib.core.db.table import PARTITION_KEY

__all__ = [
    "ReadAhead",
    "TenantScopeViolation",
    "check_scope",
    "current_tenant",
    "forget_read_ahead",
    "kept_read_ahead",
    "partition_of",
    "read_ahead",
    "tenant_scope",
    "unscoped",
]


class TenantScopeViolation(RuntimeError):
    """Raised when code running for one tenant touches a key outside ``T#<tenant>#`` without saying it means to
    (a programming error: in AWS the tenant's credentials would be denied the same access)."""


# The tenant whose request is running (set by the API layer after the guard); None: platform-level code.
_tenant_scope: ContextVar[str | None] = ContextVar("tenant_scope", default=None)


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    """Run the block as tenant ``tenant_id``: the table is reached with that tenant's credentials (when a
    tenant-access role is configured) and every key touched must be one of the tenant's."""
    token = _tenant_scope.set(tenant_id)
    try:
        yield
    finally:
        _tenant_scope.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Run the block as the platform, inside a tenant's request: for the few writes that are global by design
    (login routes of a new user, brute-force counters, the platform operator's changes to tenants)."""
    token = _tenant_scope.set(None)
    try:
        yield
    finally:
        _tenant_scope.reset(token)


def current_tenant() -> str | None:
    """The tenant whose request is running; None: platform-level code."""
    return _tenant_scope.get()


def check_scope(partition: str | None) -> None:
    """Refuse ``partition`` when it lies outside the running tenant's keys (``TenantScopeViolation``)."""
    # The same rule as the IAM session policy (dynamodb:LeadingKeys T#<tenant>#*), enforced here too so that
    # tests and local runs, where no IAM applies, catch a request path reaching outside its tenant.
    tenant_id = _tenant_scope.get()
    if tenant_id is None or partition is None:
        return
    if not partition.startswith(tenant_prefix(tenant_id)):
        raise TenantScopeViolation(
            f"a request of tenant {tenant_id} touched {partition!r}; keys outside T#<tenant># need "
            "`with unscoped():` (see docs/SECURITY.md, Tenant isolation)"
        )


# Items one request read ahead (``Table.prefetch``) by (table, PK, SK), as DynamoDB returned them; None: no item.
ReadAhead = dict[tuple[str, str, str], dict[str, Any] | None]
_read_ahead: ContextVar[ReadAhead | None] = ContextVar("read_ahead", default=None)


@contextmanager
def read_ahead() -> Iterator[None]:
    """One request's read-ahead (the API layer runs every request in one): inside it ``Table.prefetch`` reads
    several items in one BatchGetItem and later eventually consistent ``Table.get``s of them answer from what it
    read, until any write through ``Table`` (which forgets everything read ahead). Nothing outlives the block."""
    token = _read_ahead.set({})
    try:
        yield
    finally:
        _read_ahead.reset(token)


def kept_read_ahead() -> ReadAhead | None:
    """The running request's read-ahead (None outside ``read_ahead()``)."""
    return _read_ahead.get()


def forget_read_ahead() -> None:
    """Forget everything the running request read ahead (any write does)."""
    kept = _read_ahead.get()
    if kept:
        kept.clear()


def partition_of(body: Mapping[str, Any]) -> str | None:
    """The partition key of a request body (its ``Key`` or ``Item``), None when it names none."""
    for part in ("Key", "Item"):
        if part in body:
            return str(body[part][PARTITION_KEY]["S"])
    return None
