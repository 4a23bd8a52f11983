"""What can be paid through payments: the port the owners of payable things (orders today; sales next) plug in.

An owner registers once, at import, with ``register("order", owner)``: ``describe`` tells the payments service what
is to be paid (the amount, the customer, whether it can still be paid) and checks that the reader may see it;
``record_payment`` is told when the payment state changes (paid, partly or fully refunded) and moves the thing
along its own flow (an order to its paid status through the workflow engine, else ``paymentStatus`` on it).
Payments never import the owners: the owners import this module, as entity owners register with the workflow
engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from chalicelib.access.principal import Principal
from chalicelib.core import capabilities
from chalicelib.core.money import Money

__all__ = ["Payable", "PayableOwner", "PaymentState", "owner", "register"]


@dataclass(frozen=True)
class Payable:
    """Something to be paid, as its owner describes it. ``closed`` says why it cannot be paid any more (None: it
    can); ``channel`` is where its customer talks to the business (``whatsapp``, ``web``, ``pos``)."""

    kind: str
    id: str
    label: str
    total: Money
    customer_id: str | None
    channel: str
    closed: str | None = None


@dataclass(frozen=True)
class PaymentState:
    """Where a payable's payment stands, for its owner."""

    status: Literal["paid", "partially_refunded", "refunded"]
    payment_id: str
    amount: Money
    refunded: Money
    at: str


class PayableOwner(Protocol):
    """The capability that owns a kind of payable."""

    def describe(self, tenant_id: str, payable_id: str, reader: Principal | None) -> Payable:
        """The payable; ``NotFound`` when there is none (or ``reader`` may not see it). ``reader`` None: the system."""
        ...

    def record_payment(self, tenant_id: str, payable_id: str, state: PaymentState) -> None:
        """Note the payment state on the payable (idempotent: the same state twice changes nothing)."""
        ...


_owners: dict[str, PayableOwner] = {}


def register(kind: str, payable_owner: PayableOwner) -> None:
    """Make ``kind`` payable, described and told by ``payable_owner``."""
    _owners[kind] = payable_owner


def owner(kind: str) -> PayableOwner:
    """The owner of ``kind``; a programming error when nobody registered it."""
    if kind not in _owners:
        capabilities.load_registrations()  # its owner's service may not be imported yet
    found = _owners.get(kind)
    if found is None:
        raise LookupError(f"nothing registered {kind!r} as payable (import its service)")
    return found
