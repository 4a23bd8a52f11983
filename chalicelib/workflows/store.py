"""Workflow items: a tenant's workflow versions and their current pointer, and per entity its status history,
its runtime item (the parked execution's task token) and the markers of reminders already sent.

Entities themselves belong to their capability (orders, appointments…); this store reads their META item and
writes only the engine's own items next to it, in the entity's partition. The runtime item is separate from the
entity item so that storing a task token never bumps the entity's version nor shows up in its owner's model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, condition_op, delete_op, put_op, update_op
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION, strip_storage
from chalicelib.core.errors import AppError
from chalicelib.workflows.models import EntityType, HistoryEntry, WorkflowRecord

__all__ = [
    "RuntimeState",
    "entity_key",
    "get_current",
    "get_entity",
    "get_runtime",
    "get_version",
    "history_op",
    "list_current",
    "list_history",
    "new_version_ops",
    "park_ops",
    "release_token_op",
    "reminder_marker_op",
    "restore_token_op",
    "set_execution",
]

WORKFLOW_ENTITY = "Workflow"
VERSION_ENTITY = "WorkflowVersion"
HISTORY_ENTITY = "StatusChange"
RUNTIME_ENTITY = "WorkflowRuntime"
REMINDER_ENTITY = "WorkflowReminder"
LABELS_ENTITY = "StatusLabels"
_REMINDER_TTL = timedelta(days=30)
_STATUS = "status"
_TOKEN = "taskToken"
_PARKED_AT = "parkedAt"


@dataclass(frozen=True)
class RuntimeState:
    """Where an entity's execution is: its ARN, and the token of the task it is parked on (if any)."""

    execution_arn: str | None
    task_token: str | None
    parked_status: str | None
    parked_timer: int | None
    parked_at: str | None


def _workflow_pk(tenant_id: str, entity_type: EntityType) -> str:
    return keys.entity_pk(tenant_id, Kind.WORKFLOW, entity_type.value)


def _version_sk(version: int) -> str:
    return keys.child_sk(Child.VERSION, f"{version:010d}")


def entity_key(tenant_id: str, kind: Kind, entity_id: str) -> tuple[str, str]:
    """(PK, SK) of an entity's item."""
    return keys.entity_pk(tenant_id, kind, entity_id), keys.META_SK


def _record(item: Mapping[str, Any]) -> WorkflowRecord:
    return WorkflowRecord.model_validate(strip_storage(item))


def get_current(tenant_id: str, entity_type: EntityType, *, consistent: bool = False) -> WorkflowRecord | None:
    """The tenant's current version of the workflow, or None when none was stored yet."""
    item = Table().get(_workflow_pk(tenant_id, entity_type), keys.META_SK, consistent=consistent)
    return _record(item) if item else None


def get_version(tenant_id: str, entity_type: EntityType, version: int) -> WorkflowRecord | None:
    """A stored version of the tenant's workflow, or None."""
    item = Table().get(_workflow_pk(tenant_id, entity_type), _version_sk(version))
    return _record(item) if item else None


def list_current(tenant_id: str) -> list[WorkflowRecord]:
    """The tenant's current workflows (at most one per entity type)."""
    page = Table().query_page(
        keys.collection_pk(tenant_id, Collection.WORKFLOWS), index=GSI1, limit=len(EntityType) + 1
    )
    return [_record(item) for item in page.items]


def _labels_key(tenant_id: str, entity_type: EntityType, locale: str) -> tuple[str, str]:
    return _workflow_pk(tenant_id, entity_type), keys.child_sk(Child.LABELS, locale)


def get_label_overrides(tenant_id: str, locale: str) -> dict[EntityType, dict[str, str]]:
    """The tenant's own status labels in ``locale``, by entity type (one batch read of at most one item per type)."""
    items = Table().batch_get([_labels_key(tenant_id, t, locale) for t in EntityType])
    return {EntityType(str(item["entityType"])): {str(k): str(v) for k, v in item["labels"].items()} for item in items}


def put_label_overrides(tenant_id: str, locale: str, overrides: Mapping[EntityType, Mapping[str, str]]) -> None:
    """Replace the tenant's status labels in ``locale``: one item per entity type named, the others removed."""
    ops = []
    for entity_type in EntityType:
        pk, sk = _labels_key(tenant_id, entity_type, locale)
        labels = dict(overrides.get(entity_type) or {})
        if labels:
            item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: LABELS_ENTITY, "entityType": entity_type.value}
            ops.append(put_op({**item, "labels": labels}, must_not_exist=False))
        else:
            ops.append(delete_op(pk, sk))
    Table().transact(ops)


def new_version_ops(tenant_id: str, record: WorkflowRecord) -> list[WriteOp]:
    """Store ``record`` as a new immutable version and make it current.

    Fails (``TransactionConflict``) when the version exists or the current one is no longer
    ``record.version - 1``: another writer got there first.
    """
    pk = _workflow_pk(tenant_id, record.entity_type)
    body = record.model_dump()
    version_item = {PARTITION_KEY: pk, SORT_KEY: _version_sk(record.version), ENTITY: VERSION_ENTITY, **body}
    pointer = {
        GSI1.partition_key: keys.collection_pk(tenant_id, Collection.WORKFLOWS),
        GSI1.sort_key: record.entity_type.value,
        ENTITY: WORKFLOW_ENTITY,
        **{name: value for name, value in body.items() if name != VERSION},
    }
    if record.version == 1:
        current = put_op({PARTITION_KEY: pk, SORT_KEY: keys.META_SK, VERSION: 1, **pointer})
    else:
        # A None cannot be SET (the serializer drops it): an absent value is a REMOVE.
        current = update_op(
            pk,
            keys.META_SK,
            {name: value for name, value in pointer.items() if value is not None},
            expected_version=record.version - 1,
            remove=[name for name, value in pointer.items() if value is None],
        )
    return [put_op(version_item), current]


def get_entity(tenant_id: str, kind: Kind, entity_id: str) -> dict[str, Any] | None:
    """An entity's attributes (its item without the storage ones, read consistently: transitions decide on it),
    or None. The engine runs entities of every owner, so it sees them as attributes, not as the owner's model."""
    item = Table().get(*entity_key(tenant_id, kind, entity_id), consistent=True)
    return strip_storage(item) if item else None


def _runtime_op(
    pk: str,
    *,
    set_: Mapping[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    condition: ConditionBase | None = None,
) -> WriteOp:
    # The runtime item is made by its first write (the execution's start or its first park).
    return change_op(pk, keys.WORKFLOW_RUNTIME_SK, set_=set_, remove=remove, condition=condition, must_exist=False)


def _runtime(item: Mapping[str, Any]) -> RuntimeState:
    timer = item.get("parkedTimer")
    return RuntimeState(
        execution_arn=item.get("executionArn"),
        task_token=item.get(_TOKEN),
        parked_status=item.get("parkedStatus"),
        parked_timer=int(timer) if timer is not None else None,
        parked_at=item.get(_PARKED_AT),
    )


def get_runtime(tenant_id: str, kind: Kind, entity_id: str) -> RuntimeState:
    """The entity's runtime state (empty when no execution has parked or started yet)."""
    item = Table().get(keys.entity_pk(tenant_id, kind, entity_id), keys.WORKFLOW_RUNTIME_SK, consistent=True)
    return _runtime(item or {})


def set_execution(tenant_id: str, kind: Kind, entity_id: str, execution_arn: str) -> None:
    """Record the ARN of the entity's execution."""
    pk = keys.entity_pk(tenant_id, kind, entity_id)
    Table().transact([_runtime_op(pk, set_={"executionArn": execution_arn, ENTITY: RUNTIME_ENTITY})])


def park_ops(
    tenant_id: str,
    kind: Kind,
    entity_id: str,
    *,
    status: str,
    token: str,
    timer: int,
    parked_at: str,
    moved_on: AppError,
) -> list[WriteOp]:
    """Store the token of the task the execution parked on, if the entity is still in ``status`` (else the
    transaction fails with ``moved_on``) and no later park was stored (SQS may deliver an old park message late;
    the transaction then fails with ``TransactionConflict``)."""
    pk = keys.entity_pk(tenant_id, kind, entity_id)
    return [
        condition_op(pk, keys.META_SK, Attr(_STATUS).eq(status), conflict=moved_on),
        _runtime_op(
            pk,
            set_={
                _TOKEN: token,
                "parkedStatus": status,
                "parkedTimer": timer,
                _PARKED_AT: parked_at,
                ENTITY: RUNTIME_ENTITY,
            },
            condition=Attr(_PARKED_AT).not_exists() | Attr(_PARKED_AT).lte(parked_at),
        ),
    ]


def release_token_op(tenant_id: str, kind: Kind, entity_id: str, token: str | None) -> WriteOp:
    """The transition's guard on the runtime item: take the token it read (so it is used once), or check that
    there still is none. Fails when a park stored a token since: the transition reads again."""
    pk = keys.entity_pk(tenant_id, kind, entity_id)
    if token is None:
        return condition_op(pk, keys.WORKFLOW_RUNTIME_SK, Attr(_TOKEN).not_exists())
    return _runtime_op(pk, remove=(_TOKEN,), condition=Attr(_TOKEN).eq(token))


def restore_token_op(tenant_id: str, kind: Kind, entity_id: str, token: str) -> WriteOp:
    """Put back a token a transition took but could not use (Step Functions unreachable), so that the next
    transition resumes the machine; fails when a park stored a newer one meanwhile."""
    pk = keys.entity_pk(tenant_id, kind, entity_id)
    return _runtime_op(pk, set_={_TOKEN: token}, condition=Attr(_TOKEN).not_exists())


def history_op(tenant_id: str, kind: Kind, entity_id: str, entry: HistoryEntry) -> WriteOp:
    """The transaction write of a status change in the entity's history."""
    return put_op(
        {
            PARTITION_KEY: keys.entity_pk(tenant_id, kind, entity_id),
            SORT_KEY: keys.child_sk(Child.HISTORY, entry.id),
            ENTITY: HISTORY_ENTITY,
            **entry.model_dump(),
        }
    )


def list_history(
    tenant_id: str, kind: Kind, entity_id: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[HistoryEntry]:
    """One page of the entity's status changes, oldest first (ids are ULIDs: they sort by time)."""
    page = Table().query_page(
        keys.entity_pk(tenant_id, kind, entity_id),
        sort_prefix=keys.child_prefix(Child.HISTORY),
        limit=limit,
        start_key=start_key,
    )
    return page.map(lambda item: HistoryEntry.model_validate(strip_storage(item)))


def reminder_marker_op(tenant_id: str, kind: Kind, entity_id: str, marker: str) -> WriteOp:
    """Claims a reminder (``marker``: a hash of its timer task's token) so that a redelivered timer message does
    not send it twice; fails when it was claimed already."""
    return put_op(
        {
            PARTITION_KEY: keys.entity_pk(tenant_id, kind, entity_id),
            SORT_KEY: keys.child_sk(Child.REMINDER, marker),
            ENTITY: REMINDER_ENTITY,
            TTL_ATTRIBUTE: clock.to_epoch(clock.now() + _REMINDER_TTL),
        }
    )
