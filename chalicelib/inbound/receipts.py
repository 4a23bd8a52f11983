"""Each incoming event is recorded and handed on once: a receipt on our table, keyed by the provider's own id (a
``wamid``, a Stripe event id, …; prefixed with the tenant where a tenant may sign with a secret of its own, so one
cannot claim another's event id first), and an SQS message to the capability that handles it (``Delivery``), or, for a
delivery report, the notifications' ``apply_status`` (``StatusReport``).

Providers redeliver (Meta for hours, after any non-200) and may deliver the same event several times at once. The
receipt is one conditional write (``attribute_not_exists``, or a receipt whose ``inFlightUntil`` has passed): of
concurrent deliveries one wins and answers ``recorded``, the others ``duplicates``. On the webhook's path (issue 20:
each provider function within 1.3 times a bare SendMessage) the receipt (with the job a ``Delivery`` keeps in the
table, in one transaction) and the SendMessage (for a ``StatusReport``: applying it, which only moves a notification
forward, so a twin's apply changes nothing) go at once, in two threads, and the 200 comes only after both:

- A twin's send changes nothing: SQS drops a second FIFO message with the same deduplication id within five minutes,
  and every consumer does its work once whatever the queue hands it (below).
- A trigger that outruns the job it keeps (or comes without it, when the write failed) carries the job in its own
  body: the conversation's worker does it from there (``conversations.worker``).
- If either fails, the receipt (and the kept job) is taken back and the error becomes a 5xx, so the provider's
  retry gets another chance. If even that fails, or the function dies mid-way, the receipt stops counting once
  ``inFlightUntil`` (the invocation's deadline) has passed: a later retry hands the event on again.

Before any of that, each container remembers the keys it handed on for five minutes (SQS FIFO's deduplication
interval): a twin or quick retry that reaches the same container is answered at once, with no AWS call (the key is
forgotten if its hand-on failed).

So the receipt covers twins and quick retries, not every later redelivery: the durable once is each consumer's own
conditional write of the provider's id (a WhatsApp message recorded once by its ``wamid``, a Bitrix24 operator
message by its id, a payment event applied once by its event id, a delivery report moving a status forward only).

Receipts live under ``INBOUND#<provider>#<shard>`` (``core.db.keys.inbound_receipts_pk``), outside every tenant,
with ``<provider>#<sha256 of the key>`` as sort key and our TTL attribute (7 days).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import aws
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, delete_op, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from chalicelib.core.errors import Conflict, DependencyUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.resources import QUEUES, QueueKind, queue_name, queue_url

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
RECEIPT_ENTITY = "InboundReceipt"
# How long a receipt holds twins off when the function has no Lambda context to tell its deadline (a function's
# timeout, infra's BundleFunctions.add).
DEFAULT_IN_FLIGHT_MS = 30_000
_IN_FLIGHT = "inFlightUntil"
# How long a container remembers a key it handed on (SQS FIFO's deduplication interval), and how many at most.
RECENT_TTL_S = 300.0
_MAX_RECENT = 10_000
_recent: dict[str, float] = {}
_recent_lock = threading.Lock()
T = TypeVar("T")


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
    # The provider account that vouched for the report (a Twilio AccountSid, a Meta phone number id): it may change
    # only the messages it sent.
    sent_by: str | None = None
    # The tenant that account belongs to: it may change that tenant's notifications alone (None: BTRIX's own account).
    tenant_id: str | None = None


@dataclass(frozen=True)
class Receipt:
    """The outcome: ``duplicate`` when a live receipt of this event existed (a twin or a quick retry: the first
    delivery does the work, this one's send, if any, changes nothing); ``applied`` when a status report changed a
    notification."""

    duplicate: bool
    message_id: str | None = None
    applied: bool = False


def _is_fifo(kind: QueueKind) -> bool:
    return next(q for q in QUEUES if q.kind == kind).fifo


def _send(delivery: Delivery) -> str:
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


def enqueue(delivery: Delivery) -> str:
    """Send ``delivery`` to its queue (group and deduplication ids on FIFO queues), after writing the item it keeps;
    returns the message id."""
    if delivery.keep is not None:
        try:
            Table().put(delivery.keep)
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable(detail="the job could not be kept in the table") from exc
    return _send(delivery)


def _shard(key: str) -> int:
    return zlib.crc32(key.encode()) % RECEIPT_SHARDS


def receipt_item_key(provider: str, key: str) -> tuple[str, str]:
    """(PK, SK) of the receipt of ``key``: ``<provider>#<sha256 of the JSON key>`` in one of the provider's shards."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return keys.inbound_receipts_pk(provider, _shard(key)), keys.inbound_receipt_sk(provider, digest)


def _in_flight_ms(context: Any) -> int:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if callable(remaining) else DEFAULT_IN_FLIGHT_MS


class _Claim:
    """The receipt of one event (with the job its delivery keeps): written if no live receipt holds the key, and
    taken back if handing the event on failed."""

    def __init__(self, provider: str, key: str, keep: Mapping[str, Any] | None, context: Any) -> None:
        now_ms = int(time.time() * 1000)
        self.pk, self.sk = receipt_item_key(provider, key)
        self.receipt = {
            PARTITION_KEY: self.pk,
            SORT_KEY: self.sk,
            ENTITY: RECEIPT_ENTITY,
            "status": "COMPLETED",
            _IN_FLIGHT: now_ms + _in_flight_ms(context),
            TTL_ATTRIBUTE: now_ms // 1000 + RECEIPT_TTL_S,
        }
        self.now_ms = now_ms
        self.keep = keep

    def write(self) -> bool:
        """Write the receipt (and the kept job, in one transaction); False when a live receipt holds the key."""
        expired = Attr(_IN_FLIGHT).lt(self.now_ms)
        table = Table()
        try:
            if self.keep is None:
                table.put_new(self.receipt, unless=expired)
            else:
                free = Attr(PARTITION_KEY).not_exists() | expired
                table.transact([put_op(self.receipt, condition=free), put_op(self.keep, must_not_exist=False)])
        except Conflict:  # a live receipt, or a twin's transaction writing it right now
            return False
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable(detail="the webhook record could not be written") from exc
        return True

    def take_back(self) -> None:
        """Delete the receipt (and the kept job): the provider's retry will hand the event on again. If this fails
        too, the receipt stops counting once its ``inFlightUntil`` has passed."""
        ops = [delete_op(self.pk, self.sk)]
        if self.keep is not None:
            ops.append(delete_op(str(self.keep[PARTITION_KEY]), str(self.keep[SORT_KEY])))
        try:
            Table().transact(ops)
        except (BotoCoreError, ClientError, DependencyUnavailable):
            logger.warning("webhook record not taken back", extra={"receipt": self.sk})


@cache
def _recorder() -> ThreadPoolExecutor:
    """The threads the receipt's write runs in beside SendMessage (kept: starting one per call costs more)."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="inbound-receipt")


def _beside_write(claim: _Claim, call: Callable[[], T]) -> tuple[bool, T]:
    """``call()`` in this thread while the receipt is written in a kept one; (whether the receipt was written, what
    ``call`` returned), once both are done. The receipt is taken back if ``call`` fails."""
    # The call runs here at once, not held up by waking a thread: it is usually the slower of the two.
    writing = _recorder().submit(claim.write)
    done = False
    try:
        result = call()
        done = True
    finally:
        # Whatever stopped the call (it propagates), the receipt must not claim the event.
        if not done and _written(writing):
            claim.take_back()
    return writing.result(), result  # waits for the write: the answer comes after both


def _hand_on(claim: _Claim, delivery: Delivery) -> Receipt:
    # The receipt and the send need not wait for each other (see the module's docstring): both at once.
    written, message_id = _beside_write(claim, lambda: _send(delivery))
    return Receipt(duplicate=False, message_id=message_id) if written else Receipt(duplicate=True)


def _written(writing: Future[bool]) -> bool:
    try:
        return writing.result()
    except DependencyUnavailable:
        return False


def _report(claim: _Claim, report: StatusReport) -> Receipt:
    # Imported here: only status callbacks need the notifications capability (its status reports alone).
    from chalicelib.notifications.status import apply_status

    # The receipt and the report at once too: a report only moves its notification forward, under a condition, so
    # applying it twice (a twin, or a delivery whose receipt is taken back) changes nothing the second time.
    written, applied = _beside_write(
        claim,
        lambda: apply_status(
            report.provider,
            report.provider_message_id,
            report.status,
            report.error,
            sent_by=report.sent_by,
            tenant_id=report.tenant_id,
        ),
    )
    otherwise = report.otherwise
    if not written:
        return Receipt(duplicate=True)
    if applied or otherwise is None:
        return Receipt(duplicate=False, applied=applied)
    done = False
    try:
        receipt = Receipt(duplicate=False, message_id=_send(otherwise))
        done = True
    finally:
        if not done:
            claim.take_back()
    return receipt


def _remember(name: str) -> bool:
    """Note that this container is handing ``name`` on; False when it already did within ``RECENT_TTL_S``."""
    now = time.monotonic()
    with _recent_lock:
        until = _recent.get(name)
        if until is not None and until > now:
            return False
        if len(_recent) >= _MAX_RECENT:
            for stale in [k for k, v in _recent.items() if v <= now] or list(_recent)[: _MAX_RECENT // 2]:
                del _recent[stale]
        _recent[name] = now + RECENT_TTL_S
        return True


def _forget(name: str) -> None:
    with _recent_lock:
        _recent.pop(name, None)


def deliver_once(provider: str, delivery: Delivery | StatusReport, context: Any = None) -> Receipt:
    """Record ``delivery.key`` for ``provider`` and hand it on (enqueue it, or apply the status report), unless a
    live receipt of it exists.

    ``context`` (the Lambda context) sets how long the receipt holds twins off if the function dies mid-way (its
    deadline). Raises ``DependencyUnavailable`` when the table or the queue cannot be reached (the receipt is taken
    back then).
    """
    name = f"{provider}\n{delivery.key}"
    if not _remember(name):
        return Receipt(duplicate=True)
    done = False
    try:
        if isinstance(delivery, StatusReport):
            receipt = _report(_Claim(provider, delivery.key, None, context), delivery)
        else:
            receipt = _hand_on(_Claim(provider, delivery.key, delivery.keep, context), delivery)
        done = True
    finally:
        if not done:
            _forget(name)
    return receipt
