"""Stock arithmetic, without I/O: what each movement does, and the conditions that make its write safe.

A movement is written as an atomic ADD on the stock item, guarded by conditions, instead of "read, compute,
write the new numbers": concurrent movements of one product then do not conflict with each other merely for
having read the same version. The conditions carry what the write relies on:

- the rule of the movement (``available >= q`` to reserve or take out, ``reserved >= q`` to release or
  consume), so stock never goes negative whatever runs concurrently;
- which side of the low-stock threshold the product is on before and after, read beforehand. The sparse
  low-stock index entry is set or removed by the same write, and the ``inventory.low_stock`` event is added to
  the same transaction, so both must be right when the write succeeds. A concurrent movement that changed
  the side makes this write fail instead (and it is retried, see ``service.run_stock_transaction``); one that
  did not leaves it valid. When a movement takes the product under its threshold, the condition is the exact
  available count read, so the event reports exact figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.inventory.models import MovementType

__all__ = ["Change", "Guard", "change_of", "guard_for"]


@dataclass(frozen=True)
class Change:
    """What a movement adds to on-hand, reserved and available units, and what it needs to be allowed."""

    on_hand: int
    reserved: int
    available: int
    needs_available: int = 0
    needs_reserved: int = 0


def change_of(movement: MovementType, quantity: int, *, from_reserved: bool = True) -> Change:
    """The change ``quantity`` units of ``movement`` make (not ``adjust``, which sets a count).

    ``consume`` takes reserved units (the order reserved them) unless ``from_reserved`` is False, when it takes
    available ones directly (an order completed the moment it was placed).
    """
    q = quantity
    if movement == "in":
        return Change(on_hand=q, reserved=0, available=q)
    if movement == "out":
        return Change(on_hand=-q, reserved=0, available=-q, needs_available=q)
    if movement == "reserve":
        return Change(on_hand=0, reserved=q, available=-q, needs_available=q)
    if movement == "release":
        return Change(on_hand=0, reserved=-q, available=q, needs_reserved=q)
    if movement == "consume":
        if from_reserved:
            return Change(on_hand=-q, reserved=-q, available=0, needs_reserved=q)
        return Change(on_hand=-q, reserved=0, available=-q, needs_available=q)
    raise ValueError(f"{movement} is not a relative movement")


@dataclass(frozen=True)
class Guard:
    """Conditions on the stored ``available`` for a write planned from a read, and what the write does.

    The write is valid when ``at_least <= available`` and (``below`` is None or ``available < below``), or,
    when ``exactly`` is set, when ``available == exactly``.
    """

    at_least: int
    below: int | None
    exactly: int | None
    low_before: bool
    low_after: bool

    @property
    def becomes_low(self) -> bool:
        """The movement takes the product under its threshold (the ``inventory.low_stock`` moment)."""
        return self.low_after and not self.low_before


def guard_for(available: int, threshold: int, change: Change, *, exact: bool = False) -> Guard:
    """The guard of ``change`` planned from a read of ``available`` units against ``threshold``.

    ``exact`` pins the write to the very count read (so what it reports afterwards is exact, as for a movement
    a person records). Raises ValueError when the read already shows the change is not allowed (too few
    available units).
    """
    if available < change.needs_available:
        raise ValueError(f"only {available} available")
    d = change.available
    low_before = available < threshold
    low_after = available + d < threshold
    lower = [change.needs_available]
    upper: list[int] = []
    # Same side of the threshold before the write as at the read ...
    (upper if low_before else lower).append(threshold)
    # ... and after it: available + d < threshold  <=>  available < threshold - d.
    (upper if low_after else lower).append(threshold - d)
    exactly = available if exact or (low_after and not low_before) else None
    return Guard(
        at_least=max(lower),
        below=min(upper) if upper else None,
        exactly=exactly,
        low_before=low_before,
        low_after=low_after,
    )
