"""The gateway's queue consumers: each job of the conversation FIFO queue and of the ``bitrix24-outbound`` FIFO
queue handed to its module, and what a failure does to the message it is about.

- ``whatsapp-inbound`` (one group per conversation, ``conversations.jobs``): received messages
  (``conversations.inbound``), Meta statuses (``conversations.statuses``), sends (``conversations.outbound``) and
  notifications to keep (``conversations.mirror``).
- ``bitrix24-outbound`` (group = portal + chat): Bitrix24 events. Install and uninstall go to the channels
  capability (``channels.install``); operators' messages are recorded and become send jobs in their
  conversation's group.

A received message or a message to send is kept among its conversation's pending jobs (``jobs``); its queue
message is a trigger: ``_drain`` does the conversation's pending jobs oldest first, whichever trigger comes, so the
order holds whatever the queue does. Provider outages (5xx, 429, ``QUERY_LIMIT_EXCEEDED``, Meta 130429, timeouts)
and unreachable dependencies are retried by the queue helper (``core.batch``) with exponential backoff (the
conversation's held-back triggers wait as long, no longer); the attempts are counted on the pending job (queue
receives count held-back triggers too). After ``relay_max_attempts`` the message is marked ``failed`` with the
reason (``GET /conversations/{id}/messages`` shows it, the channel's ``lastError`` too, the operators read it in
the chat), the job goes to the DLQ and the conversation's next message goes on; ``POST
/conversations/{id}/messages/{messageId}/retry`` or the redrive command sends it again. Errors a retry cannot fix
fail the message at once. The queue's own ``maxReceiveCount`` is a safety net behind that (``_queue_gave_up``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.channels import service as channels
from chalicelib.channels.install import handle_portal_event
from chalicelib.conversations import jobs, openlines, store
from chalicelib.conversations.inbound import inbound_message, relay_inbound
from chalicelib.conversations.metrics import emit
from chalicelib.conversations.mirror import keep_notification
from chalicelib.conversations.outbound import hand_back_finished_dialogs, record_operator_messages, send_outbound
from chalicelib.conversations.statuses import apply_status
from chalicelib.core import clock
from chalicelib.core.batch import Backoff, Job, RetryLater, consume
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.errors import AppError, DependencyUnavailable, NotFound
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
    elif event == "ONIMCONNECTORDIALOGFINISH":  # the operator closed the chat: a shop assistant takes it back
        hand_back_finished_dialogs(body)
    else:
        logger.info("bitrix24 event ignored", extra={"event": event})


def _fail_message(body: Mapping[str, Any], error: str) -> None:
    """Mark the message a job was about as failed, with the reason (visible in its conversation), and tell the
    operators in the Open Lines chat (best effort: Bitrix24 may be what failed). A message that already reached the
    other side (sent, relayed) keeps its status: the reason is noted on it."""
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
        if record.status not in ("received", "queued", "failed"):
            # It reached the other side; what failed came after (a delivery report): noted, not a failed message.
            store.update_message(record, {"error": error[:1000], "updatedAt": at})
            logger.warning("message step failed", extra={"message_id": record.id, "error": error[:200]})
            return
        store.update_message(record, {"status": "failed", "error": error[:1000], "updatedAt": at})
        conversation = store.get_conversation(tenant_id, record.conversation_id)
        if conversation is not None:
            channels.record_activity(tenant_id, conversation.channel_id, error=error[:500])
            emit("RelayFailures", conversation.channel_id)
            if record.direction == "out" and record.status == "queued":  # never sent: the operators must know
                text = f"[b]BTRIX[/b]: this message did not reach the customer on WhatsApp: {error[:500]}"
                openlines.tell_operator(conversation, conversation.portal_id, text)
            elif record.direction == "in":
                text = f"[b]BTRIX[/b]: a message of the customer could not be relayed here: {error[:500]}"
                openlines.tell_operator(conversation, conversation.portal_id, text)
    logger.warning("message failed", extra={"message_id": record.id, "error": error[:200]})


Handle = Callable[[Mapping[str, Any], bool], None]
# Pending jobs read at a time by a trigger.
_PAGE = 25


def _attempt(body: Mapping[str, Any], handle: Handle, last_attempt: bool) -> None:
    """One attempt of one job: a failure that later may fix is retried (``RetryLater``), one that it cannot fails
    the message at once; anything else is left to the queue's redelivery."""
    try:
        handle(body, last_attempt)
    except jobs.Unrelayable as exc:
        _fail_message(body, str(exc))
    except (ProviderError, DependencyUnavailable, NotFound) as exc:
        error = app_error(exc) if isinstance(exc, ProviderError) else exc
        if isinstance(error, DependencyUnavailable):  # an outage: later may work
            raise RetryLater(str(exc)) from exc
        _fail_message(body, str(exc))


def _give_up(queue: QueueKind, group_id: str, body: Mapping[str, Any], attempts: int, exc: RetryLater) -> None:
    """A job failed its last attempt: its message failed (the operators told) and the job in the queue's DLQ."""
    _fail_message(body, f"gave up after {attempts} attempts: {exc}")
    jobs.dead_letter(queue, group_id, body)


def _drain(tenant_id: str, conversation_id: str, handle: Handle) -> set[str]:
    """Do the conversation's pending jobs, oldest first, until none is left; a job that may work later stops the
    conversation for its backoff (``RetryLater`` with its own attempts), and one that failed all its attempts is
    given up and the next one goes on. Returns the ids of the pending jobs it did (or gave up)."""
    limit = get_settings().relay_max_attempts
    drained: set[str] = set()
    with tenant_scope(tenant_id):
        more = True
        while more:
            pending = store.pending_jobs(tenant_id, conversation_id, limit=_PAGE)
            # A job kept after this read has a trigger of its own: a short page is the whole backlog.
            more = len(pending) == _PAGE
            for job in pending:
                body = json.loads(job.job)
                try:
                    _attempt(body, handle, job.attempts + 1 >= limit)
                except (RetryLater, AppError, ClientError, BotoCoreError) as exc:
                    # An unexpected refusal or table error counts too: a job that keeps failing must not hold its
                    # conversation back for good (it is logged with its traceback, then given up like an outage).
                    if not isinstance(exc, RetryLater):
                        logger.exception("conversation job failed", extra={"pending_id": job.id})
                    attempts = store.note_pending_attempt(job)
                    if attempts < limit:
                        raise RetryLater(str(exc), attempt=attempts) from exc
                    _give_up(QueueKind.WHATSAPP_INBOUND, job.group, body, attempts, RetryLater(str(exc)))
                store.drop_pending(job)
                drained.add(job.id)
    return drained


def _outran_its_job(body: Mapping[str, Any], drained: set[str]) -> bool:
    """Whether a received message's trigger came before the job the webhook kept for it (the webhook writes the job
    and sends the trigger at once, ``inbound.receipts``), or without it (that write failed): not done here, and its
    message not recorded by an earlier trigger."""
    if body.get("type") != jobs.MESSAGE_JOB or str(body["pending"]) in drained:
        return False
    with tenant_scope(str(body["tenantId"])):
        return inbound_message(body) is None


def _run(job: Job, queue: QueueKind, handle: Handle) -> None:
    """Run one queue message: the trigger of its conversation's pending jobs, or a job of its own (a retry, a
    redriven job, a status, a notification to keep), given up after the relay's attempts (queue receives)."""
    body = json.loads(job.body)
    if body.get("pending") and body.get("conversationId"):
        drained = _drain(str(body["tenantId"]), str(body["conversationId"]), handle)
        if not _outran_its_job(body, drained):
            return
        # The trigger carries the whole job: done from it, after everything kept before it (recorded once by its
        # wamid, so the kept job, when it lands, finds it done).
    limit = get_settings().relay_max_attempts
    try:
        _attempt(body, handle, job.attempt >= limit)
    except RetryLater as exc:
        group_id = job.record.attributes.message_group_id
        if job.attempt < limit or group_id is None:
            raise
        _give_up(queue, group_id, body, job.attempt, exc)


def _queue_gave_up(job: Job, exc: RetryLater) -> None:
    """The queue's own last attempt (a safety net behind the relay's attempts): the message the job is about is
    marked failed, or, for a trigger, the conversation's first pending job, and the rest is triggered again."""
    body = json.loads(job.body)
    if not (body.get("pending") and body.get("conversationId")):
        _fail_message(body, f"gave up after {job.attempt} attempts: {exc}")
        return
    tenant_id = str(body["tenantId"])
    with tenant_scope(tenant_id):
        pending = store.pending_jobs(tenant_id, str(body["conversationId"]), limit=2)
        if pending:
            _give_up(QueueKind.WHATSAPP_INBOUND, pending[0].group, json.loads(pending[0].job), job.attempt, exc)
            store.drop_pending(pending[0])
        if len(pending) > 1:
            jobs.queue_trigger(pending[1])


def _consume(event: dict[str, Any], queue: QueueKind, handle: Handle) -> dict[str, Any]:
    settings = get_settings()
    return consume(
        event,
        lambda job: _run(job, queue, handle),
        queue=queue,
        backoff=Backoff(settings.relay_retry_base_s, settings.relay_retry_max_s),
        give_up=_queue_gave_up,
    )


def handle_conversation_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The conversation FIFO queue's consumer (WhatsApp messages and statuses, sends, notifications to keep)."""
    return _consume(event, QueueKind.WHATSAPP_INBOUND, _conversation_job)


def handle_bitrix_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The bitrix24-outbound queue's consumer (Bitrix24 events)."""
    return _consume(event, QueueKind.BITRIX24_OUTBOUND, lambda body, _: handle_bitrix_event(body))
