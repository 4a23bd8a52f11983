"""Idempotent creates: a POST repeated with the same ``Idempotency-Key`` gets the first answer and creates nothing.

The response is recorded by the create's own transaction (one more conditional Put, ``seal``), not in a separate
step: either the entity and the recorded response are both written or neither is, so there is no "in progress"
state to expire and no window in which a crash leaves an entity without its recorded answer. Two requests racing
with one key: one transaction wins, the other fails on the record's condition and answers with the winner's
response (same body) or 409 (different body).

Use::

    def create_thing(principal, body, idempotency_key):
        return idempotency.once(principal.tenant_id, idempotency_key, "things.create", body, Thing,
                                lambda seal: _create(principal, body, seal))

    def _create(principal, body, seal):
        thing = ...
        Table().transact([..., *seal(thing)])   # seal(response) is [] when no key was sent
        return thing
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.conditions import Attr
from pydantic import BaseModel

from chalicelib.core import aws, clock
from chalicelib.core.api import IDEMPOTENCY_HEADER
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, WriteOp, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from chalicelib.core.errors import AppError, Conflict, FieldError, InvalidInput

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

__all__ = ["IDEMPOTENCY_TTL", "MAX_KEY_LENGTH", "Seal", "once", "powertools_records"]

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
IDEMPOTENCY_ENTITY = "IdempotentResponse"
_FIELD = f"header.{IDEMPOTENCY_HEADER}"

R = TypeVar("R", bound=BaseModel)
# Given the response the create is about to return, the transaction writes that record it under the key.
Seal = Callable[[BaseModel], list[WriteOp]]


def _checked_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidInput(
            detail=f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            errors=(FieldError(_FIELD, "1-255 printable ASCII characters"),),
        )
    return key


def _record_key(tenant_id: str, scope: str, key: str) -> tuple[str, str]:
    # Hashed: the key is the client's text (any characters, any length up to the limit); the scope keeps one
    # key used on two different creates apart.
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    return keys.idempotency_pk(tenant_id, digest), keys.IDEMPOTENCY_SK


def _fingerprint(request: BaseModel) -> str:
    canonical = json.dumps(request.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _recorded(pk_sk: tuple[str, str]) -> dict[str, Any] | None:
    item = Table().get(*pk_sk, consistent=True)
    # TTL deletes lazily (up to a day or two late): an expired record no longer counts.
    if item is None or int(item.get(TTL_ATTRIBUTE, 0)) <= clock.to_epoch(clock.now()):
        return None
    return item


def _replay(item: dict[str, Any], fingerprint: str, response_type: type[R]) -> R:
    if item.get("fingerprint") != fingerprint:
        raise Conflict(
            detail=f"this {IDEMPOTENCY_HEADER} was already used with a different request",
            errors=(FieldError(_FIELD, "already used with a different request", "idempotency-key-reused"),),
            title="Idempotency key reused",
            code="idempotency-key-reused",
        )
    return response_type.model_validate_json(str(item["response"]))


def once(
    tenant_id: str,
    key: str | None,
    scope: str,
    request: BaseModel,
    response_type: type[R],
    create: Callable[[Seal], R],
) -> R:
    """Run ``create`` at most once per (tenant, ``scope``, ``key``) in 24 hours and return its response.

    ``create`` must add ``seal(response)`` to the transaction that creates the entity. Without a key it simply
    runs (``seal`` returns no writes). With a key seen before: the same request body gets the recorded response,
    another body a 409 naming the header. A malformed key is a 422 naming the header.
    """
    if key is None:
        return create(lambda response: [])
    pk, sk = _record_key(tenant_id, scope, _checked_key(key))
    fingerprint = _fingerprint(request)
    found = _recorded((pk, sk))
    if found is not None:
        return _replay(found, fingerprint, response_type)

    def seal(response: BaseModel) -> list[WriteOp]:
        now = clock.now()
        item = {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: IDEMPOTENCY_ENTITY,
            TTL_ATTRIBUTE: clock.to_epoch(now + IDEMPOTENCY_TTL),
            "scope": scope,
            "fingerprint": fingerprint,
            "response": response.model_dump_json(),
            "createdAt": clock.isoformat(now),
        }
        expired = Attr(TTL_ATTRIBUTE).lte(clock.to_epoch(now))
        return [put_op(item, condition=Attr(PARTITION_KEY).not_exists() | expired)]

    try:
        return create(seal)
    except AppError:
        # A twin request with the same key may have won the race (its transaction made ours fail, on the record
        # or on a unique value it claimed first): answer as that one did.
        raced = _recorded((pk, sk))
        if raced is None:
            raise
        return _replay(raced, fingerprint, response_type)


def powertools_records(static_pk: str) -> DynamoDBPersistenceLayer:
    """Where Powertools' idempotency utility keeps one kind of record on our table: partition ``static_pk`` (a key
    of ``keys``), Powertools' hashed key as the sort key, expiring through the table's TTL. For work done once per
    something that is not a create (a provider's delivery, a provider's event applied)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr=PARTITION_KEY,
        sort_key_attr=SORT_KEY,
        static_pk_value=static_pk,
        expiry_attr=TTL_ATTRIBUTE,
        boto3_client=aws.dynamodb(),
    )
