"""Inventory models: a product's stock level, its movements, and the requests that move stock."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import PatchRequest

__all__ = [
    "MAX_UNITS",
    "Movement",
    "MovementListQuery",
    "MovementRequest",
    "MovementType",
    "StockChange",
    "StockLevel",
    "StockListQuery",
    "StockRecord",
    "ThresholdRequest",
]

MovementType = Literal["in", "out", "adjust", "reserve", "release", "consume"]
MAX_UNITS = 1_000_000_000


class StockRecord(ApiModel):
    """Stock of one product as stored: on hand, reserved for orders, available (on hand minus reserved)."""

    product_id: str
    code: str
    name: str
    active: bool
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    low_stock_threshold: int = 0
    updated_at: str

    @property
    def low(self) -> bool:
        """Whether the available units are under the low-stock threshold."""
        return self.available < self.low_stock_threshold


class StockLevel(ApiModel):
    """Stock of one product: on hand, reserved for orders, and available (on hand minus reserved)."""

    product_id: str
    code: str
    name: str
    active: bool
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int = Field(description="Low when available falls under it; 0: never low")
    low: bool = Field(description="Available is under the threshold")
    updated_at: str

    @classmethod
    def of(cls, record: StockRecord) -> StockLevel:
        """The API view of a stored stock level."""
        return cls(**record.model_dump(by_alias=False), low=record.low)


class Movement(ApiModel):
    """One change of a product's stock: who, when, why, and what it did to on-hand and reserved units."""

    id: str
    product_id: str
    type: MovementType
    quantity: int = Field(description="Units moved; for adjust, the on-hand count that was set")
    on_hand_change: int
    reserved_change: int
    reason: str | None = None
    reference: str | None = Field(default=None, description="What caused it, e.g. the order id")
    actor_id: str
    at: str


class StockChange(ApiModel):
    """A recorded movement and the stock level right after it."""

    movement: Movement
    stock: StockLevel


class MovementRequest(ApiModel):
    """Record stock arriving (in), leaving (out) or counted (adjust: ``quantity`` is the on-hand count)."""

    type: Literal["in", "out", "adjust"]
    quantity: int = Field(ge=0, le=MAX_UNITS, description="Units moved (at least 1); for adjust, the counted units")
    reason: str | None = Field(default=None, max_length=200, examples=["supplier delivery", "damaged", "stock take"])


class ThresholdRequest(PatchRequest):
    """Set the product's low-stock threshold (0 turns the alert off)."""

    low_stock_threshold: int = Field(ge=0, le=MAX_UNITS)


class StockListQuery(PageParams):
    """Stock levels by product code; ``low=true`` lists only those under their threshold."""

    low: bool | None = None


class MovementListQuery(PageParams):
    """A product's movements, newest first."""
