"""Table access for every store: get, batch get, conditional create, optimistic update, one-page query, transactions.

Items are plain dicts whose attribute names are the stored names. Stores build them from pydantic models
and turn them back; this layer only talks to DynamoDB and maps its failures to ``AppError``s.

We use the low-level client with boto3's serializer (and ``core/db/codec.py``'s faster reader) rather than
PynamoDB: pydantic models are the one schema of every entity (API and storage), and PynamoDB would need a second,
parallel model per entity.

The writes a transaction is made of live in ``core/db/writes.py`` and the request's tenant scope and read-ahead in
``core/db/scope.py``; this module re-exports both, so a store imports its table access from one place. No store
talks to the client directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError, EndpointConnectionError
from typing_extensions import TypeVar

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.db.codec import deserialize, plain_key
from chalicelib.core.db.scope import (
    TenantScopeViolation,
    check_scope,
    current_tenant,
    forget_read_ahead,
    kept_read_ahead,
    partition_of,
    read_ahead,
    tenant_scope,
    unscoped,
)
from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, Index
from chalicelib.core.db.writes import (
    WriteOp,
    add_op,
    change_op,
    condition_op,
    condition_request,
    counter_op,
    delete_op,
    put_new_condition,
    put_op,
    revise_op,
    serialize,
    set_op,
    update_op,
    versioned_update,
)
from chalicelib.core.errors import Conflict, DependencyUnavailable

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
_BATCH_GET_KEYS = 100  # BatchGetItem's limit
_BATCH_GET_ATTEMPTS = 5


class AlreadyExists(Conflict):
    """Raised when a conditional create finds an item already there."""


class VersionConflict(Conflict):
    """Raised when an optimistic update finds a different version (someone else wrote first)."""


class TransactionConflict(Conflict):
    """Raised when a transaction fails on the condition of a write that names no error of its own."""


@dataclass(frozen=True)
class QueryPage(Generic[T]):
    """One page of a Query: the items (stored items, or the models a store made of them) and the
    LastEvaluatedKey (None on the last page)."""

    items: list[T]
    last_key: dict[str, str] | None

    def map(self, convert: Callable[[T], U]) -> QueryPage[U]:
        """The same page with each item converted (a store turning stored items into its models)."""
        return QueryPage([convert(item) for item in self.items], self.last_key)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


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
        tenant_id = current_tenant()
        if tenant_id is None:
            return aws.dynamodb()
        from chalicelib.core.tenant_access import tenant_dynamodb

        return tenant_dynamodb(tenant_id)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        check_scope(partition_of(kwargs))
        if operation not in ("get_item", "query"):
            forget_read_ahead()
        try:
            return getattr(self.client, operation)(TableName=self.name, **kwargs)
        except EndpointConnectionError as exc:
            raise DependencyUnavailable(detail="the database is not reachable") from exc

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        """The item at (pk, sk), or None (eventually consistent: from the request's read-ahead when it has it)."""
        kept = kept_read_ahead()
        if not consistent and kept is not None and (self.name, pk, sk) in kept:
            check_scope(pk)
            image = kept[(self.name, pk, sk)]
            return deserialize(image) if image else None
        response = self._call("get_item", Key=serialize({PARTITION_KEY: pk, SORT_KEY: sk}), ConsistentRead=consistent)
        image = response.get("Item")
        return deserialize(image) if image else None

    def batch_get(self, keys: Iterable[tuple[str, str]], *, consistent: bool = False) -> list[Item]:
        """The items that exist at ``keys`` (pk, sk), in no particular order: BatchGetItem, 100 keys a call; keys
        DynamoDB leaves unprocessed (throttling) are asked again a few times, then ``DependencyUnavailable``."""
        wanted = list(dict.fromkeys(keys))
        for pk, _ in wanted:
            check_scope(pk)
        found: list[Item] = []
        for start in range(0, len(wanted), _BATCH_GET_KEYS):
            chunk = [serialize({PARTITION_KEY: pk, SORT_KEY: sk}) for pk, sk in wanted[start : start + _BATCH_GET_KEYS]]
            found += [deserialize(image) for image in self._batch_images(chunk, consistent)]
        return found

    def prefetch(self, keys: Sequence[tuple[str, str]]) -> None:
        """Read the items at ``keys`` (at most 100) in one BatchGetItem (eventually consistent) into the request's
        read-ahead, for the ``get``s that follow; outside ``read_ahead()`` it does nothing."""
        kept = kept_read_ahead()
        wanted = [(self.name, pk, sk) for pk, sk in dict.fromkeys(keys)]
        wanted = [key for key in wanted if kept is not None and key not in kept]
        if kept is None or not wanted:
            return
        for _, pk, _ in wanted:
            check_scope(pk)
        images = self._batch_images([serialize({PARTITION_KEY: pk, SORT_KEY: sk}) for _, pk, sk in wanted])
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
        self._call("put_item", Item=serialize(item))

    def delete(self, pk: str, sk: str) -> None:
        """Delete the item (pk, sk), if there is one."""
        self._call("delete_item", Key=serialize({PARTITION_KEY: pk, SORT_KEY: sk}))

    def put_new(self, item: Mapping[str, Any], *, unless: ConditionBase | None = None) -> None:
        """Create ``item``; raises ``AlreadyExists`` if an item with its key exists (or, with ``unless``, one that
        the condition does not let it replace)."""
        if unless is None:
            condition = put_new_condition()
        else:
            condition = condition_request(Attr(PARTITION_KEY).not_exists() | unless)
        try:
            self._call("put_item", Item=serialize(item), **condition)
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
        return deserialize(response["Attributes"])

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
            Key=serialize({PARTITION_KEY: pk, SORT_KEY: sk}),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
            ReturnValues="UPDATED_NEW",
        )
        return int(deserialize(response["Attributes"])[counter])

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
        check_scope(partition)
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
            **condition_request(condition, is_key=True),
        }
        if index is not None:
            request["IndexName"] = index.name
        elif consistent:
            request["ConsistentRead"] = True
        if start_key:
            request["ExclusiveStartKey"] = serialize(start_key)
        response = self._call("query", **request)
        last = response.get("LastEvaluatedKey")
        return QueryPage(
            items=[deserialize(image) for image in response.get("Items", [])],
            last_key=plain_key(last) if last else None,
        )

    def transact(self, operations: Sequence[WriteOp]) -> None:
        """Write ``operations`` (from ``put_op``/``update_op``/…) atomically: all of them or none.

        When conditions fail, raises the ``conflict`` of the first failed write (in the order given) that names
        one; else ``TransactionConflict`` naming the write. A transaction refused because a concurrent one held
        one of its items raises ``Conflict`` with ``retry`` set.
        """
        for op in operations:
            check_scope(partition_of(op.body))
        forget_read_ahead()
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
