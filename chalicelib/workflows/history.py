"""What a reader of an entity's status history needs of the workflows: the kinds of entity and one status change.

Apart from ``workflows.models`` (a status flow's definition: many models) so that reading an order or its history
does not build them (issue 20's cold path); ``workflows.models`` re-exports both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from chalicelib.core.models import ApiModel

__all__ = ["EntityType", "HistoryEntry"]


class EntityType(StrEnum):
    """The kinds of entity whose status runs through a workflow."""

    ORDER = "order"
    APPOINTMENT = "appointment"
    SERVICE_JOB = "service_job"
    SALE = "sale"
    LEAD = "lead"
    MARKETPLACE_TRANSACTION = "marketplace_transaction"


class HistoryEntry(ApiModel):
    """One status change of an entity."""

    id: str
    from_: str = Field(alias="from")
    to: str
    actor_id: str = Field(description="The user who made it, or 'system' for a timer or a payment")
    trigger: Literal["user", "timer", "payment", "shipped", "delivered"]
    note: str | None = None
    version: int = Field(description="The entity's version after the change")
    at: str
