"""Table access for every store: get, conditional create, optimistic update, one-page query, transactions.

Items are plain dicts whose attribute names are the stored names. Stores build them from pydantic models
and turn them back; this layer only talks to DynamoDB and maps its failures to ``AppError``s.

We use the low-level client with boto3's own (de)serializers rather than PynamoDB: pydantic models are the
one schema of every entity (API and storage), and PynamoDB would need a second, parallel model per entity.

One responsibility: DynamoDB access (the ``Table`` and the write ops stores build transactions from); no store talks
to the client directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Literal

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder, Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, EndpointConnectionError
from typing_extensions import TypeVar

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.db.keys import tenant_prefix
from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION, Index
from chalicelib.core.errors import AppError, Conflict, DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "AlreadyExists",
    "QueryPage",
    "Table",
    "TenantScopeViolation",
    "TransactionConflict",
    "VersionConflict",
    "WriteOp",
    "add_op",
    "change_op",
    "condition_op",
    "counter_op",
    "delete_op",
    "put_new_condition",
    "put_op",
    "read_ahead",
    "revise_op",
    "set_op",
    "tenant_scope",
    "unscoped",
    "update_op",
    "versioned_update",
]

Item = dict[str, Any]
T = TypeVar("T", default=Item)
U = TypeVar("U")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_BATCH_GET_KEYS = 100  # BatchGetItem's limit
_BATCH_GET_ATTEMPTS = 5


class AlreadyExists(Conflict):
    """Raised when a conditional create finds an item already there."""


class VersionConflict(Conflict):
    """Raised when an optimistic update finds a different version (someone else wrote first)."""


class TransactionConflict(Conflict):
    """Raised when a transaction fails on the condition of a write that names no error of its own."""


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


@dataclass(frozen=True)
class QueryPage(Generic[T]):
    """One page of a Query: the items (stored items, or the models a store made of them) and the
    LastEvaluatedKey (None on the last page)."""

    items: list[T]
    last_key: dict[str, str] | None

    def map(self, convert: Callable[[T], U]) -> QueryPage[U]:
        """The same page with each item converted (a store turning stored items into its models)."""
        return QueryPage([convert(item) for item in self.items], self.last_key)


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def _deserialize(image: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


def _plain_key(key: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(_deserializer.deserialize(value)) for name, value in key.items()}


def _expression(condition: ConditionBase, *, is_key: bool = False) -> dict[str, Any]:
    built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=is_key)
    expression: dict[str, Any] = {"ExpressionAttributeNames": built.attribute_name_placeholders}
    if built.attribute_value_placeholders:
        expression["ExpressionAttributeValues"] = _serialize(built.attribute_value_placeholders)
    expression["KeyConditionExpression" if is_key else "ConditionExpression"] = built.condition_expression
    return expression


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class TenantScopeViolation(RuntimeError):
    """Raised when code running for one tenant touches a key outside ``T#<tenant>#`` without saying it means to
    (a programming error: in AWS the tenant's credentials would be denied the same access)."""


# The tenant whose request is running (set by the API layer after the guard); None: platform-level code.
_tenant_scope: ContextVar[str | None] = ContextVar("tenant_scope", default=None)


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    """Run the block as tenant ``tenant_id``: the table is reached with that tenant's credentials (when a
    tenant-access role is configured) and every key touched must be one of the tenant's."""
    token = _tenant_scope.set(tenant_id)
    try:
        yield
    finally:
        _tenant_scope.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Run the block as the platform, inside a tenant's request: for the few writes that are global by design
    (login routes of a new user, brute-force counters, the platform operator's changes to tenants)."""
    token = _tenant_scope.set(None)
    try:
        yield
    finally:
        _tenant_scope.reset(token)


# Items one request read ahead (``Table.prefetch``) by (table, PK, SK), as DynamoDB returned them; None: no item.
_ReadAhead = dict[tuple[str, str, str], dict[str, Any] | None]
_read_ahead: ContextVar[_ReadAhead | None] = ContextVar("read_ahead", default=None)


@contextmanager
def read_ahead() -> Iterator[None]:
    """One request's read-ahead (the API layer runs every request in one): inside it ``Table.prefetch`` reads
    several items in one BatchGetItem and later eventually consistent ``Table.get``s of them answer from what it
    read, until any write through ``Table`` (which forgets everything read ahead). Nothing outlives the block."""
    token = _read_ahead.set({})
    try:
        yield
    finally:
        _read_ahead.reset(token)


def _partition_of(body: Mapping[str, Any]) -> str | None:
    for part in ("Key", "Item"):
        if part in body:
            return str(body[part][PARTITION_KEY]["S"])
    return None


def _forget_read_ahead() -> None:
    kept = _read_ahead.get()
    if kept:
        kept.clear()


class Table:
    """The application's single table. ``client`` is injectable; by default the shared DynamoDB client, or the
    tenant's scoped client inside ``tenant_scope``."""

    def __init__(self, name: str | None = None, client: DynamoDBClient | None = None) -> None:
        self.name = name or get_settings().table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        """The DynamoDB client in use."""
        if self._client is not None:
            return self._client
        tenant_id = _tenant_scope.get()
        if tenant_id is None:
            return aws.dynamodb()
        from chalicelib.core.tenant_access import tenant_dynamodb

        return tenant_dynamodb(tenant_id)

    @staticmethod
    def _check_scope(partition: str | None) -> None:
        # The same rule as the IAM session policy (dynamodb:LeadingKeys T#<tenant>#*), enforced here too so that
        # tests and local runs, where no IAM applies, catch a request path reaching outside its tenant.
        tenant_id = _tenant_scope.get()
        if tenant_id is None or partition is None:
            return
        if not partition.startswith(tenant_prefix(tenant_id)):
            raise TenantScopeViolation(
                f"a request of tenant {tenant_id} touched {partition!r}; keys outside T#<tenant># need "
                "`with unscoped():` (see docs/SECURITY.md, Tenant isolation)"
            )

    def _call(self, operation: str, **kwargs: Any) -> Any:
        self._check_scope(_partition_of(kwargs))
        if operation not in ("get_item", "query"):
            _forget_read_ahead()
        try:
            return getattr(self.client, operation)(TableName=self.name, **kwargs)
        except EndpointConnectionError as exc:
            raise DependencyUnavailable(detail="the database is not reachable") from exc

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        """The item at (pk, sk), or None (eventually consistent: from the request's read-ahead when it has it)."""
        kept = _read_ahead.get()
        if not consistent and kept is not None and (self.name, pk, sk) in kept:
            self._check_scope(pk)
            image = kept[(self.name, pk, sk)]
            return _deserialize(image) if image else None
        response = self._call("get_item", Key=_serialize({PARTITION_KEY: pk, SORT_KEY: sk}), ConsistentRead=consistent)
        image = response.get("Item")
        return _deserialize(image) if image else None

    def batch_get(self, keys: Iterable[tuple[str, str]], *, consistent: bool = False) -> list[Item]:
        """The items that exist at ``keys`` (pk, sk), in no particular order: BatchGetItem, 100 keys a call; keys
        DynamoDB leaves unprocessed (throttling) are asked again a few times, then ``DependencyUnavailable``."""
        wanted = list(dict.fromkeys(keys))
        for pk, _ in wanted:
            self._check_scope(pk)
        found: list[Item] = []
        for start in range(0, len(wanted), _BATCH_GET_KEYS):
            chunk = [
                _serialize({PARTITION_KEY: pk, SORT_KEY: sk}) for pk, sk in wanted[start : start + _BATCH_GET_KEYS]
            ]
            found += [_deserialize(image) for image in self._batch_images(chunk, consistent)]
        return found

    def prefetch(self, keys: Sequence[tuple[str, str]]) -> None:
        """Read the items at ``keys`` (at most 100) in one BatchGetItem (eventually consistent) into the request's
        read-ahead, for the ``get``s that follow; outside ``read_ahead()`` it does nothing."""
        kept = _read_ahead.get()
        wanted = [(self.name, pk, sk) for pk, sk in dict.fromkeys(keys)]
        wanted = [key for key in wanted if kept is not None and key not in kept]
        if kept is None or not wanted:
            return
        for _, pk, _ in wanted:
            self._check_scope(pk)
        images = self._batch_images([_serialize({PARTITION_KEY: pk, SORT_KEY: sk}) for _, pk, sk in wanted])
        found = {(self.name, image[PARTITION_KEY]["S"], image[SORT_KEY]["S"]): image for image in images}
        kept.update({key: found.get(key) for key in wanted})

    def _batch_images(self, keys: list[dict[str, Any]], consistent: bool = False) -> list[dict[str, Any]]:
        """BatchGetItem of at most 100 ``keys`` (serialized); keys DynamoDB leaves unprocessed (throttling) are
        asked again a few times, then ``DependencyUnavailable``."""
        request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": consistent}}
        found: list[dict[str, Any]] = []
        for attempt in range(_BATCH_GET_ATTEMPTS):
            try:
                response = self.client.batch_get_item(RequestItems=request)
            except EndpointConnectionError as exc:
                raise DependencyUnavailable(detail="the database is not reachable") from exc
            found += response.get("Responses", {}).get(self.name, [])
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
            time.sleep(0.05 * 2**attempt)
        raise DependencyUnavailable(detail="the database did not return every item asked for; retry")

    def put(self, item: Mapping[str, Any]) -> None:
        """Write ``item``, replacing whatever is there."""
        self._call("put_item", Item=_serialize(item))

    def delete(self, pk: str, sk: str) -> None:
        """Delete the item (pk, sk), if there is one."""
        self._call("delete_item", Key=_serialize({PARTITION_KEY: pk, SORT_KEY: sk}))

    def put_new(self, item: Mapping[str, Any], *, unless: ConditionBase | None = None) -> None:
        """Create ``item``; raises ``AlreadyExists`` if an item with its key exists (or, with ``unless``, one that
        the condition does not let it replace)."""
        condition = (
            _expression(Attr(PARTITION_KEY).not_exists() | unless) if unless is not None else put_new_condition()
        )
        try:
            self._call("put_item", Item=_serialize(item), **condition)
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise AlreadyExists(detail="an item with this key already exists") from exc
            raise

    def update_versioned(
        self,
        pk: str,
        sk: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int,
        remove: Iterable[str] = (),
    ) -> Item:
        """Set ``changes`` (and bump ``version``) only if the stored version is ``expected_version``.

        Returns the item as written; raises ``VersionConflict`` when another writer got there first.
        """
        request = versioned_update(pk, sk, changes, expected_version=expected_version, remove=remove)
        try:
            response = self._call("update_item", ReturnValues="ALL_NEW", **request)
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(
                    detail=f"the item changed since version {expected_version}; reload and retry"
                ) from exc
            raise
        return _deserialize(response["Attributes"])

    def increment(self, pk: str, sk: str, counter: str, *, expires_at: int | None = None, by: int = 1) -> int:
        """Atomically add ``by`` (1) to ``counter`` (created at 0) and return the new value; sets the TTL once."""
        names = {"#c": counter}
        values: dict[str, Any] = {":one": by}
        expression = "ADD #c :one"
        if expires_at is not None:
            names["#ttl"] = TTL_ATTRIBUTE
            values[":ttl"] = expires_at
            expression += " SET #ttl = if_not_exists(#ttl, :ttl)"
        response = self._call(
            "update_item",
            Key=_serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_serialize(values),
            ReturnValues="UPDATED_NEW",
        )
        return int(_deserialize(response["Attributes"])[counter])

    def query_page(
        self,
        partition: str,
        *,
        index: Index | None = None,
        sort_prefix: str | None = None,
        sort_between: tuple[str, str] | None = None,
        limit: int = 25,
        start_key: Mapping[str, str] | None = None,
        newest_first: bool = False,
        consistent: bool = False,
    ) -> QueryPage:
        """One page of the items in ``partition`` (of the table or of ``index``), in sort-key order."""
        self._check_scope(partition)
        pk_name = index.partition_key if index else PARTITION_KEY
        sk_name = index.sort_key if index else SORT_KEY
        condition: ConditionBase = Key(pk_name).eq(partition)
        if sort_prefix is not None:
            condition = condition & Key(sk_name).begins_with(sort_prefix)
        elif sort_between is not None:
            condition = condition & Key(sk_name).between(*sort_between)
        request: dict[str, Any] = {
            "Limit": limit,
            "ScanIndexForward": not newest_first,
            **_expression(condition, is_key=True),
        }
        if index is not None:
            request["IndexName"] = index.name
        elif consistent:
            request["ConsistentRead"] = True
        if start_key:
            request["ExclusiveStartKey"] = _serialize(start_key)
        response = self._call("query", **request)
        last = response.get("LastEvaluatedKey")
        return QueryPage(
            items=[_deserialize(image) for image in response.get("Items", [])],
            last_key=_plain_key(last) if last else None,
        )

    def transact(self, operations: Sequence[WriteOp]) -> None:
        """Write ``operations`` (from ``put_op``/``update_op``/…) atomically: all of them or none.

        When conditions fail, raises the ``conflict`` of the first failed write (in the order given) that names
        one; else ``TransactionConflict`` naming the write. A transaction refused because a concurrent one held
        one of its items raises ``Conflict`` with ``retry`` set.
        """
        for op in operations:
            self._check_scope(_partition_of(op.body))
        _forget_read_ahead()
        items: list[Any] = [op.request(self.name) for op in operations]
        try:
            self.client.transact_write_items(TransactItems=items)
        except EndpointConnectionError as exc:
            raise DependencyUnavailable(detail="the database is not reachable") from exc
        except ClientError as exc:
            if _error_code(exc) != "TransactionCanceledException":
                raise
            reasons: list[Any] = list(dict(exc.response).get("CancellationReasons") or [])  # type: ignore[call-overload]
            failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
            named = [operations[i].conflict for i in failed if i < len(operations)]
            error = next((e for e in named if e is not None), None)
            if error is not None:
                raise error from exc
            if failed:
                raise TransactionConflict(
                    detail=f"a condition failed on write {failed[0] + 1} of {len(items)}"
                ) from exc
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                raise Conflict(detail="a concurrent transaction touched the same items; retry", retry=True) from exc
            raise


def put_new_condition() -> dict[str, Any]:
    """The condition that makes a Put a create: no item with this key yet."""
    return _expression(Attr(PARTITION_KEY).not_exists())


def put_op(
    item: Mapping[str, Any],
    *,
    must_not_exist: bool = True,
    condition: ConditionBase | None = None,
    conflict: AppError | None = None,
) -> WriteOp:
    """A transaction Put of ``item``: a create unless ``must_not_exist`` is False, or guarded by ``condition``;
    ``conflict`` is raised when the item exists (or the condition fails)."""
    body: dict[str, Any] = {"Item": _serialize(item)}
    if condition is not None:
        body.update(_expression(condition))
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
        "Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": expression,
        "ConditionExpression": "#v = :expected",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": _serialize(values),
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
        "Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(changes))),
        "ConditionExpression": "attribute_exists(#pk)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": _serialize(values),
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
        "Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": _serialize(values),
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
) -> WriteOp:
    """A transaction Update that ADDs numbers (or elements to a set), SETs and REMOVEs attributes and DELETEs
    elements from sets of an existing item (or, without ``must_exist``, of an item made on first use), only if
    ``condition`` holds (counters and balances changed atomically, without reading them first); else the
    transaction fails with ``conflict``."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses: list[str] = []
    for action, changes in (("ADD", add or {}), ("SET", set_ or {}), ("DELETE", delete or {})):
        parts = []
        for name, value in changes.items():
            if name in (PARTITION_KEY, SORT_KEY) or value is None or (isinstance(value, set) and not value):
                raise ValueError(f"{name}: keys cannot be changed, a None is a REMOVE, a set is never empty")
            i = len(names)
            names[f"#u{i}"], values[f":u{i}"] = name, value
            parts.append(f"#u{i} = :u{i}" if action == "SET" else f"#u{i} :u{i}")
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
        "Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": names,
    }
    merged_values = _serialize(values)
    if guard is not None:
        built = _expression(guard)
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
        "Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": _serialize(values),
    }
    if condition is not None:
        built = _expression(condition)
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
    return WriteOp(
        "ConditionCheck", {"Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk}), **_expression(condition)}, conflict
    )


def delete_op(pk: str, sk: str, condition: ConditionBase | None = None, *, conflict: AppError | None = None) -> WriteOp:
    """A transaction Delete of (pk, sk), only if ``condition`` holds when one is given (else ``conflict``)."""
    body: dict[str, Any] = {"Key": _serialize({PARTITION_KEY: pk, SORT_KEY: sk})}
    if condition is not None:
        body.update(_expression(condition))
    return WriteOp("Delete", body, conflict)
