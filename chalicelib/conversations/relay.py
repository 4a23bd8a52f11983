"""The gateway's workers: WhatsApp → Bitrix24, Bitrix24 (and BTRIX agents) → WhatsApp, and delivery statuses.

Two queues feed them:

- the conversation FIFO queue (``whatsapp-inbound``), group = ``<phone number id>:<wa_id>``: WhatsApp messages
  and statuses (from the Meta function) and ``conversation.send`` jobs (an operator's or an agent's message to
  send). One conversation is handled one message at a time, in order, in both directions; a failing message holds
  its conversation back (its group) and nothing else.
- the ``bitrix24-outbound`` FIFO queue (group = portal + chat): Bitrix24 events. Install and uninstall go to the
  channels capability; each operator message (``ONIMCONNECTORMESSAGEADD``) is recorded in its conversation and
  becomes a ``conversation.send`` job in the conversation's group.

Every step is idempotent on the message: it is recorded once per provider id (a reference item named by the
wamid or the Bitrix24 message id, created on condition in the message's transaction), and each step checks the
status it moves from, so a redelivered queue message re-does only what did not finish. Provider outages (5xx,
429, ``QUERY_LIMIT_EXCEEDED``, Meta 130429, timeouts) are retried with exponential backoff (the message is hidden,
``ChangeMessageVisibility``); after the queue's last attempt the message is marked ``failed`` with the reason
(``GET /conversations/{id}/messages`` shows it) and SQS moves the job to the DLQ;
``POST /conversations/{id}/messages/{messageId}/retry`` or the redrive command sends it again. Errors a retry
cannot fix fail the message at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from chalicelib.channels import service as channels
from chalicelib.channels.tokens import portal_call
from chalicelib.conversations import formatting, store
from chalicelib.conversations.models import ConversationRecord, MessageRecord, StoredFile
from chalicelib.core import clock
from chalicelib.core.batch import full_jitter, hide_record, process_sqs_batch
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table, TransactionConflict, change_op, tenant_scope
from chalicelib.core.errors import AppError, DependencyUnavailable, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.observability import MetricUnit, logger
from chalicelib.core.resources import QUEUES, QueueKind
from chalicelib.inbound.receipts import Delivery, enqueue
from chalicelib.integrations.bitrix24.rest import Bitrix24Error
from chalicelib.integrations.meta import graph
from chalicelib.integrations.meta.graph import MetaApiError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.channels.models import WhatsAppChannelRecord

__all__ = [
    "MAX_ATTEMPTS",
    "SEND_JOB",
    "WINDOW",
    "handle_bitrix_batch",
    "handle_conversation_batch",
    "inbound_message",
    "mirror_notification",
    "queue_send",
    "relay_inbound",
    "send_outbound",
]

WINDOW = timedelta(hours=24)
SEND_JOB = "conversation.send"
MAX_ATTEMPTS = next(q.max_receive_count for q in QUEUES if q.kind is QueueKind.WHATSAPP_INBOUND)
_STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
_MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio"}


class RetryLater(Exception):
    """Reports a queue message as failed so that SQS delivers it again (after its backoff)."""


class Unrelayable(Exception):
    """A message that cannot be relayed and that retrying will not help (it fails at once)."""


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, (MetaApiError, Bitrix24Error)):
        return bool(exc.retryable)
    return isinstance(exc, DependencyUnavailable)


def _metric(name: str, channel_id: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One EMF metric with the channel as its dimension (the per-channel dashboard widgets read them); none while
    ``POWERTOOLS_METRICS_DISABLED`` is true, as for the app's other metrics (``single_metric`` ignores it)."""
    from aws_lambda_powertools.metrics import single_metric
    from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

    if resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_METRICS_DISABLED", "false")):
        return
    with single_metric(
        name=name, unit=unit, value=value, namespace="BTRIX", default_dimensions={"service": "btrix"}
    ) as metric:
        metric.add_dimension(name="channelId", value=channel_id)


def _at(value: str | int | None) -> datetime:
    if value is None or value == "":
        return clock.now()
    if isinstance(value, int) or str(value).isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _window_open(conversation: ConversationRecord, now: datetime) -> bool:
    if conversation.last_inbound_at is None:
        return False
    return now - _at(conversation.last_inbound_at) < WINDOW


def _group(conversation: ConversationRecord) -> str:
    return f"{conversation.phone_number_id}:{conversation.wa_id}"


# --- WhatsApp → Bitrix24 ----------------------------------------------------------------------------------------


def _files_of(message: Mapping[str, Any]) -> list[StoredFile]:
    kind = str(message.get("type") or "")
    if kind not in formatting.MEDIA_TYPES:
        return []
    media = message.get(kind) or {}
    return [
        StoredFile(
            kind=kind,
            mime_type=media.get("mime_type"),
            filename=media.get("filename"),
            caption=media.get("caption"),
            media_id=media.get("id"),
        )
    ]


def _inbound_sent_at(body: Mapping[str, Any]) -> datetime:
    """When the customer wrote: the message's own timestamp (or when Meta's webhook was received)."""
    return _at(body["message"].get("timestamp") or body.get("receivedAt"))


def _conversation_of(
    channel: WhatsAppChannelRecord, wa_id: str, last_message_at: str, now: str, contact_name: str | None = None
) -> ConversationRecord:
    """The conversation of the number with ``wa_id``: the stored one, or a new one created now."""
    return store.create_conversation(
        ConversationRecord(
            id=store.conversation_id(channel.id, wa_id),
            tenant_id=channel.tenant_id,
            channel_id=channel.id,
            phone_number_id=channel.phone_number_id,
            wa_id=wa_id,
            contact_name=contact_name,
            portal_id=channel.portal_id,
            last_message_at=last_message_at,
            created_at=now,
        )
    )


def inbound_message(body: Mapping[str, Any]) -> MessageRecord | None:
    """The message recorded for a received WhatsApp message job, or None when none was recorded yet."""
    conversation = store.conversation_id(str(body["channelId"]), str(body["waId"]))
    return store.find_provider_message(str(body["tenantId"]), conversation, str(body["message"]["id"]))


def _received(body: Mapping[str, Any], channel: WhatsAppChannelRecord) -> tuple[ConversationRecord, MessageRecord]:
    """The conversation and the message record of a received WhatsApp message, created on first sight together
    with the conversation's counters and the ``message.received`` event (one transaction)."""
    message: Mapping[str, Any] = body["message"]
    wa_id = str(body["waId"])
    wamid = str(message["id"])
    sent_at = _inbound_sent_at(body)
    at = clock.now()
    now = clock.isoformat(at)
    conversation = _conversation_of(channel, wa_id, clock.isoformat(sent_at), now, body.get("contactName"))
    record = MessageRecord(
        id=store.message_id(at, wamid),
        tenant_id=channel.tenant_id,
        conversation_id=conversation.id,
        direction="in",
        source="whatsapp",
        type=str(message.get("type") or "text"),
        text=formatting.inbound_text(message),
        files=_files_of(message),
        status="received",
        wamids=[wamid],
        external_id=wamid,
        sent_at=clock.isoformat(sent_at),
        created_at=now,
        updated_at=now,
    )
    event = new_event(
        "message.received",
        channel.tenant_id,
        {"conversationId": conversation.id, "channelId": channel.id, "messageId": record.id, "type": record.type},
        subject=conversation.id,
    )
    later = max(record.sent_at, conversation.last_inbound_at or "")
    change = change_op(
        *store.conversation_key(channel.tenant_id, conversation.id),
        add={"messagesIn": 1},
        set_={
            "lastInboundAt": later,
            **({"contactName": body["contactName"]} if body.get("contactName") else {}),
            **store.moved_to(conversation, record.sent_at),
        },
    )
    record, created = store.record_provider_message(record, wamid, [change, event_put_op(event)])
    _note_inbound(channel, wa_id, sent_at)  # again on a redelivery: a crash may have come between the two
    if not created:
        return conversation, record
    _metric("MessagesIn", channel.id)
    named = {"contact_name": body["contactName"]} if body.get("contactName") else {}
    return conversation.model_copy(update={"last_inbound_at": later, **named}), record


def _note_inbound(channel: WhatsAppChannelRecord, wa_id: str, sent_at: datetime) -> None:
    """The customer wrote at ``sent_at``: the number's health, and the 24-hour window that the notifications'
    WhatsApp channel follows too (both idempotent)."""
    from chalicelib.notifications.service import record_inbound

    record_inbound(channel.tenant_id, f"+{wa_id}", sent_at)
    channels.record_activity(channel.tenant_id, channel.id, inbound_at=clock.isoformat(sent_at))


def _bitrix_contact(conversation: ConversationRecord, portal_id: str) -> str:
    """The Bitrix24 CRM contact of the customer: found by phone, else created (once per conversation)."""
    if conversation.bitrix_contact_id:
        return conversation.bitrix_contact_id
    phone = f"+{conversation.wa_id}"
    found = portal_call(
        conversation.tenant_id,
        portal_id,
        "crm.duplicate.findbycomm",
        {"entity_type": "CONTACT", "type": "PHONE", "values": [phone]},
    )
    ids = found.get("CONTACT") if isinstance(found, dict) else None
    if ids:
        contact_id = str(ids[0])
    else:
        fields = {
            "NAME": conversation.contact_name or phone,
            "PHONE": [{"VALUE": phone, "VALUE_TYPE": "MOBILE"}],
            "SOURCE_ID": "WHATSAPP",
            "OPENED": "Y",
        }
        contact_id = str(portal_call(conversation.tenant_id, portal_id, "crm.contact.add", {"fields": fields}))
    store.update_conversation(conversation, set_={"bitrixContactId": contact_id})
    return contact_id


def _keep_media(record: MessageRecord, number: graph.MetaNumber) -> MessageRecord:
    """Each media of the message fetched from Meta (its links expire) and kept in our bucket, the object keys noted
    on the message; files already kept (a retry) are not fetched again."""
    from chalicelib.conversations.media import store_media

    if all(f.storage_key or not f.media_id for f in record.files):
        return record
    files = []
    for file in record.files:
        if file.media_id and not file.storage_key:
            media = graph.fetch_media(number, file.media_id)
            key = store_media(record.tenant_id, record.conversation_id, record.id, media)
            file = file.model_copy(
                update={
                    "storage_key": key,
                    "filename": file.filename or media.filename,
                    "mime_type": file.mime_type or media.mime_type,
                }
            )
        files.append(file)
    changes = {"files": [f.model_dump() for f in files], "updatedAt": clock.now_iso()}
    return store.update_message(record, changes) or record.model_copy(update={"files": files})


def _file_urls(record: MessageRecord) -> list[dict[str, str]]:
    """The kept files of the message as Bitrix24 takes them: presigned URLs and names."""
    from chalicelib.conversations.media import media_url

    return [{"url": media_url(f.storage_key), "name": f.filename or f.kind} for f in record.files if f.storage_key]


def _chat_id(result: Any) -> str | None:
    """The Open Lines chat id in an ``imconnector.send.messages`` answer."""
    try:
        first = result["DATA"]["RESULT"][0]
    except (KeyError, IndexError, TypeError):
        return None
    session = first.get("session") or {}
    chat = first.get("chat") or {}
    found = session.get("CHAT_ID") or chat.get("id")
    return None if found is None else str(found)


def relay_inbound(body: Mapping[str, Any]) -> None:
    """Relay one received WhatsApp message to the Open Line of the number's portal (once), and mark it read."""
    tenant_id = str(body["tenantId"])
    with tenant_scope(tenant_id):
        channel = channels.get_whatsapp_channel(tenant_id, str(body["channelId"]))
        conversation, record = _received(body, channel)
        if record.status in ("relayed", "stored"):
            return
        number = channels.meta_number(tenant_id, channel.id)
        record = _keep_media(record, number)
        if not channel.portal_id or not channel.line:
            store.update_message(record, {"status": "stored", "updatedAt": clock.now_iso()})
            return
        portal = channels.get_portal(tenant_id, channel.portal_id)
        if portal.status != "connected":
            raise Unrelayable(f"the Bitrix24 portal {portal.domain} is {portal.status}")
        contact_id = _bitrix_contact(conversation, portal.id)
        files = _file_urls(record)
        text = record.text or ""
        if files and text in {f"[{f.kind}]" for f in record.files}:
            text = ""  # a bare media placeholder adds nothing next to the file itself
        message: dict[str, Any] = {"id": record.id, "date": int(_at(record.sent_at).timestamp()), "text": text}
        if files:
            message["files"] = files
        result = portal_call(
            tenant_id,
            portal.id,
            "imconnector.send.messages",
            {
                "CONNECTOR": channels.CONNECTOR_ID,
                "LINE": channel.line,
                "MESSAGES": [
                    {
                        "user": {
                            "id": conversation.wa_id,
                            "name": conversation.contact_name or f"+{conversation.wa_id}",
                            "phone": f"+{conversation.wa_id}",
                        },
                        "message": message,
                        "chat": {"id": conversation.id},
                    }
                ],
            },
        )
        chat_id = _chat_id(result)
        now = clock.now()
        store.update_message(
            record,
            {"status": "relayed", "bitrixChatId": chat_id, "updatedAt": clock.isoformat(now), "error": None},
            from_status=["received", "failed"],
        )
        store.update_conversation(
            conversation, set_={"bitrixChatId": chat_id, "portalId": portal.id, "bitrixContactId": contact_id}
        )
        _metric(
            "RelayLatency",
            channel.id,
            (now - _at(body.get("receivedAt"))).total_seconds() * 1000,
            MetricUnit.Milliseconds,
        )
        try:
            graph.mark_read(number, str(body["message"]["id"]))
        except MetaApiError as exc:  # the customer sees no blue ticks; the message itself is relayed
            logger.warning("could not mark a message read", extra={"channel_id": channel.id, "error": str(exc)})


# --- Bitrix24 / BTRIX → WhatsApp --------------------------------------------------------------------------------


def queue_send(conversation: ConversationRecord, record: MessageRecord) -> None:
    """Put the send job of ``record`` in its conversation's FIFO group (deduplicated on the message id)."""
    enqueue(
        Delivery(
            key=record.id,
            queue=QueueKind.WHATSAPP_INBOUND,
            body={
                "type": SEND_JOB,
                "tenantId": record.tenant_id,
                "conversationId": conversation.id,
                "messageId": record.id,
                "attempt": record.attempts,
            },
            group_id=_group(conversation),
            dedup_id=f"{record.id}:{record.attempts}",
        )
    )


def _pace(tenant_id: str, channel_id: str) -> int:
    """Wait for a free slot of the number's per-second budget (Meta's 80 messages/s by default); returns the
    epoch second the slot belongs to."""
    limit = get_settings().whatsapp_sends_per_second
    for _ in range(20):
        now = time.time()
        if store.count_send(tenant_id, channel_id, int(now)) <= limit:
            return int(now)
        time.sleep(max(0.0, int(now) + 1 - now))
    raise DependencyUnavailable(detail="the number's sending budget stayed exhausted")


def _tell_operator(conversation: ConversationRecord, portal_id: str | None, text: str) -> None:
    """A system message in the Open Lines chat (what the operator must know: not sent, failed), best effort."""
    if not portal_id or not conversation.bitrix_chat_id:
        return
    try:
        portal_call(
            conversation.tenant_id,
            portal_id,
            "im.message.add",
            {"DIALOG_ID": f"chat{conversation.bitrix_chat_id}", "MESSAGE": text, "SYSTEM": "Y"},
        )
    except (Bitrix24Error, AppError) as exc:
        logger.warning("could not tell the operator", extra={"conversation_id": conversation.id, "error": str(exc)})


def _payloads(record: MessageRecord, to: str) -> list[dict[str, Any]]:
    text = formatting.bbcode_to_whatsapp(record.text or "").strip()
    payloads = [graph.text_payload(to, text)] if text else []
    for file in record.files:
        if file.link:
            kind = _MEDIA_KINDS.get(file.kind, "document")
            caption = file.caption if kind != "audio" else None  # WhatsApp shows no caption on audio
            payloads.append(graph.media_payload(to, kind, file.link, caption, file.filename))
    return payloads


def _report_delivery(conversation: ConversationRecord, record: MessageRecord, portal_id: str, line: str) -> None:
    """``imconnector.send.status.delivery`` for an operator's message (else the operator sees it undelivered)."""
    portal_call(
        record.tenant_id,
        portal_id,
        "imconnector.send.status.delivery",
        {
            "CONNECTOR": channels.CONNECTOR_ID,
            "LINE": line,
            "MESSAGES": [
                {
                    "im": {"chat_id": record.bitrix_chat_id, "message_id": record.bitrix_message_id},
                    "message": {"id": record.wamids},
                    "chat": {"id": conversation.id},
                }
            ],
        },
    )
    store.update_message(record, {"bitrixReported": True})


def _not_sent(conversation: ConversationRecord, record: MessageRecord, channel: WhatsAppChannelRecord) -> None:
    reason = (
        "not sent: the customer's last message is more than 24 hours old, so WhatsApp only accepts an approved "
        "template, and this number has none configured (PATCH /channels/{id} with a template)"
    )
    store.update_message(
        record,
        {"status": "not_sent", "error": reason, "updatedAt": clock.now_iso()},
        from_status=["queued"],
    )
    _tell_operator(conversation, channel.portal_id, f"[b]BTRIX[/b]: {reason}")
    _metric("MessagesNotSent", channel.id)


def send_outbound(body: Mapping[str, Any]) -> None:
    """Send one queued message (an operator's or an agent's) to the customer on WhatsApp, then report it back."""
    tenant_id = str(body["tenantId"])
    with tenant_scope(tenant_id):
        conversation = store.get_conversation(tenant_id, str(body["conversationId"]), consistent=True)
        record = store.get_message(tenant_id, str(body["conversationId"]), str(body["messageId"]), consistent=True)
        if conversation is None or record is None:
            logger.warning("send job for an unknown message", extra={"message_id": body.get("messageId")})
            return
        channel = channels.get_whatsapp_channel(tenant_id, conversation.channel_id)
        if record.status == "queued":
            _send(conversation, record, channel)
            record = store.get_message(tenant_id, conversation.id, record.id, consistent=True) or record
        if record.status == "sent" and channel.portal_id and channel.line:
            _after_send(conversation, record, channel.portal_id, channel.line)


def _send(conversation: ConversationRecord, record: MessageRecord, channel: WhatsAppChannelRecord) -> None:
    number = channels.meta_number(conversation.tenant_id, channel.id)
    to = conversation.wa_id
    now = clock.now()
    template = None
    if _window_open(conversation, now):
        payloads = _payloads(record, to)
    elif channel.template is not None:
        template = channel.template.name
        payloads = [graph.template_payload(to, channel.template.name, channel.template.language)]
    else:
        _not_sent(conversation, record, channel)
        return
    wamids = list(record.wamids)
    for payload in payloads[len(wamids) :]:  # a retry resumes after what was sent already
        _pace(conversation.tenant_id, channel.id)
        try:
            wamid = graph.send_message(number, payload)
        except MetaApiError as exc:
            if exc.outside_window and template is None and not wamids:
                # Meta's clock says the window closed: treat it as closed (a template, or tell the operator).
                stale = conversation.model_copy(update={"last_inbound_at": None})
                return _send(stale, record, channel)
            raise
        wamids.append(wamid)
        Table().transact([store.wamid_ref_op(conversation.tenant_id, conversation.id, wamid, record.id)])
        store.update_message(record, {"wamids": wamids})
    at = clock.now_iso()
    event = new_event(
        "message.sent",
        conversation.tenant_id,
        {"conversationId": conversation.id, "channelId": channel.id, "messageId": record.id, "type": record.type},
        subject=conversation.id,
    )
    pk, sk = store.message_key(conversation.tenant_id, conversation.id, record.id)
    try:
        Table().transact(
            [
                change_op(
                    pk,
                    sk,
                    set_={
                        "status": "sent",
                        "wamids": wamids,
                        "updatedAt": at,
                        **({"template": template} if template else {}),
                    },
                    add={"version": 1},
                    condition=Attr("status").eq("queued"),
                ),
                change_op(*store.conversation_key(conversation.tenant_id, conversation.id), add={"messagesOut": 1}),
                event_put_op(event),
            ]
        )
    except TransactionConflict:
        return
    store.update_conversation(conversation, last_message_at=at)
    channels.record_activity(conversation.tenant_id, channel.id, outbound_at=at)
    _metric("MessagesOut", channel.id)


def _after_send(conversation: ConversationRecord, record: MessageRecord, portal_id: str, line: str) -> None:
    if record.source == "bitrix24" and not record.bitrix_reported:
        _report_delivery(conversation, record, portal_id, line)
    elif record.source == "btrix" and not record.bitrix_reported and conversation.bitrix_chat_id:
        # An agent wrote from BTRIX: the operators see it in the Open Lines chat too.
        _tell_operator(conversation, portal_id, f"[b]BTRIX agent[/b]: {record.text or ''}")
        store.update_message(record, {"bitrixReported": True})


def mirror_notification(tenant_id: str, channel_id: str, wa_id: str, text: str, wamid: str) -> None:
    """A notification BTRIX sent from the number ``channel_id``: kept in the customer's conversation (``source
    notification``, ``sent``; the conversation is created when it is the first message) and shown to the operators
    in its Open Lines chat when there is one. Once per ``wamid``."""
    with tenant_scope(tenant_id):
        channel = channels.get_whatsapp_channel(tenant_id, channel_id)
        at = clock.now()
        now = clock.isoformat(at)
        conversation = _conversation_of(channel, wa_id, now, now)
        record = MessageRecord(
            id=store.message_id(at, wamid),
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            direction="out",
            source="notification",
            text=text,
            status="sent",
            wamids=[wamid],
            external_id=wamid,
            sent_at=now,
            created_at=now,
            updated_at=now,
        )
        counted = change_op(
            *store.conversation_key(tenant_id, conversation.id),
            add={"messagesOut": 1},
            set_=store.moved_to(conversation, now),
        )
        _, created = store.record_provider_message(record, wamid, [counted])
        if created:
            _tell_operator(conversation, channel.portal_id, f"[b]BTRIX notification[/b]: {text}")


# --- statuses of what we sent -------------------------------------------------------------------------------------


def apply_status(body: Mapping[str, Any]) -> None:
    """A Meta status (sent, delivered, read, failed) of a message the gateway sent: kept on the message, and
    reported to the Open Line (delivery, reading) or, for a failure, told to the operator."""
    tenant_id = str(body["tenantId"])
    status: Mapping[str, Any] = body["status"]
    state = str(status.get("status") or "")
    with tenant_scope(tenant_id):
        conversation = store.get_conversation(
            tenant_id, store.conversation_id(str(body["channelId"]), str(body["waId"]))
        )
        if conversation is None:
            return
        found = store.find_wamid(tenant_id, conversation.id, str(status["id"]))
        record = store.get_message(tenant_id, conversation.id, found, consistent=True) if found else None
        if record is None:
            logger.info("status of a message the gateway did not send", extra={"status": state})
            return
        channel = channels.get_whatsapp_channel(tenant_id, conversation.channel_id)
        at = clock.isoformat(_at(status.get("timestamp")))
        failure = graph.error_from_status(dict(status))
        if failure is not None:
            # Meta reports some refusals only here, after accepting the send (131047: the window had closed).
            reason = str(failure)
            if failure.outside_window:
                reason = f"{reason} (the customer's 24-hour window had closed: configure a template on the number)"
            store.update_message(record, {"status": "failed", "error": reason, "updatedAt": at})
            channels.record_activity(tenant_id, channel.id, error=f"WhatsApp did not deliver a message: {reason}")
            _tell_operator(
                conversation, channel.portal_id, f"[b]BTRIX[/b]: WhatsApp did not deliver the message ({reason})"
            )
            _metric("MessagesFailed", channel.id)
            return
        if _STATUS_RANK.get(state, -1) <= _STATUS_RANK.get(record.status, 0):
            return
        stamp = {"delivered": "deliveredAt", "read": "readAt"}.get(state)
        changes = {"status": state, "updatedAt": at, **({stamp: at} if stamp else {})}
        updated = store.update_message(record, changes, from_status=["sent", "delivered"])
        if updated is None or record.source != "bitrix24" or not channel.portal_id or not channel.line:
            return
        if state == "read":
            portal_call(
                tenant_id,
                channel.portal_id,
                "imconnector.send.status.reading",
                {
                    "CONNECTOR": channels.CONNECTOR_ID,
                    "LINE": channel.line,
                    "MESSAGES": [
                        {
                            "im": {"chat_id": record.bitrix_chat_id, "message_id": record.bitrix_message_id},
                            "chat": {"id": conversation.id},
                        }
                    ],
                },
            )
        elif not record.bitrix_reported:
            _report_delivery(conversation, updated, channel.portal_id, channel.line)


# --- Bitrix24 events ------------------------------------------------------------------------------------------


def _operator_files(message: Mapping[str, Any]) -> list[StoredFile]:
    files = []
    for file in message.get("files") or []:
        if not isinstance(file, Mapping):
            continue
        link = file.get("link") or file.get("downloadLink") or file.get("url")
        if not link:
            continue
        mime = str(file.get("type") or "")
        kind = mime if mime in _MEDIA_KINDS else (mime.split("/")[0] if "/" in mime else "document")
        files.append(
            StoredFile(kind=kind if kind in _MEDIA_KINDS else "document", filename=file.get("name"), link=str(link))
        )
    return files


def _operator_messages(body: Mapping[str, Any]) -> None:
    tenant_id = str(body["tenantId"])
    data = body.get("data") or {}
    if str(data.get("CONNECTOR") or "") != channels.CONNECTOR_ID:
        return
    sent_at = _at(body.get("ts"))
    with tenant_scope(tenant_id):
        for item in data.get("MESSAGES") or []:
            chat = item.get("chat") or {}
            im = item.get("im") or {}
            message = item.get("message") or {}
            conversation = store.get_conversation(tenant_id, str(chat.get("id") or "-"))
            if conversation is None:
                logger.warning("operator message for an unknown chat", extra={"chat": chat.get("id")})
                continue
            external = f"b24:{body.get('memberId')}:{im.get('message_id')}"
            at = clock.now()
            now = clock.isoformat(at)
            record, _ = store.record_provider_message(
                MessageRecord(
                    id=store.message_id(at, external),
                    tenant_id=tenant_id,
                    conversation_id=conversation.id,
                    direction="out",
                    source="bitrix24",
                    text=str(message.get("text") or ""),
                    files=_operator_files(message),
                    status="queued",
                    external_id=external,
                    bitrix_chat_id=str(im.get("chat_id") or "") or None,
                    bitrix_message_id=str(im.get("message_id") or "") or None,
                    sent_at=clock.isoformat(sent_at),
                    created_at=now,
                    updated_at=now,
                ),
                external,
            )
            if record.status == "queued":
                queue_send(conversation, record)


def handle_bitrix_event(body: Mapping[str, Any]) -> None:
    """One Bitrix24 event from the bitrix24-outbound queue."""
    event = str(body.get("event") or "")
    if event in ("ONAPPINSTALL", "ONAPPUNINSTALL"):
        channels.handle_portal_event(dict(body))
    elif event == "ONIMCONNECTORMESSAGEADD":
        _operator_messages(body)
    else:
        logger.info("bitrix24 event ignored", extra={"event": event})


# --- queue consumers ------------------------------------------------------------------------------------------


def _fail_message(body: Mapping[str, Any], error: str) -> None:
    """Mark the message a job was about as failed, with the reason (visible in its conversation)."""
    tenant_id = str(body.get("tenantId") or "")
    with tenant_scope(tenant_id):
        if body.get("type") == SEND_JOB:
            record = store.get_message(tenant_id, str(body["conversationId"]), str(body["messageId"]), consistent=True)
        elif body.get("type") == "whatsapp.message":
            record = inbound_message(body)
        else:
            return
        if record is None:
            return
        conversation_id, message = record.conversation_id, record.id
        at = clock.now_iso()
        store.update_message(record, {"status": "failed", "error": error[:1000], "updatedAt": at})
        conversation = store.get_conversation(tenant_id, conversation_id)
        if conversation is not None:
            channels.record_activity(tenant_id, conversation.channel_id, error=error[:500])
            _metric("RelayFailures", conversation.channel_id)
    logger.warning("message failed", extra={"message_id": message, "error": error[:200]})


def _run(record: SQSRecord, handle: Callable[[Mapping[str, Any]], None]) -> None:
    body = json.loads(record.body)
    attempt = int(record.attributes.approximate_receive_count or 1)
    try:
        handle(body)
    except (Unrelayable, NotFound) as exc:
        _fail_message(body, str(exc))
    except Exception as exc:
        if not _retryable(exc):
            if isinstance(exc, (MetaApiError, Bitrix24Error)):
                _fail_message(body, str(exc))
                return
            raise
        if attempt >= MAX_ATTEMPTS:
            _fail_message(body, f"gave up after {attempt} attempts: {exc}")
            hide_record(record, 0)  # its next receive moves it to the DLQ
            raise RetryLater(f"failed after {attempt} attempts") from exc
        settings = get_settings()
        hide_record(record, full_jitter(attempt, settings.relay_retry_base_s, settings.relay_retry_max_s))
        logger.info("relay will retry", extra={"attempt": attempt, "error": str(exc)[:200]})
        raise RetryLater(f"attempt {attempt} failed; retrying") from exc


def _conversation_job(body: Mapping[str, Any]) -> None:
    kind = body.get("type")
    if kind == "whatsapp.message":
        relay_inbound(body)
    elif kind == "whatsapp.status":
        apply_status(body)
    elif kind == SEND_JOB:
        send_outbound(body)
    else:
        logger.warning("unknown conversation job", extra={"type": kind})


def handle_conversation_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The conversation FIFO queue's consumer (WhatsApp messages and statuses, send jobs)."""
    return process_sqs_batch(event, lambda record: _run(record, _conversation_job), fifo=True)


def handle_bitrix_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The bitrix24-outbound queue's consumer (Bitrix24 events)."""
    return process_sqs_batch(event, lambda record: _run(record, handle_bitrix_event), fifo=True)
