"""Resource and appointment items, and the slot claims that keep a resource from being booked twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chalicelib.appointments.models import AppointmentRecord, Resource
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Facet, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, delete_op, put_op, update_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.errors import AppError
from chalicelib.core.personal_data import all_pages
from chalicelib.core.text import fold

__all__ = [
    "appointment_key",
    "appointment_of",
    "appointment_pk",
    "claim_ops",
    "customer_appointment_ids",
    "existing_resource_ids",
    "get_appointment",
    "get_resource",
    "index_keys",
    "list_appointments",
    "list_resources",
    "new_appointment_op",
    "new_resource_op",
    "release_ops",
    "resource_key",
    "taken_blocks",
    "update_resource_op",
]


def resource_key(tenant_id: str, resource_id: str) -> tuple[str, str]:
    """(PK, SK) of a resource."""
    return keys.entity_pk(tenant_id, Kind.RESOURCE, resource_id), keys.META_SK


def appointment_key(tenant_id: str, appointment_id: str) -> tuple[str, str]:
    """(PK, SK) of an appointment."""
    return keys.entity_pk(tenant_id, Kind.APPOINTMENT, appointment_id), keys.META_SK


def _resource_index(resource: Resource) -> dict[str, str]:
    return {
        GSI1.partition_key: keys.collection_pk(resource.tenant_id, Collection.RESOURCES),
        GSI1.sort_key: keys.name_sk(fold(resource.name) or "-", resource.id),
    }


def new_resource_op(resource: Resource) -> WriteOp:
    """Create a resource."""
    pk, sk = resource_key(resource.tenant_id, resource.id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: "Resource",
        **_resource_index(resource),
        **resource.model_dump(mode="json"),
    }
    return put_op(item)


def update_resource_op(before: Resource, after: Resource, changes: Mapping[str, Any]) -> WriteOp:
    """Apply ``changes`` to the version of the resource that was read (its list position follows its name)."""
    return update_op(
        *resource_key(before.tenant_id, before.id),
        {**changes, **_resource_index(after)},
        expected_version=before.version,
    )


def get_resource(tenant_id: str, resource_id: str, *, consistent: bool = False) -> Resource | None:
    """The resource, or None."""
    item = Table().get(*resource_key(tenant_id, resource_id), consistent=consistent)
    return Resource.model_validate(strip_storage(item)) if item else None


def list_resources(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[Resource]:
    """One page of resources by name."""
    page = Table().query_page(
        keys.collection_pk(tenant_id, Collection.RESOURCES), index=GSI1, limit=limit, start_key=start_key
    )
    return page.map(lambda item: Resource.model_validate(strip_storage(item)))


def claim_ops(
    tenant_id: str, resource_id: str, blocks: Sequence[str], appointment_id: str, *, taken: AppError
) -> list[WriteOp]:
    """Claim the resource's time blocks for an appointment; a block already claimed fails the transaction with
    ``taken``."""
    pk = keys.entity_pk(tenant_id, Kind.RESOURCE, resource_id)
    return [
        put_op(
            {
                PARTITION_KEY: pk,
                SORT_KEY: keys.child_sk(Child.SLOT, block),
                ENTITY: "SlotClaim",
                "appointmentId": appointment_id,
            },
            conflict=taken,
        )
        for block in blocks
    ]


def release_ops(tenant_id: str, resource_id: str, blocks: Sequence[str]) -> list[WriteOp]:
    """Give the resource's time blocks back."""
    pk = keys.entity_pk(tenant_id, Kind.RESOURCE, resource_id)
    return [delete_op(pk, keys.child_sk(Child.SLOT, block)) for block in blocks]


def taken_blocks(tenant_id: str, resource_id: str, first: str, last: str) -> set[str]:
    """The resource's claimed blocks between ``first`` and ``last`` (block keys, inclusive)."""
    pk = keys.entity_pk(tenant_id, Kind.RESOURCE, resource_id)
    taken: set[str] = set()
    start: dict[str, str] | None = None
    while True:
        page = Table().query_page(
            pk,
            sort_between=(keys.child_sk(Child.SLOT, first), keys.child_sk(Child.SLOT, last)),
            limit=1000,
            start_key=start,
        )
        taken.update(keys.parse_child_sk(str(item[SORT_KEY]))[1] for item in page.items)
        if page.last_key is None:
            return taken
        start = page.last_key


def new_appointment_op(record: AppointmentRecord) -> WriteOp:
    """Create an appointment (already holding its workflow fields), listed by time and by resource."""
    pk, sk = appointment_key(record.tenant_id, record.id)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "Appointment", **index_keys(record)}
    return put_op({**item, **record.model_dump(exclude_none=True)})


def index_keys(record: AppointmentRecord) -> dict[str, str]:
    """The list entries of an appointment (they move when it is rescheduled)."""
    sort = keys.time_sk(record.starts_at, record.id)
    return {
        GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.APPOINTMENTS),
        GSI1.sort_key: sort,
        GSI2.partition_key: keys.facet_pk(
            record.tenant_id, Collection.APPOINTMENTS, Facet.RESOURCE, record.resource_id
        ),
        GSI2.sort_key: sort,
    }


def appointment_of(item: Mapping[str, Any]) -> AppointmentRecord:
    """The appointment a stored item (or the workflow engine's view of it) holds."""
    return AppointmentRecord.from_attributes_of(item)


def get_appointment(tenant_id: str, appointment_id: str, *, consistent: bool = False) -> AppointmentRecord | None:
    """The stored appointment, or None."""
    item = Table().get(*appointment_key(tenant_id, appointment_id), consistent=consistent)
    return appointment_of(item) if item else None


def list_appointments(
    tenant_id: str, resource_id: str | None, between: tuple[str, str], limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[AppointmentRecord]:
    """One page of appointments by start time (of one resource, or all)."""
    if resource_id is None:
        partition, index = keys.collection_pk(tenant_id, Collection.APPOINTMENTS), GSI1
    else:
        partition, index = keys.facet_pk(tenant_id, Collection.APPOINTMENTS, Facet.RESOURCE, resource_id), GSI2
    page = Table().query_page(partition, index=index, sort_between=between, limit=limit, start_key=start_key)
    return page.map(appointment_of)


def existing_resource_ids(tenant_id: str, resource_ids: Iterable[str]) -> set[str]:
    """The ids among ``resource_ids`` that name resources of the tenant (one batch read)."""
    return {str(item["id"]) for item in Table().batch_get(resource_key(tenant_id, r) for r in resource_ids)}


def appointment_pk(tenant_id: str, appointment_id: str) -> str:
    """The appointment's partition (the appointment, its status history, audit trail)."""
    return appointment_key(tenant_id, appointment_id)[0]


def customer_appointment_ids(tenant_id: str, customer_id: str) -> list[str]:
    """Every appointment of the customer. Appointments are listed by time only, so this reads the tenant's list
    page by page: for the privacy job (a background job), never a request."""
    return [
        record.id
        for record in all_pages(lambda start: list_appointments(tenant_id, None, ("0", "~"), 100, start))
        if record.customer_id == customer_id
    ]
