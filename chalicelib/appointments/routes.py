"""Appointment routes: resources, availability, bookings and their status flow."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.appointments import service
from chalicelib.appointments.models import (
    Appointment,
    AppointmentListQuery,
    Availability,
    AvailabilityQuery,
    BookAppointmentRequest,
    CreateResourceRequest,
    RescheduleRequest,
    Resource,
    UpdateResourceRequest,
)
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.orders.models import TransitionRequest
from chalicelib.workflows.models import HistoryEntry

blueprint = protected_blueprint(__name__, tag="appointments")
M = Module.APPOINTMENTS
P = Permission


@blueprint.operation("/resources", query=PageParams, response=Page[Resource], permission=P.APPOINTMENTS_READ, module=M)
def list_resources(query: PageParams, principal: Principal) -> Page[Resource]:
    """List resources

    Staff, rooms and equipment that can be booked, by name.
    """
    return service.list_resources(principal, query)


@blueprint.operation(
    "/resources",
    "POST",
    body=CreateResourceRequest,
    response=Resource,
    status=201,
    permission=P.RESOURCES_MANAGE,
    module=M,
    idempotent=True,
)
def create_resource(body: CreateResourceRequest, principal: Principal, idempotency_key: str | None) -> Resource:
    """Add a resource

    With its weekly working hours, in its time zone (the tenant's by default).
    """
    return service.create_resource(principal, body, idempotency_key)


@blueprint.operation(
    "/resources/{resource_id}", response=Resource, permission=P.APPOINTMENTS_READ, module=M, problems=(404,)
)
def get_resource(resource_id: str, principal: Principal) -> Resource:
    """Get a resource"""
    return service.get_resource(principal, resource_id)


@blueprint.operation(
    "/resources/{resource_id}",
    "PATCH",
    body=UpdateResourceRequest,
    response=Resource,
    permission=P.RESOURCES_MANAGE,
    module=M,
    problems=(404, 409),
)
def update_resource(resource_id: str, body: UpdateResourceRequest, principal: Principal) -> Resource:
    """Change a resource

    Name, time zone, working hours, services, active; send the version you read.
    """
    return service.update_resource(principal, resource_id, body)


@blueprint.operation(
    "/availability",
    query=AvailabilityQuery,
    response=Availability,
    permission=P.APPOINTMENTS_READ,
    module=M,
    problems=(404,),
)
def get_availability(query: AvailabilityQuery, principal: Principal) -> Availability:
    """Free slots

    Start times (every 15 minutes) at which the service fits the resource's hours and bookings, between from
    and to (at most 31 days); 404 if the resource or the service does not exist.
    """
    return service.availability(principal, query)


@blueprint.operation(
    "/appointments", query=AppointmentListQuery, response=Page[Appointment], permission=P.APPOINTMENTS_READ, module=M
)
def list_appointments(query: AppointmentListQuery, principal: Principal) -> Page[Appointment]:
    """List appointments

    By start time, of one resource or all, within from/to.
    """
    return service.list_appointments(principal, query)


@blueprint.operation(
    "/appointments",
    "POST",
    body=BookAppointmentRequest,
    response=Appointment,
    status=201,
    permission=P.APPOINTMENTS_WRITE,
    module=M,
    problems=(404, 409),
    idempotent=True,
)
def book_appointment(body: BookAppointmentRequest, principal: Principal, idempotency_key: str | None) -> Appointment:
    """Book an appointment

    A service with a resource at a time inside its working hours; 404 if the resource, service or customer does
    not exist, 409 if that time was just taken.
    """
    return service.book(principal, body, idempotency_key)


@blueprint.operation(
    "/appointments/{appointment_id}", response=Appointment, permission=P.APPOINTMENTS_READ, module=M, problems=(404,)
)
def get_appointment(appointment_id: str, principal: Principal) -> Appointment:
    """Get an appointment"""
    return service.get_appointment(principal, appointment_id)


@blueprint.operation(
    "/appointments/{appointment_id}/reschedule",
    "POST",
    body=RescheduleRequest,
    response=Appointment,
    permission=P.APPOINTMENTS_WRITE,
    module=M,
    problems=(404, 409),
)
def reschedule_appointment(appointment_id: str, body: RescheduleRequest, principal: Principal) -> Appointment:
    """Reschedule an appointment

    To another time (and resource); reminders follow the new time.
    """
    return service.reschedule(principal, appointment_id, body)


@blueprint.operation(
    "/appointments/{appointment_id}/transitions",
    "POST",
    body=TransitionRequest,
    response=Appointment,
    permission=P.APPOINTMENTS_WRITE,
    module=M,
    problems=(404, 409),
)
def transition_appointment(appointment_id: str, body: TransitionRequest, principal: Principal) -> Appointment:
    """Move an appointment to another status

    Confirm, check in, complete, cancel (frees the time), no-show; send the version you read.
    """
    return service.transition_appointment(principal, appointment_id, body.to, body.note, body.version)


@blueprint.operation(
    "/appointments/{appointment_id}/history",
    query=PageParams,
    response=Page[HistoryEntry],
    permission=P.APPOINTMENTS_READ,
    module=M,
    problems=(404,),
)
def appointment_history(appointment_id: str, query: PageParams, principal: Principal) -> Page[HistoryEntry]:
    """Status history of an appointment"""
    return service.appointment_history(principal, appointment_id, query)
