"""The writes a transaction is built from (``put_op``, ``update_op``, ``change_op``, …) and what each one's failed
condition means, plus the (de)serialization of items and condition expressions they share with ``Table``.

``Table.transact`` (``core/db/store.py``) writes a list of them atomically; stores build them from their models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.types import TypeSerializer

from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION
from chalicelib.core.errors import AppError

__all__ = [
    "WriteOp",
    "add_op",
    "change_op",
    "condition_op",
    "condition_request",
    "counter_op",
    "delete_op",
    "put_new_condition",
    "put_op",
    "revise_op",
    "serialize",
    "set_op",
    "update_op",
    "versioned_update",
]

_serializer = TypeSerializer()

WriteAction = Literal["Put", "Update", "Delete", "ConditionCheck"]


@dataclass(frozen=True)
class WriteOp:
    """One write of a transaction (an entry of TransactWriteItems) and what its condition failing means.

    ``conflict`` is the error ``Table.transact`` raises when this write's condition fails (a name already taken,
    a plan limit reached, a version someone else moved on); None: the generic ``TransactionConflict``.
    """

    action: WriteAction
    body: Mapping[str, Any]
    conflict: AppError | None = None

    def on_conflict(self, error: AppError | None) -> WriteOp:
        """This write, raising ``error`` when its condition fails."""
        return replace(self, conflict=error)

    def request(self, table_name: str) -> dict[str, Any]:
        """The TransactWriteItems entry of this write on ``table_name``."""
        return {self.action: {"TableName": table_name, **self.body}}


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` in DynamoDB's typed wire form (None values left out: items never hold nulls)."""
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def condition_request(condition: ConditionBase, *, is_key: bool = False) -> dict[str, Any]:
    """The request fields of ``condition`` (a key condition with ``is_key``): expression, names and values."""
    built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=is_key)
    expression: dict[str, Any] = {"ExpressionAttributeNames": built.attribute_name_placeholders}
    if built.attribute_value_placeholders:
        expression["ExpressionAttributeValues"] = serialize(built.attribute_value_placeholders)
    expression["KeyConditionExpression" if is_key else "ConditionExpression"] = built.condition_expression
    return expression


def put_new_condition() -> dict[str, Any]:
    """The condition that makes a Put a create: no item with this key yet."""
    return condition_request(Attr(PARTITION_KEY).not_exists())


def put_op(
    item: Mapping[str, Any],
    *,
    must_not_exist: bool = True,
    condition: ConditionBase | None = None,
    conflict: AppError | None = None,
) -> WriteOp:
    """A transaction Put of ``item``: a create unless ``must_not_exist`` is False, or guarded by ``condition``;
    ``conflict`` is raised when the item exists (or the condition fails)."""
    body: dict[str, Any] = {"Item": serialize(item)}
    if condition is not None:
        body.update(condition_request(condition))
    elif must_not_exist:
        body.update(put_new_condition())
    return WriteOp("Put", body, conflict)


def versioned_update(
    pk: str,
    sk: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    remove: Iterable[str] = (),
) -> dict[str, Any]:
    """The UpdateItem body that sets ``changes`` and bumps ``version`` when it equals ``expected_version``.

    A change to None removes the attribute (items never hold nulls: a cleared field is an absent one).
    """
    names: dict[str, str] = {"#v": VERSION}
    values: dict[str, Any] = {":expected": expected_version, ":one": 1}
    sets = ["#v = #v + :one"]
    for i, (name, value) in enumerate(changes.items()):
        if name in (PARTITION_KEY, SORT_KEY, VERSION):
            raise ValueError(f"{name} cannot be changed by an update")
        if value is None:
            continue
        names[f"#f{i}"] = name
        values[f":f{i}"] = value
        sets.append(f"#f{i} = :f{i}")
    cleared = [name for name, value in changes.items() if value is None]
    removals = []
    for j, name in enumerate(dict.fromkeys([*remove, *cleared])):
        names[f"#r{j}"] = name
        removals.append(f"#r{j}")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removals) if removals else "")
    return {
        "Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": expression,
        "ConditionExpression": "#v = :expected",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize(values),
    }


def update_op(
    pk: str,
    sk: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    remove: Iterable[str] = (),
    conflict: AppError | None = None,
) -> WriteOp:
    """A transaction Update with optimistic locking (see ``versioned_update``); ``conflict`` is raised when the
    stored version is another (a ``VersionConflict`` saying what changed, usually)."""
    body = versioned_update(pk, sk, changes, expected_version=expected_version, remove=remove)
    return WriteOp("Update", body, conflict)


def revise_op(
    pk: str, sk: str, item: Mapping[str, Any], changes: Mapping[str, Any], *, conflict: AppError | None = None
) -> tuple[WriteOp, dict[str, Any]]:
    """The versioned write of ``changes`` to ``item`` as it was read (a None value removes the attribute), and the
    item as it will be after it (version + 1): for services that also need the new state for events and audit.
    ``conflict`` is raised when the item changed since it was read."""
    version = int(item[VERSION])
    kept = {name: value for name, value in changes.items() if value is not None}
    removed = [name for name, value in changes.items() if value is None]
    after = {name: value for name, value in {**item, **kept, VERSION: version + 1}.items() if name not in removed}
    return update_op(pk, sk, kept, expected_version=version, remove=removed, conflict=conflict), after


def set_op(pk: str, sk: str, changes: Mapping[str, Any], *, conflict: AppError | None = None) -> WriteOp:
    """A transaction Update setting ``changes`` on an existing item, whatever its version (revocations)."""
    names = {f"#f{i}": name for i, name in enumerate(changes)}
    values = {f":f{i}": value for i, value in enumerate(changes.values())}
    names["#pk"] = PARTITION_KEY
    body = {
        "Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(changes))),
        "ConditionExpression": "attribute_exists(#pk)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize(values),
    }
    return WriteOp("Update", body, conflict)


def counter_op(
    pk: str,
    sk: str,
    counter: str,
    delta: int,
    *,
    less_than: int | None = None,
    greater_than: int | None = None,
    expires_at: int | None = None,
    create: bool = False,
    conflict: AppError | None = None,
) -> WriteOp:
    """A transaction Update adding ``delta`` to ``counter`` on an existing item (or, with ``create``, on an
    item made on first use, such as a monthly counter, with its TTL ``expires_at``), optionally only while
    the counter is below ``less_than`` (a plan limit) or above ``greater_than``; else the transaction fails
    with ``conflict`` (a ``LimitExceeded`` naming the limit, usually)."""
    conditions = [] if create else ["attribute_exists(#pk)"]
    names = {"#c": counter} if create else {"#c": counter, "#pk": PARTITION_KEY}
    values: dict[str, Any] = {":delta": delta}
    expression = "ADD #c :delta"
    if expires_at is not None:
        names["#ttl"] = TTL_ATTRIBUTE
        values[":ttl"] = expires_at
        expression += " SET #ttl = if_not_exists(#ttl, :ttl)"
    if less_than is not None:
        conditions.append("(attribute_not_exists(#c) OR #c < :limit)")
        values[":limit"] = less_than
    if greater_than is not None:
        conditions.append("#c > :floor")
        values[":floor"] = greater_than
    update: dict[str, Any] = {
        "Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize(values),
    }
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
    return WriteOp("Update", update, conflict)


def change_op(
    pk: str,
    sk: str,
    *,
    add: Mapping[str, Any] | None = None,
    set_: Mapping[str, Any] | None = None,
    remove: Iterable[str] = (),
    delete: Mapping[str, set[str]] | None = None,
    condition: ConditionBase | None = None,
    must_exist: bool = True,
    conflict: AppError | None = None,
    set_once: Mapping[str, Any] | None = None,
) -> WriteOp:
    """A transaction Update that ADDs numbers (or elements to a set), SETs and REMOVEs attributes and DELETEs
    elements from sets of an existing item (or, without ``must_exist``, of an item made on first use), only if
    ``condition`` holds (counters and balances changed atomically, without reading them first); else the
    transaction fails with ``conflict``. ``set_once`` attributes are SET only where absent (``if_not_exists``)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses: list[str] = []
    once = dict(set_once or {})
    for action, changes in (("ADD", add or {}), ("SET", {**(set_ or {}), **once}), ("DELETE", delete or {})):
        parts = []
        for name, value in changes.items():
            if name in (PARTITION_KEY, SORT_KEY) or value is None or (isinstance(value, set) and not value):
                raise ValueError(f"{name}: keys cannot be changed, a None is a REMOVE, a set is never empty")
            i = len(names)
            names[f"#u{i}"], values[f":u{i}"] = name, value
            if action != "SET":
                parts.append(f"#u{i} :u{i}")
            elif name in once:
                parts.append(f"#u{i} = if_not_exists(#u{i}, :u{i})")
            else:
                parts.append(f"#u{i} = :u{i}")
        if parts:
            clauses.append(f"{action} " + ", ".join(parts))
    removed = []
    for name in remove:
        i = len(names)
        names[f"#u{i}"] = name
        removed.append(f"#u{i}")
    if removed:
        clauses.append("REMOVE " + ", ".join(removed))
    if not clauses:
        raise ValueError("an update must change something")
    guard: ConditionBase | None = Attr(PARTITION_KEY).exists() if must_exist else None
    if condition is not None:
        guard = condition if guard is None else guard & condition
    body: dict[str, Any] = {
        "Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": names,
    }
    merged_values = serialize(values)
    if guard is not None:
        built = condition_request(guard)
        body["ConditionExpression"] = built["ConditionExpression"]
        body["ExpressionAttributeNames"] = {**built["ExpressionAttributeNames"], **names}
        merged_values = {**built.get("ExpressionAttributeValues", {}), **merged_values}
    if merged_values:
        body["ExpressionAttributeValues"] = merged_values
    return WriteOp("Update", body, conflict)


def add_op(
    pk: str,
    sk: str,
    add: Mapping[str, Any],
    *,
    set_once: Mapping[str, Any] | None = None,
    condition: ConditionBase | None = None,
    conflict: AppError | None = None,
) -> WriteOp:
    """A transaction Update that ADDs numbers (or members of a set) to attributes of (pk, sk), creating the item
    (and its absent attributes) on first use; ``set_once`` attributes are set only while absent (its entity name,
    its TTL). For aggregates that many writers add to (commutative: their order does not matter); ``condition``,
    when given, must hold on the item as it is (absent: as if empty), else the transaction fails with ``conflict``."""
    if not add:
        raise ValueError("an add must add something")
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds = []
    for i, (name, value) in enumerate(add.items()):
        names[f"#a{i}"], values[f":a{i}"] = name, value
        adds.append(f"#a{i} :a{i}")
    expression = "ADD " + ", ".join(adds)
    sets = []
    for j, (name, value) in enumerate((set_once or {}).items()):
        names[f"#s{j}"], values[f":s{j}"] = name, value
        sets.append(f"#s{j} = if_not_exists(#s{j}, :s{j})")
    if sets:
        expression += " SET " + ", ".join(sets)
    body: dict[str, Any] = {
        "Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize(values),
    }
    if condition is not None:
        built = condition_request(condition)
        body["ConditionExpression"] = built["ConditionExpression"]
        body["ExpressionAttributeNames"] = {**built["ExpressionAttributeNames"], **names}
        body["ExpressionAttributeValues"] = {
            **built.get("ExpressionAttributeValues", {}),
            **body["ExpressionAttributeValues"],
        }
    return WriteOp("Update", body, conflict)


def condition_op(pk: str, sk: str, condition: ConditionBase, *, conflict: AppError | None = None) -> WriteOp:
    """A transaction ConditionCheck: the write happens only if ``condition`` holds on (pk, sk); else the
    transaction fails with ``conflict``."""
    body = {"Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk}), **condition_request(condition)}
    return WriteOp("ConditionCheck", body, conflict)


def delete_op(pk: str, sk: str, condition: ConditionBase | None = None, *, conflict: AppError | None = None) -> WriteOp:
    """A transaction Delete of (pk, sk), only if ``condition`` holds when one is given (else ``conflict``)."""
    body: dict[str, Any] = {"Key": serialize({PARTITION_KEY: pk, SORT_KEY: sk})}
    if condition is not None:
        body.update(condition_request(condition))
    return WriteOp("Delete", body, conflict)
