"""Appointment use cases: resources and their hours, free slots, booking without double booking, reschedule,
and the appointment's status flow (run by the workflow engine, with its reminders before ``startsAt``).

A booking claims the resource's 5-minute blocks it covers, in the same transaction as the appointment: two
people booking the same time race on those claims and exactly one wins. Ending cancelled gives them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.appointments import store
from chalicelib.appointments.models import (
    Appointment,
    AppointmentListQuery,
    AppointmentRecord,
    Availability,
    AvailabilityQuery,
    BookAppointmentRequest,
    CreateResourceRequest,
    RescheduleRequest,
    Resource,
    Slot,
    UpdateResourceRequest,
)
from chalicelib.appointments.slots import block_keys, fits_hours, free_slots, on_grid, working_windows
from chalicelib.audit.service import audit_op
from chalicelib.catalog.models import Product
from chalicelib.catalog.service import find_product
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, update_op
from chalicelib.core.errors import Conflict, FieldError, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.core.patch import merge_patch
from chalicelib.core.references import register_reference
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType, HistoryEntry
from chalicelib.workflows.service import workflow_version

__all__ = [
    "appointment_history",
    "availability",
    "book",
    "create_resource",
    "existing_resources",
    "get_appointment",
    "get_resource",
    "list_appointments",
    "list_resources",
    "reschedule",
    "transition_appointment",
    "update_resource",
]

ENTITY_TYPE = EntityType.APPOINTMENT
MAX_DURATION = timedelta(hours=8)
MAX_RANGE = timedelta(days=31)
_SLOTS = "slotKeys"


def _on_transition(ctx: TransitionContext) -> TransitionEffects | None:
    """An appointment that ends cancelled (or a no-show) frees its time for others."""
    target = ctx.definition.status(ctx.to_status)
    if not (target.terminal and target.outcome == "cancelled"):
        return None
    appointment = store.appointment_of(ctx.entity)
    ops = store.release_ops(ctx.tenant_id, appointment.resource_id, appointment.slot_keys)
    return TransitionEffects(changes={_SLOTS: []}, ops=ops)


# The appointment entity as the workflow engine runs it (listed in workflows.entities).
WORKFLOW = EntitySpec(ENTITY_TYPE, Kind.APPOINTMENT, _on_transition)


# --- resources -------------------------------------------------------------------------------------------------


def _load_resource(tenant_id: str, resource_id: str, *, consistent: bool = False) -> Resource:
    resource = store.get_resource(tenant_id, resource_id, consistent=consistent)
    if resource is None:
        raise NotFound(detail=f"no resource {resource_id}")
    return resource


def existing_resources(tenant_id: str, resource_ids: Sequence[str]) -> set[str]:
    """The ids among ``resource_ids`` that name resources of the tenant (``Ref("resource")`` of request bodies)."""
    return store.existing_resource_ids(tenant_id, resource_ids)


register_reference("resource", existing_resources)


def create_resource(principal: Principal, body: CreateResourceRequest, idempotency_key: str | None = None) -> Resource:
    """Add a bookable resource (staff, room, equipment) with its weekly hours."""
    require(principal, Permission.RESOURCES_MANAGE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "resources.create",
        body,
        Resource,
        partial(_create_resource, principal, body),
    )


def _create_resource(principal: Principal, body: CreateResourceRequest, seal: idempotency.Seal) -> Resource:
    tenant = load_tenant(principal.tenant_id)
    now = clock.now_iso()
    resource = Resource(
        id=new_id(),
        tenant_id=principal.tenant_id,
        name=body.name,
        kind=body.kind,
        user_id=body.user_id,
        time_zone=body.time_zone or tenant.time_zone,
        working_hours=body.working_hours,
        service_ids=body.service_ids,
        created_at=now,
        updated_at=now,
    )
    Table().transact(
        [
            store.new_resource_op(resource),
            audit_op(principal, "resource.created", Kind.RESOURCE, resource.id, after=resource.model_dump(mode="json")),
            *seal(resource),
        ]
    )
    return resource


def get_resource(principal: Principal, resource_id: str) -> Resource:
    """One resource."""
    require(principal, Permission.APPOINTMENTS_READ)
    return _load_resource(principal.tenant_id, resource_id)


def list_resources(principal: Principal, query: PageParams) -> Page[Resource]:
    """The tenant's resources by name."""
    require(principal, Permission.APPOINTMENTS_READ)
    return paginate(
        Page[Resource],
        query,
        tenant_id=principal.tenant_id,
        scope="resources",
        fetch=lambda start: store.list_resources(principal.tenant_id, query.limit, start),
        convert=lambda resource: resource,
    )


def update_resource(principal: Principal, resource_id: str, body: UpdateResourceRequest) -> Resource:
    """Change a resource's name, hours, services or availability (booked appointments stay as they are)."""
    require(principal, Permission.RESOURCES_MANAGE)
    before = _load_resource(principal.tenant_id, resource_id, consistent=True)
    if before.version != body.version:
        raise VersionConflict(detail=f"the resource is at version {before.version}; reload and retry")
    changes = body.changes(mode="json")
    changes["updatedAt"] = clock.now_iso()
    after = merge_patch(before, changes, version=before.version + 1)
    Table().transact(
        [
            store.update_resource_op(before, after, changes),
            audit_op(
                principal,
                "resource.updated",
                Kind.RESOURCE,
                resource_id,
                before=before.model_dump(mode="json"),
                after=after.model_dump(mode="json"),
            ),
        ]
    )
    return after


# --- booking ---------------------------------------------------------------------------------------------------


def _service(tenant_id: str, service_id: str, resource: Resource, field: str) -> Product:
    service = find_product(tenant_id, service_id)
    if service is None or not service.active or service.kind != "service" or not service.duration_minutes:
        raise invalid_field(field, "no active service with a duration has that id", "unknown-service")
    if resource.service_ids and service_id not in resource.service_ids:
        raise invalid_field(field, f"{resource.name} does not perform this service", "not-offered")
    return service


def _bookable(resource: Resource, start: datetime, duration: timedelta, *, field: str) -> None:
    if not resource.active:
        raise invalid_field("body.resourceId", "this resource is not taking bookings", "inactive")
    if duration > MAX_DURATION:
        raise invalid_field(field, "a booking lasts at most 8 hours", "too-long")
    if not on_grid(start):
        raise invalid_field(field, "bookings start on 5-minute marks (e.g. 14:00, 14:05)", "off-grid")
    if start <= clock.now():
        raise invalid_field(field, "must be in the future", "past")
    if not fits_hours(resource.working_hours, resource.time_zone, start, duration):
        raise invalid_field(field, f"outside the working hours of {resource.name}", "closed")


def _slot_taken(resource: Resource) -> Conflict:
    """A slot claim that fails: someone booked an overlapping time first."""
    return Conflict(
        detail=f"{resource.name} is already booked at that time",
        errors=(FieldError("body.startsAt", "already booked", "slot-taken"),),
    )


def book(principal: Principal, body: BookAppointmentRequest, idempotency_key: str | None = None) -> Appointment:
    """Book a service with a resource at a time; 409 when someone booked an overlapping time first."""
    require(principal, Permission.APPOINTMENTS_WRITE)
    return idempotency.once(
        principal.tenant_id, idempotency_key, "appointments.book", body, Appointment, partial(_book, principal, body)
    )


def _book(principal: Principal, body: BookAppointmentRequest, seal: idempotency.Seal) -> Appointment:
    resource = _load_resource(principal.tenant_id, body.resource_id)
    service = _service(principal.tenant_id, body.service_id, resource, "body.serviceId")
    duration = timedelta(minutes=int(service.duration_minutes or 0))
    start = body.starts_at.astimezone(UTC)
    _bookable(resource, start, duration, field="body.startsAt")
    moment = clock.now()
    now = clock.isoformat(moment)
    blocks = block_keys(start, duration)
    appointment_id = new_id(moment)
    fields: dict[str, Any] = {
        "id": appointment_id,
        "tenantId": principal.tenant_id,
        "resourceId": resource.id,
        "serviceId": service.id,
        "startsAt": clock.isoformat(start),
        "endsAt": clock.isoformat(start + duration),
        "createdBy": principal.user_id,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
        _SLOTS: blocks,
        **({"customerId": body.customer_id} if body.customer_id else {}),
        **({"notes": body.notes} if body.notes else {}),
        **({"assignedTo": resource.user_id} if resource.user_id else {}),
        **engine.initial_fields(principal.tenant_id, ENTITY_TYPE),
    }
    record = AppointmentRecord.model_validate(fields)
    appointment = record.view()
    event_data = {"resourceId": resource.id, "startsAt": record.starts_at, "status": appointment.status}
    ops = [
        store.new_appointment_op(record),
        audit_op(principal, "appointment.booked", Kind.APPOINTMENT, appointment_id, after=appointment.model_dump()),
        event_put_op(new_event("appointment.booked", principal.tenant_id, event_data, subject=appointment_id)),
    ]
    claims = store.claim_ops(principal.tenant_id, resource.id, blocks, appointment_id, taken=_slot_taken(resource))
    Table().transact([*ops, *claims, *seal(appointment)])
    engine.start(principal.tenant_id, ENTITY_TYPE, appointment_id)
    return appointment


def _load(principal: Principal, appointment_id: str, *, consistent: bool = False) -> AppointmentRecord:
    record = store.get_appointment(principal.tenant_id, appointment_id, consistent=consistent)
    if record is None:
        raise NotFound(detail=f"no appointment {appointment_id}")
    return record


def get_appointment(principal: Principal, appointment_id: str) -> Appointment:
    """One appointment."""
    require(principal, Permission.APPOINTMENTS_READ)
    return _load(principal, appointment_id).view()


def reschedule(principal: Principal, appointment_id: str, body: RescheduleRequest) -> Appointment:
    """Move an appointment to another time (and resource): its old time is freed and the new one claimed at once."""
    require(principal, Permission.APPOINTMENTS_WRITE)
    record = _load(principal, appointment_id, consistent=True)
    if record.version != body.version:
        raise VersionConflict(detail=f"the appointment is at version {record.version}; reload and retry")
    before = record.model_dump(exclude_none=True)
    definition = workflow_version(principal.tenant_id, ENTITY_TYPE, int(before["workflowVersion"])).definition
    if definition.status(record.status).terminal:
        raise invalid_field("body.startsAt", f"the appointment is {record.status}; it cannot move", "final")
    resource = _load_resource(principal.tenant_id, body.resource_id or record.resource_id)
    service = _service(principal.tenant_id, record.service_id, resource, "body.resourceId")
    duration = timedelta(minutes=int(service.duration_minutes or 0))
    start = body.starts_at.astimezone(UTC)
    _bookable(resource, start, duration, field="body.startsAt")
    blocks = block_keys(start, duration)
    changes: dict[str, Any] = {
        "resourceId": resource.id,
        "startsAt": clock.isoformat(start),
        "endsAt": clock.isoformat(start + duration),
        "updatedAt": clock.now_iso(),
        _SLOTS: blocks,
        **({"assignedTo": resource.user_id} if resource.user_id else {}),
    }
    after = AppointmentRecord.model_validate({**before, **changes, "version": body.version + 1})
    changes.update(store.index_keys(after))
    old = record.slot_keys
    # Blocks the appointment already holds (a move by a few minutes) stay claimed: releasing and claiming the
    # same item in one transaction is not allowed, and there is nothing to change about them.
    kept = set(old) & set(blocks) if resource.id == record.resource_id else set()
    moved = {"startsAt": changes["startsAt"], "resourceId": resource.id}
    changed = VersionConflict(detail="the appointment changed meanwhile; reload and retry")
    ops = [
        update_op(
            *store.appointment_key(principal.tenant_id, appointment_id),
            changes,
            expected_version=body.version,
            conflict=changed,
        ),
        audit_op(
            principal,
            "appointment.rescheduled",
            Kind.APPOINTMENT,
            appointment_id,
            before=before,
            after=after.model_dump(exclude_none=True),
        ),
        event_put_op(new_event("appointment.rescheduled", principal.tenant_id, moved, subject=appointment_id)),
        *store.release_ops(principal.tenant_id, record.resource_id, [b for b in old if b not in kept]),
    ]
    new_blocks = [b for b in blocks if b not in kept]
    claims = store.claim_ops(principal.tenant_id, resource.id, new_blocks, appointment_id, taken=_slot_taken(resource))
    # Claims first: a taken slot is the answer even when the appointment also changed meanwhile.
    Table().transact([*claims, *ops])
    engine.refresh_timers(principal.tenant_id, ENTITY_TYPE, appointment_id)
    return after.view()


def transition_appointment(
    principal: Principal, appointment_id: str, to: str, note: str | None, version: int
) -> Appointment:
    """Move the appointment along its status flow (confirm, check in, complete, cancel, no-show)."""
    require(principal, Permission.APPOINTMENTS_WRITE)
    _load(principal, appointment_id)
    result = engine.transition(principal, ENTITY_TYPE, appointment_id, to, note, version)
    return store.appointment_of(result.entity).view()


def appointment_history(principal: Principal, appointment_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The appointment's status changes, oldest first."""
    require(principal, Permission.APPOINTMENTS_READ)
    return engine.history(principal.tenant_id, ENTITY_TYPE, appointment_id, params)


def list_appointments(principal: Principal, query: AppointmentListQuery) -> Page[Appointment]:
    """Appointments by start time, of one resource or all, within from/to."""
    require(principal, Permission.APPOINTMENTS_READ)
    low = clock.isoformat(query.from_) if query.from_ else "0"
    high = (clock.isoformat(query.to) if query.to else "9") + "~"
    return paginate(
        Page[Appointment],
        query,
        tenant_id=principal.tenant_id,
        scope=f"appointments:{query.resource_id or ''}:{low}:{high}",
        fetch=lambda start: store.list_appointments(
            principal.tenant_id, query.resource_id, (low, high), query.limit, start
        ),
        convert=AppointmentRecord.view,
    )


def availability(principal: Principal, query: AvailabilityQuery) -> Availability:
    """Free start times of a service with a resource between from and to (at most 31 days)."""
    require(principal, Permission.APPOINTMENTS_READ)
    start, end = query.from_.astimezone(UTC), query.to.astimezone(UTC)
    if end <= start:
        raise invalid_field("query.to", "must be after from")
    if end - start > MAX_RANGE:
        raise invalid_field("query.to", "at most 31 days after from", "too-long")
    resource = _load_resource(principal.tenant_id, query.resource_id)
    service = _service(principal.tenant_id, query.service_id, resource, "query.serviceId")
    duration = timedelta(minutes=int(service.duration_minutes or 0))
    earliest = max(start, clock.now())
    windows = working_windows(resource.working_hours, resource.time_zone, earliest, end) if resource.active else []
    taken = store.taken_blocks(
        principal.tenant_id,
        resource.id,
        block_keys(earliest, timedelta(minutes=5))[0],
        block_keys(end, timedelta(minutes=5))[0],
    )
    slots = [
        Slot(starts_at=clock.isoformat(a), ends_at=clock.isoformat(b)) for a, b in free_slots(windows, taken, duration)
    ]
    return Availability(
        resource_id=resource.id,
        service_id=service.id,
        time_zone=resource.time_zone,
        duration_minutes=int(duration.total_seconds() // 60),
        slots=slots,
    )
