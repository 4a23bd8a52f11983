"""Each incoming event is recorded and handed on once: Powertools idempotency on our table, keyed by the
provider's own id (a ``wamid``, a Stripe event id, …), then an SQS message to the capability that handles it
(``Delivery``), or, for a delivery report, the notifications' ``apply_status`` (``StatusReport``).

Providers redeliver (Meta for hours, after any non-200) and may deliver the same event several times at once.
The idempotency record is written (conditionally) before the message is sent: of concurrent deliveries one
sends, the others find the record and answer 200 without sending. If sending fails, Powertools deletes the
record and the error becomes a 5xx, so the provider's retry gets another chance.

Records live under ``INBOUND#<provider>#<shard>`` (``core.db.keys.inbound_receipts_pk``), outside every
tenant, with Powertools' ``<provider>#<sha256>`` as sort key and our TTL attribute (7 days: longer than any
provider keeps retrying).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core import aws
from chalicelib.core.db import keys
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.idempotency import powertools_records
from chalicelib.core.resources import QUEUES, QueueKind, queue_name, queue_url

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

__all__ = [
    "RECEIPT_SHARDS",
    "RECEIPT_TTL_S",
    "Delivery",
    "Receipt",
    "StatusReport",
    "deliver_once",
    "enqueue",
    "receipt_item_key",
]

RECEIPT_TTL_S = 7 * 24 * 3600
# Records of one provider are spread over this many partitions, so a busy provider is not one hot partition.
RECEIPT_SHARDS = 8


@dataclass(frozen=True)
class Delivery:
    """What to enqueue for one incoming event; ``key`` is the provider's id that makes it unique. ``keep``: an item
    written to the table first (the job kept where its consumer finds it in order; the queue message triggers it)."""

    key: str
    queue: QueueKind
    body: Mapping[str, Any]
    group_id: str | None = None
    dedup_id: str | None = None
    keep: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class StatusReport:
    """A provider's delivery report (sent, delivered, read, failed) of a message we sent, unique by ``key``.

    It is applied to the notification that sent the message; when no notification did (the WhatsApp gateway's
    own messages), ``otherwise`` is enqueued for that capability instead.
    """

    key: str
    provider: str
    provider_message_id: str
    status: str
    error: str | None = None
    otherwise: Delivery | None = None


@dataclass(frozen=True)
class Receipt:
    """The outcome: ``duplicate`` when this event had already been recorded (nothing was done this time);
    ``applied`` when a status report changed a notification."""

    duplicate: bool
    message_id: str | None = None
    applied: bool = False


def _is_fifo(kind: QueueKind) -> bool:
    return next(q for q in QUEUES if q.kind == kind).fifo


def enqueue(delivery: Delivery) -> str:
    """Send ``delivery`` to its queue (group and deduplication ids on FIFO queues), after writing the item it keeps;
    returns the message id."""
    from botocore.exceptions import BotoCoreError, ClientError

    if delivery.keep is not None:
        from chalicelib.core.db.store import Table

        try:
            Table().put(delivery.keep)
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable(detail="the job could not be kept in the table") from exc

    request: dict[str, Any] = {
        "QueueUrl": queue_url(queue_name(delivery.queue)),
        "MessageBody": json.dumps(delivery.body, separators=(",", ":"), sort_keys=True),
    }
    if _is_fifo(delivery.queue):
        request["MessageGroupId"] = delivery.group_id or delivery.key
        request["MessageDeduplicationId"] = delivery.dedup_id or delivery.key
    try:
        return str(aws.sqs().send_message(**request)["MessageId"])
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable(detail=f"the {delivery.queue.value} queue is not reachable") from exc


def _shard(key: str) -> int:
    return zlib.crc32(key.encode()) % RECEIPT_SHARDS


def receipt_item_key(provider: str, key: str) -> tuple[str, str]:
    """(PK, SK) of the record of ``key`` (as Powertools builds it: ``<provider>#<sha256 of the JSON key>``)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return keys.inbound_receipts_pk(provider, _shard(key)), keys.inbound_receipt_sk(provider, digest)


def _payload(delivery: Delivery) -> dict[str, Any]:
    return {
        "key": delivery.key,
        "queue": delivery.queue.value,
        "body": dict(delivery.body),
        "groupId": delivery.group_id,
        "dedupId": delivery.dedup_id,
        "keep": dict(delivery.keep) if delivery.keep is not None else None,
    }


def _delivery_of(payload: dict[str, Any]) -> Delivery:
    return Delivery(
        key=payload["key"],
        queue=QueueKind(payload["queue"]),
        body=payload["body"],
        group_id=payload.get("groupId"),
        dedup_id=payload.get("dedupId"),
        keep=payload.get("keep"),
    )


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    return {**response, "duplicate": True} if isinstance(response, dict) else response


@cache
def _recorder(provider: str, shard: int) -> tuple[Callable[..., dict[str, Any]], IdempotencyConfig]:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    layer = powertools_records(keys.inbound_receipts_pk(provider, shard))
    config = IdempotencyConfig(
        event_key_jmespath="key",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECEIPT_TTL_S,
        hash_function="sha256",
        response_hook=_mark_replayed,
    )

    def send(delivery: dict[str, Any]) -> dict[str, Any]:
        if delivery.get("report") is None:
            return {"messageId": enqueue(_delivery_of(delivery))}
        # Imported here: only status callbacks need the notifications capability.
        from chalicelib.notifications.service import apply_status

        report = delivery["report"]
        if apply_status(report["provider"], report["providerMessageId"], report["status"], report.get("error")):
            return {"applied": True}
        otherwise = report.get("otherwise")
        return {"applied": False, "messageId": enqueue(_delivery_of(otherwise)) if otherwise else None}

    decorate = idempotent_function(
        data_keyword_argument="delivery", persistence_store=layer, config=config, key_prefix=provider
    )
    record_and_send = cast("Callable[..., dict[str, Any]]", decorate(send))
    return record_and_send, config


def deliver_once(provider: str, delivery: Delivery | StatusReport, context: Any = None) -> Receipt:
    """Record ``delivery.key`` for ``provider`` and hand it on (enqueue it, or apply the status report), unless
    it was recorded before.

    ``context`` (the Lambda context) bounds how long an in-flight record blocks redeliveries if the function
    dies mid-way. Raises ``DependencyUnavailable`` when the table or the queue cannot be reached (nothing is
    left recorded then).
    """
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    record_and_send, config = _recorder(provider, _shard(delivery.key))
    if context is not None:
        config.register_lambda_context(context)
    if isinstance(delivery, StatusReport):
        report = {
            "provider": delivery.provider,
            "providerMessageId": delivery.provider_message_id,
            "status": delivery.status,
            "error": delivery.error,
            "otherwise": _payload(delivery.otherwise) if delivery.otherwise else None,
        }
        payload: dict[str, Any] = {"key": delivery.key, "report": report}
    else:
        payload = _payload(delivery)
    try:
        result = record_and_send(delivery=payload)
    except IdempotencyAlreadyInProgressError:
        # A twin delivery is sending it right now; if that one fails, it answers 5xx and the provider retries.
        return Receipt(duplicate=True)
    except IdempotencyPersistenceLayerError as exc:
        raise DependencyUnavailable(detail="the webhook record could not be written") from exc
    return Receipt(
        duplicate=bool(result.get("duplicate")),
        message_id=result.get("messageId"),
        applied=bool(result.get("applied")),
    )
