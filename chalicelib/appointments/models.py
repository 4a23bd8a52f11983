"""Appointment models: resources with weekly hours, bookings, availability."""

from __future__ import annotations

import itertools
import re
from datetime import time
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import PatchRequest
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.references import Ref
from chalicelib.core.validation import Instant, TimeZoneName

__all__ = [
    "WEEKDAYS",
    "Appointment",
    "AppointmentListQuery",
    "AppointmentRecord",
    "Availability",
    "AvailabilityQuery",
    "BookAppointmentRequest",
    "CreateResourceRequest",
    "Interval",
    "RescheduleRequest",
    "Resource",
    "ResourceKind",
    "Slot",
    "UpdateResourceRequest",
    "WeeklyHours",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ResourceKind = Literal["staff", "room", "equipment"]


_WALL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _wall_time(value: Any) -> Any:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("a time of day in the resource's time zone has no UTC offset")
        return value
    if not isinstance(value, str) or not re.match(_WALL_TIME, value):
        raise ValueError('must be a time of day as "HH:MM" or "HH:MM:SS", e.g. "09:30"')
    return value


# A time of day on the resource's clock ("09:00"): no offset, the resource's time zone applies. Not JSON Schema's
# "time" format, which is RFC 3339's full-time and requires an offset.
WallTime = Annotated[
    time,
    BeforeValidator(_wall_time),
    WithJsonSchema({"type": "string", "pattern": _WALL_TIME, "examples": ["09:00", "18:30:00"]}),
]


class Interval(ApiModel):
    """Opening hours of one stretch of a day, in the resource's time zone (``"09:00"`` to ``"12:30"``)."""

    start: WallTime
    end: WallTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class WeeklyHours(ApiModel):
    """Working hours per weekday; a missing day is closed."""

    mon: list[Interval] = Field(default_factory=empty_list, max_length=6)
    tue: list[Interval] = Field(default_factory=empty_list, max_length=6)
    wed: list[Interval] = Field(default_factory=empty_list, max_length=6)
    thu: list[Interval] = Field(default_factory=empty_list, max_length=6)
    fri: list[Interval] = Field(default_factory=empty_list, max_length=6)
    sat: list[Interval] = Field(default_factory=empty_list, max_length=6)
    sun: list[Interval] = Field(default_factory=empty_list, max_length=6)

    @model_validator(mode="after")
    def _no_overlap(self) -> Self:
        for day in WEEKDAYS:
            stretches = sorted(getattr(self, day), key=lambda i: i.start)
            for earlier, later in itertools.pairwise(stretches):
                if later.start < earlier.end:
                    raise ValueError(f"{day}: working hours overlap")
        return self

    def of(self, weekday: int) -> list[Interval]:
        """The stretches of ``weekday`` (0 = Monday)."""
        stretches: list[Interval] = getattr(self, WEEKDAYS[weekday])
        return stretches


class Resource(ApiModel):
    """Someone or something that can be booked."""

    id: str
    tenant_id: str
    name: str
    kind: ResourceKind
    user_id: str | None = Field(default=None, description="The staff member's user, for their own calendar")
    time_zone: str
    working_hours: WeeklyHours
    service_ids: list[str] = Field(default_factory=empty_list, description="Services it performs; empty = any")
    active: bool = True
    created_at: str
    updated_at: str
    version: int = 1


class CreateResourceRequest(ApiModel):
    """A new bookable resource; its time zone defaults to the tenant's."""

    name: str = Field(min_length=2, max_length=120)
    kind: ResourceKind
    user_id: Annotated[EntityId | None, Ref("user")] = Field(
        default=None, description="The staff member's user, for their own calendar"
    )
    time_zone: TimeZoneName | None = None
    working_hours: WeeklyHours
    service_ids: Annotated[list[EntityId], Ref("service")] = Field(
        default_factory=empty_list, max_length=100, description="Services it performs; empty = any"
    )


class UpdateResourceRequest(PatchRequest):
    """Changes to a resource; ``version`` is the one the client read (an empty ``serviceIds``: any service)."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=2, max_length=120)
    time_zone: TimeZoneName | None = None
    working_hours: WeeklyHours | None = None
    service_ids: Annotated[list[EntityId] | None, Ref("service")] = Field(default=None, max_length=100)
    active: bool | None = None


class Appointment(ApiModel):
    """A booking of a service with a resource at a time."""

    id: str
    tenant_id: str
    resource_id: str
    service_id: str
    customer_id: Annotated[str | None, PERSONAL] = None
    starts_at: str
    ends_at: str
    status: str
    status_changed_at: str | None = None
    workflow_version: int | None = None
    assigned_to: str | None = Field(default=None, description="The staff member's user, when the resource is one")
    notes: str | None = None
    created_by: str
    created_at: str
    updated_at: str
    version: int = 1


class AppointmentRecord(Appointment):
    """An appointment as stored: what the API shows, plus the time blocks of its resource it holds."""

    slot_keys: list[str] = Field(default_factory=empty_list)

    def view(self) -> Appointment:
        """The API view of the stored appointment."""
        return Appointment.model_validate(self.model_dump(include=set(Appointment.model_fields)))


class BookAppointmentRequest(ApiModel):
    """Book ``serviceId`` with ``resourceId`` at ``startsAt`` (ISO 8601 with its offset)."""

    resource_id: Annotated[EntityId, Ref("resource")]
    service_id: Annotated[EntityId, Ref("service")]
    starts_at: Instant
    customer_id: Annotated[EntityId | None, Ref("customer")] = None
    notes: str | None = Field(default=None, max_length=2000)


class RescheduleRequest(ApiModel):
    """Move an appointment; ``version`` is the one the client read."""

    version: int = Field(ge=1)
    starts_at: Instant
    resource_id: Annotated[EntityId | None, Ref("resource")] = Field(
        default=None, description="Another resource, if it moves"
    )


class AppointmentListQuery(PageParams):
    """Filters of the appointment list (by start time)."""

    resource_id: EntityId | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None


class AvailabilityQuery(ApiModel):
    """Free slots of a resource for a service between two times (at most 31 days)."""

    resource_id: EntityId
    service_id: EntityId
    from_: Instant = Field(alias="from")
    to: Instant


class Slot(ApiModel):
    """A free start time (and when the service would end)."""

    starts_at: str
    ends_at: str


class Availability(ApiModel):
    """Free slots, in UTC; ``timeZone`` is the resource's, for display."""

    resource_id: str
    service_id: str
    time_zone: str
    duration_minutes: int
    slots: list[Slot]
