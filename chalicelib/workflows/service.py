"""Workflow definitions of a tenant: which one is in effect per entity type, its versions, and changing it.

A tenant runs the built-in workflow of its business type until its ADMIN writes one (``PUT``). Nothing is written
at signup: the built-in default is stored as the tenant's next version the first time an entity needs it
(``version_for_new_entity``), or again when the tenant's business type (or the built-in flow) changed since.
Stored versions are immutable, so an entity keeps the flow it started with whatever happens later.
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib.access.permissions import Permission, Role
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.i18n import DEFAULT_LOCALE, answer_in
from chalicelib.tenants.models import BusinessType
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import store
from chalicelib.workflows.defaults import default_definition
from chalicelib.workflows.models import (
    EntityType,
    Workflow,
    WorkflowBody,
    WorkflowDefinition,
    WorkflowList,
    WorkflowRecord,
    validate_definition,
)

__all__ = [
    "SYSTEM_ACTOR_ID",
    "get_workflow",
    "label_overrides",
    "list_workflows",
    "parse_entity_type",
    "put_label_overrides",
    "put_workflow",
    "reset_workflow",
    "system_actor",
    "version_for_new_entity",
    "workflow_version",
]

SYSTEM_ACTOR_ID = "system"
_WRITE_ATTEMPTS = 3


def system_actor(tenant_id: str) -> Principal:
    """The actor of what the platform does by itself in a tenant (timers, built-in defaults taking effect).

    Its role is never checked: timers apply the definition's own rules, and nothing else acts as it.
    """
    return Principal(user_id=SYSTEM_ACTOR_ID, tenant_id=tenant_id, role=Role.ADMIN, email="workflows@system.invalid")


def parse_entity_type(value: str) -> EntityType:
    """``value`` as an entity type; ``NotFound`` naming the path parameter when there is no such workflow."""
    try:
        return EntityType(value)
    except ValueError as exc:
        raise NotFound(
            detail=f"there is no workflow for {value!r}; entity types: {', '.join(t.value for t in EntityType)}",
            errors=(FieldError("path.entity_type", "unknown entity type", "unknown-entity-type"),),
        ) from exc


def _same_flow(a: WorkflowDefinition, b: WorkflowDefinition) -> bool:
    return a.model_dump(mode="json") == b.model_dump(mode="json")


def _in_effect(current: WorkflowRecord | None, default: WorkflowDefinition) -> WorkflowRecord | None:
    """The stored version new entities start with, or None when the built-in default must be stored first."""
    if current is not None and (current.customized or _same_flow(current.definition, default)):
        return current
    return None


def _view(business_type: BusinessType, entity_type: EntityType, current: WorkflowRecord | None) -> Workflow:
    name, default = default_definition(business_type, entity_type)
    in_effect = _in_effect(current, default)
    if in_effect is not None:
        return in_effect.view()
    return Workflow.model_validate(
        {**default.model_dump(), "version": None, "customized": False, "basedOn": name, "updatedAt": None}
    )


def _shown(principal: Principal, view: Workflow, overrides: dict[EntityType, dict[str, str]] | None = None) -> Workflow:
    """``view`` with each status's label in the caller's language (the guard resolved it): the tenant's own label
    in that language (``PUT /translations/{locale}``) over the definition's."""
    locale = answer_in(principal.locale or DEFAULT_LOCALE)  # the answer's labels: Content-Language, Vary
    if overrides is None:
        overrides = store.get_label_overrides(principal.tenant_id, locale)
    labels = {**view.labelled(locale), **overrides.get(view.entity_type, {})}
    return view.model_copy(update={"status_labels": {s.name: labels[s.name] for s in view.statuses}})


def label_overrides(principal: Principal, locale: str) -> dict[EntityType, dict[str, str]]:
    """The tenant's own status labels in ``locale``, by entity type."""
    require(principal, Permission.TENANT_READ)
    return store.get_label_overrides(principal.tenant_id, locale)


def put_label_overrides(principal: Principal, locale: str, overrides: dict[EntityType, dict[str, str]]) -> None:
    """Replace the tenant's own status labels in ``locale``; each status named must be one of the tenant's flow of
    that entity type (the one new entities start with), else a 422 naming it."""
    require(principal, Permission.WORKFLOWS_MANAGE)
    tenant = load_tenant(principal.tenant_id)
    current = {record.entity_type: record for record in store.list_current(principal.tenant_id)}
    errors = []
    for entity_type, labels in overrides.items():
        statuses = {s.name for s in _view(tenant.business_type, entity_type, current.get(entity_type)).statuses}
        errors += [
            FieldError(f"body.statusLabels.{entity_type.value}.{name}", "no such status in this workflow", "unknown")
            for name in labels
            if name not in statuses
        ]
    if errors:
        raise InvalidInput(detail="Some statuses are not in the tenant's workflows.", errors=errors)
    store.put_label_overrides(principal.tenant_id, locale, overrides)


def _store(actor: Principal, record: WorkflowRecord, previous: int, action: str) -> None:
    tenant = actor.tenant_id
    Table().transact(
        [
            *store.new_version_ops(tenant, record),
            audit_op(
                actor,
                action,
                Kind.WORKFLOW,
                record.entity_type.value,
                before={"version": previous} if previous else None,
                after={"version": record.version, "customized": record.customized, "basedOn": record.based_on},
            ),
            event_put_op(
                new_event(
                    "workflow.updated",
                    tenant,
                    {
                        "entityType": record.entity_type.value,
                        "version": record.version,
                        "customized": record.customized,
                    },
                    subject=record.entity_type.value,
                )
            ),
        ]
    )


def _write_version(
    actor: Principal, entity_type: EntityType, definition: WorkflowDefinition, *, customized: bool, based_on: str | None
) -> WorkflowRecord:
    """Store ``definition`` as the next version (retrying when another writer took the number first)."""
    for _ in range(_WRITE_ATTEMPTS):
        current = store.get_current(actor.tenant_id, entity_type, consistent=True)
        previous = current.version if current else 0
        record = WorkflowRecord(
            entity_type=entity_type,
            version=previous + 1,
            customized=customized,
            based_on=based_on,
            definition=definition,
            created_at=clock.now_iso(),
            created_by=actor.user_id,
        )
        action = "workflow.updated" if customized else "workflow.default_applied"
        try:
            _store(actor, record, previous, action)
        except TransactionConflict:
            continue
        return record
    raise Conflict(detail=f"the {entity_type.value} workflow is being changed by someone else; retry")


def version_for_new_entity(tenant_id: str, entity_type: EntityType) -> WorkflowRecord:
    """The version a new entity of ``entity_type`` starts with (the built-in default is stored on first use)."""
    for _ in range(_WRITE_ATTEMPTS):
        current = store.get_current(tenant_id, entity_type, consistent=True)
        name, default = default_definition(load_tenant(tenant_id).business_type, entity_type)
        in_effect = _in_effect(current, default)
        if in_effect is not None:
            return in_effect
        try:
            return _write_version(system_actor(tenant_id), entity_type, default, customized=False, based_on=name)
        except Conflict:
            continue  # another entity's creation stored it at the same moment: use theirs
    raise Conflict(detail=f"the {entity_type.value} workflow is being changed; retry")


@lru_cache(maxsize=1024)
def workflow_version(tenant_id: str, entity_type: EntityType, version: int) -> WorkflowRecord:
    """A stored version (cached: versions never change). Raises ``LookupError`` when it does not exist."""
    record = store.get_version(tenant_id, entity_type, version)
    if record is None:
        raise LookupError(f"{entity_type.value} workflow version {version} of tenant {tenant_id} does not exist")
    return record


def list_workflows(principal: Principal) -> WorkflowList:
    """The tenant's workflows, one per entity type: what new entities start with."""
    require(principal, Permission.TENANT_READ)
    current = {record.entity_type: record for record in store.list_current(principal.tenant_id)}
    business_type = load_tenant(principal.tenant_id).business_type
    overrides = store.get_label_overrides(principal.tenant_id, principal.locale or DEFAULT_LOCALE)
    return WorkflowList(
        items=[_shown(principal, _view(business_type, t, current.get(t)), overrides) for t in EntityType]
    )


def get_workflow(principal: Principal, entity_type: str, version: int | None = None) -> Workflow:
    """The tenant's workflow of ``entity_type``: the one in effect, or a stored ``version``."""
    require(principal, Permission.TENANT_READ)
    kind = parse_entity_type(entity_type)
    if version is None:
        current = store.get_current(principal.tenant_id, kind)
        return _shown(principal, _view(load_tenant(principal.tenant_id).business_type, kind, current))
    try:
        return _shown(principal, workflow_version(principal.tenant_id, kind, version).view())
    except LookupError as exc:
        raise NotFound(
            detail=f"the {kind.value} workflow has no version {version}",
            errors=(FieldError("query.version", "no such version", "not-found"),),
        ) from exc


def put_workflow(principal: Principal, entity_type: str, body: WorkflowBody) -> Workflow:
    """Store the tenant's own workflow for ``entity_type`` as a new version; new entities start with it,
    existing ones keep theirs."""
    require(principal, Permission.WORKFLOWS_MANAGE)
    kind = parse_entity_type(entity_type)
    validate_definition(body)
    definition = WorkflowDefinition.model_validate({**body.model_dump(), "entityType": kind})
    return _shown(principal, _write_version(principal, kind, definition, customized=True, based_on=None).view())


def reset_workflow(principal: Principal, entity_type: str) -> Workflow:
    """Go back to the built-in workflow of the tenant's business type (stored as a new version)."""
    require(principal, Permission.WORKFLOWS_MANAGE)
    kind = parse_entity_type(entity_type)
    current = store.get_current(principal.tenant_id, kind, consistent=True)
    business_type = load_tenant(principal.tenant_id).business_type
    if current is None or not current.customized:
        return _shown(principal, _view(business_type, kind, current))
    name, default = default_definition(business_type, kind)
    return _shown(principal, _write_version(principal, kind, default, customized=False, based_on=name).view())
