"""Changing a workflow entity's own fields (its status changes go through ``transitions``): one transaction that
revises the item, moves its index items, keeps the audit entry and emits ``<entity>.updated``; the entity's timers
re-armed when a field they count from changed. Sales and leads change this way."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, revise_op
from chalicelib.core.events import event_put_op, new_event
from chalicelib.workflows.entities import EntitySpec
from chalicelib.workflows.history import EntityType
from chalicelib.workflows.transitions import refresh_timers

__all__ = ["CHANGED_ENTITIES", "EntityChanges", "RefOps"]

# The entity types whose own fields change through ``EntityChanges``: the ``<entity>.updated`` events it emits are
# theirs (the event catalog's scan enumerates them from here).
CHANGED_ENTITIES = frozenset({EntityType.LEAD, EntityType.SALE})

# The writes that move an entity's index items from one state of its item to another (None: not there).
RefOps = Callable[[str, Mapping[str, Any] | None, Mapping[str, Any] | None], list[WriteOp]]


@dataclass(frozen=True)
class EntityChanges:
    """How an owner's entity is changed: ``spec`` (its type and kind), ``key(tenant, id)`` (its item), ``ref_ops``
    (its index items), ``snapshot`` (what its events carry) and ``timer_fields`` (what its timers count from)."""

    spec: EntitySpec
    key: Callable[[str, str], tuple[str, str]]
    ref_ops: RefOps
    snapshot: Callable[[Mapping[str, Any]], dict[str, Any]]
    timer_fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.spec.entity_type not in CHANGED_ENTITIES:
            raise ValueError(f"{self.spec.entity_type.value} is not in CHANGED_ENTITIES")

    def save(
        self,
        principal: Principal,
        entity_id: str,
        item: Mapping[str, Any],
        changes: Mapping[str, Any],
        also: Sequence[WriteOp] = (),
    ) -> dict[str, Any]:
        """Write ``changes`` to the entity ``item`` (``updatedAt`` set; 409 when it changed since it was read) with
        its index items moved, its audit entry, the ``also`` writes and its ``<entity>.updated`` event (``changed``:
        the fields; ``before`` and ``<entity>``: snapshots of both states), in one transaction; its timers re-armed
        when one of ``timer_fields`` changed. The item as written."""
        tenant_id, changed_entity = principal.tenant_id, self.spec.entity_type.value
        changed = sorted(name for name in changes if not name.startswith("GSI"))
        stale = VersionConflict(detail=f"the {changed_entity} changed since you read it; reload and retry")
        key = self.key(tenant_id, entity_id)
        write, after = revise_op(*key, item, {**changes, "updatedAt": clock.now_iso()}, conflict=stale)
        data = {"changed": changed, "before": self.snapshot(item), changed_entity: self.snapshot(after)}
        Table().transact(
            [
                write,
                audit_op(
                    principal, f"{changed_entity}.updated", self.spec.kind, entity_id, before=dict(item), after=after
                ),
                *self.ref_ops(tenant_id, item, after),
                *also,
                event_put_op(new_event(f"{changed_entity}.updated", tenant_id, data, subject=entity_id)),
            ]
        )
        if self.timer_fields & changes.keys():
            refresh_timers(tenant_id, self.spec.entity_type, entity_id)
        return after
