"""The gateway's queue consumers: each job of the conversation FIFO queue and of the ``bitrix24-outbound`` FIFO
queue handed to its module, and what a failure does to the message it is about.

- ``whatsapp-inbound`` (one group per conversation, ``conversations.jobs``): received messages
  (``conversations.inbound``), Meta statuses (``conversations.statuses``), sends (``conversations.outbound``) and
  notifications to keep (``conversations.mirror``).
- ``bitrix24-outbound`` (group = portal + chat): Bitrix24 events. Install and uninstall go to the channels
  capability (``channels.install``); operators' messages are recorded and become send jobs in their
  conversation's group.

Provider outages (5xx, 429, ``QUERY_LIMIT_EXCEEDED``, Meta 130429, timeouts) and unreachable dependencies are
retried by the queue helper (``core.batch``) with exponential backoff; after the queue's last attempt the message
is marked ``failed`` with the reason (``GET /conversations/{id}/messages`` shows it, the channel's ``lastError``
too) and SQS moves the job to the DLQ; ``POST /conversations/{id}/messages/{messageId}/retry`` or the redrive
command sends it again. Errors a retry cannot fix fail the message at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.channels import service as channels
from chalicelib.channels.install import handle_portal_event
from chalicelib.conversations import jobs, openlines, store
from chalicelib.conversations.inbound import inbound_message, relay_inbound
from chalicelib.conversations.metrics import emit
from chalicelib.conversations.mirror import keep_notification
from chalicelib.conversations.outbound import record_operator_messages, send_outbound
from chalicelib.conversations.statuses import apply_status
from chalicelib.core import clock
from chalicelib.core.batch import Backoff, Job, RetryLater, consume
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.errors import DependencyUnavailable, NotFound
from chalicelib.core.observability import logger
from chalicelib.core.resources import QueueKind
from chalicelib.integrations.http import ProviderError, app_error

__all__ = ["handle_bitrix_batch", "handle_bitrix_event", "handle_conversation_batch"]

_JOBS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    jobs.STATUS_JOB: apply_status,
    jobs.SEND_JOB: send_outbound,
    jobs.NOTIFICATION_JOB: keep_notification,
}


def _conversation_job(body: Mapping[str, Any], last_attempt: bool) -> None:
    if body.get("type") == jobs.MESSAGE_JOB:  # at its last attempt, a customer's message goes without its file
        relay_inbound(body, last_attempt=last_attempt)
        return
    handle = _JOBS.get(str(body.get("type")))
    if handle is None:
        logger.warning("unknown conversation job", extra={"type": body.get("type")})
        return
    handle(body)


def handle_bitrix_event(body: Mapping[str, Any]) -> None:
    """One Bitrix24 event from the bitrix24-outbound queue."""
    event = str(body.get("event") or "")
    if event in ("ONAPPINSTALL", "ONAPPUNINSTALL"):
        handle_portal_event(dict(body))
    elif event == "ONIMCONNECTORMESSAGEADD":
        record_operator_messages(body)
    else:
        logger.info("bitrix24 event ignored", extra={"event": event})


def _fail_message(body: Mapping[str, Any], error: str) -> None:
    """Mark the message a job was about as failed, with the reason (visible in its conversation)."""
    tenant_id = str(body.get("tenantId") or "")
    with tenant_scope(tenant_id):
        if body.get("type") == jobs.SEND_JOB:
            record = store.get_message(tenant_id, str(body["conversationId"]), str(body["messageId"]), consistent=True)
        elif body.get("type") == jobs.MESSAGE_JOB:
            record = inbound_message(body)
        else:
            return
        if record is None:
            return
        at = clock.now_iso()
        store.update_message(record, {"status": "failed", "error": error[:1000], "updatedAt": at})
        conversation = store.get_conversation(tenant_id, record.conversation_id)
        if conversation is not None:
            channels.record_activity(tenant_id, conversation.channel_id, error=error[:500])
            emit("RelayFailures", conversation.channel_id)
            if record.direction == "out" and record.status == "queued":  # never sent: the operators must know
                text = f"[b]BTRIX[/b]: this message did not reach the customer on WhatsApp: {error[:500]}"
                openlines.tell_operator(conversation, conversation.portal_id, text)
    logger.warning("message failed", extra={"message_id": record.id, "error": error[:200]})


Handle = Callable[[Mapping[str, Any], bool], None]


def _run(job: Job, handle: Handle) -> None:
    """Run one job: a failure that later may fix is retried (``RetryLater``), one that it cannot fails the message
    at once; anything else is left to the queue's redelivery."""
    body = json.loads(job.body)
    try:
        handle(body, job.last_attempt)
    except jobs.Unrelayable as exc:
        _fail_message(body, str(exc))
    except (ProviderError, DependencyUnavailable, NotFound) as exc:
        error = app_error(exc) if isinstance(exc, ProviderError) else exc
        if isinstance(error, DependencyUnavailable):  # an outage: later may work
            raise RetryLater(str(exc)) from exc
        _fail_message(body, str(exc))


def _give_up(job: Job, exc: RetryLater) -> None:
    _fail_message(json.loads(job.body), f"gave up after {job.attempt} attempts: {exc}")


def _consume(event: dict[str, Any], queue: QueueKind, handle: Handle) -> dict[str, Any]:
    settings = get_settings()
    return consume(
        event,
        lambda job: _run(job, handle),
        queue=queue,
        backoff=Backoff(settings.relay_retry_base_s, settings.relay_retry_max_s),
        give_up=_give_up,
    )


def handle_conversation_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The conversation FIFO queue's consumer (WhatsApp messages and statuses, sends, notifications to keep)."""
    return _consume(event, QueueKind.WHATSAPP_INBOUND, _conversation_job)


def handle_bitrix_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The bitrix24-outbound queue's consumer (Bitrix24 events)."""
    return _consume(event, QueueKind.BITRIX24_OUTBOUND, lambda body, _: handle_bitrix_event(body))
