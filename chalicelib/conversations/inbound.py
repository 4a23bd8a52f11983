"""WhatsApp → Bitrix24: a received WhatsApp message recorded once in its conversation, its media kept in our
bucket, and the message relayed to the Open Line of the number's portal (then marked read on WhatsApp).

A message is recorded together with a reference item named by its wamid (``store.record_provider_message``),
with the conversation's counters and the ``message.received`` event, in one transaction; each later step moves
the status it checks (``received → relayed | stored``), so a redelivered job redoes only what did not finish.

A file that cannot be fetched never holds the message back: an outage is retried (``RetryLater`` through the
queue helper) until the job's last attempt; a refusal (Meta answers 400 for the media id, the file is too big)
or the last attempt relays the message without the file, the reason noted on the file (``error``), in a line the
operator reads and in the ``MediaFailures`` metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.assistant import service as assistant
from chalicelib.channels import service as channels
from chalicelib.channels.tokens import system_actor
from chalicelib.conversations import formatting, openlines, store
from chalicelib.conversations.jobs import Unrelayable
from chalicelib.conversations.metrics import emit
from chalicelib.conversations.models import ConversationRecord, MessageRecord, StoredFile
from chalicelib.conversations.timing import moment
from chalicelib.core import clock
from chalicelib.core.db.store import change_op, tenant_scope
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.observability import MetricUnit, logger
from chalicelib.customers import service as customers
from chalicelib.customers.models import RecordConsentRequest
from chalicelib.integrations.meta import client as meta
from chalicelib.integrations.meta.client import MetaApiError

if TYPE_CHECKING:
    from chalicelib.channels.models import WhatsAppChannelRecord

__all__ = ["inbound_message", "open_conversation", "relay_inbound"]


def open_conversation(
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


def _received(body: Mapping[str, Any], channel: WhatsAppChannelRecord) -> tuple[ConversationRecord, MessageRecord]:
    """The conversation and the message record of a received WhatsApp message, created on first sight together
    with the conversation's counters and the ``message.received`` event (one transaction)."""
    message: Mapping[str, Any] = body["message"]
    wa_id = str(body["waId"])
    wamid = str(message["id"])
    # When the customer wrote: the message's own timestamp (or when Meta's webhook was received).
    sent_at = moment(message.get("timestamp") or body.get("receivedAt"))
    at = clock.now()
    now = clock.isoformat(at)
    conversation = open_conversation(channel, wa_id, clock.isoformat(sent_at), now, body.get("contactName"))
    record = MessageRecord(
        # Its place in the conversation: when the webhook took it (a job kept in order), else when recorded.
        id=str(body.get("pending") or store.message_id(at, wamid)),
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
    emit("MessagesIn", channel.id)
    _consent_keyword(channel.tenant_id, wa_id, record.text, wamid)
    named = {"contact_name": body["contactName"]} if body.get("contactName") else {}
    return conversation.model_copy(update={"last_inbound_at": later, **named}), record


# A message that is only one of these words withdraws (or gives back) the customer's consent to marketing on
# WhatsApp, as Meta asks businesses to honour (pt-BR, es, en, da).
_STOP_WORDS = frozenset({"stop", "parar", "pare", "sair", "cancelar", "descadastrar", "baja", "unsubscribe", "afmeld"})
_START_WORDS = frozenset({"start", "voltar", "alta", "subscribe", "tilmeld"})


def _consent_keyword(tenant_id: str, wa_id: str, text: str | None, wamid: str) -> None:
    """Record a STOP/START keyword of a known customer as their WhatsApp consent (method ``whatsapp_keyword``)."""
    word = (text or "").strip().strip(".!").casefold()
    if word not in _STOP_WORDS | _START_WORDS:
        return
    customer_id = customers.find_customer_id(tenant_id, phone=f"+{wa_id}")
    if customer_id is None:
        return
    answer = RecordConsentRequest(
        purpose="whatsapp",
        granted=word in _START_WORDS,
        method="whatsapp_keyword",
        evidence=f"{word.upper()} (WhatsApp message {wamid})",
    )
    customers.record_consent_as(system_actor(tenant_id), customer_id, answer)


def _note_inbound(channel: WhatsAppChannelRecord, wa_id: str, sent_at: datetime) -> None:
    """The customer wrote at ``sent_at``: the number's health, and the 24-hour window that the notifications'
    WhatsApp channel follows too (both idempotent)."""
    from chalicelib.notifications.service import record_inbound

    record_inbound(channel.tenant_id, f"+{wa_id}", sent_at)
    channels.record_activity(channel.tenant_id, channel.id, inbound_at=clock.isoformat(sent_at))


def _keep_media(
    record: MessageRecord, number: meta.MetaNumber, channel_id: str, *, last_attempt: bool
) -> MessageRecord:
    """Each media of the message fetched from Meta (its links expire) and kept in our bucket, the object keys noted
    on the message; files already kept or given up (a retry) are not fetched again. A file Meta refuses, or that
    still fails at the job's last attempt, is given up: the reason noted on it (the message goes on without it)."""
    from chalicelib.conversations.media import store_media

    if all(f.storage_key or f.error or not f.media_id for f in record.files):
        return record
    files = []
    for file in record.files:
        if file.media_id and not file.storage_key and not file.error:
            try:
                media = meta.fetch_media(number, file.media_id)
                key = store_media(record.tenant_id, record.conversation_id, record.id, media)
            except (MetaApiError, DependencyUnavailable) as exc:
                outage = isinstance(exc, DependencyUnavailable) or exc.retryable or exc.expired
                if outage and not last_attempt:
                    raise
                file = file.model_copy(update={"error": str(exc.detail or exc)[:500]})
                emit("MediaFailures", channel_id)
                logger.warning("media given up", extra={"message_id": record.id, "error": file.error})
            else:
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


def _operator_text(record: MessageRecord, files: list[dict[str, str]]) -> str:
    """What the operator reads: the message's text (a bare media label such as "[image]" adds nothing next to the file
    itself), and a line for each file that could not be fetched, saying why."""
    text = record.text or ""
    if text in {f"[{f.kind}]" for f in record.files} and (files or any(f.error for f in record.files)):
        text = ""
    missing = [f"[{f.kind} could not be fetched from WhatsApp: {f.error}]" for f in record.files if f.error]
    return "\n".join(part for part in (text, *missing) if part)


def relay_inbound(body: Mapping[str, Any], *, last_attempt: bool = False) -> None:
    """Relay one received WhatsApp message to the Open Line of the number's portal (once), and mark it read.
    ``last_attempt``: the queue gives the job up after this one, so a file still failing is relayed without."""
    tenant_id = str(body["tenantId"])
    with tenant_scope(tenant_id):
        channel = channels.get_whatsapp_channel(tenant_id, str(body["channelId"]))
        conversation, record = _received(body, channel)
        if record.status in ("relayed", "stored", "answered"):
            return
        # The seam of the shop assistant: it answers, keeps silent for a BTRIX agent, or leaves the relay to go on.
        verdict = assistant.take_inbound(conversation, record, body["message"])
        if verdict.status != "relay":
            store.update_message(record, {"status": verdict.status, "updatedAt": clock.now_iso()})
            return
        number = channels.meta_number(tenant_id, channel.id)
        record = _keep_media(record, number, channel.id, last_attempt=last_attempt)
        if not channel.portal_id or not channel.line:
            store.update_message(record, {"status": "stored", "updatedAt": clock.now_iso()})
            return
        portal = channels.get_portal(tenant_id, channel.portal_id)
        if portal.status != "connected":
            raise Unrelayable(f"the Bitrix24 portal {portal.domain} is {portal.status}")
        contact_id = openlines.contact_of(conversation, portal.id)
        files = _file_urls(record)
        text = _operator_text(record, files)
        message: dict[str, Any] = {"id": record.id, "date": int(moment(record.sent_at).timestamp()), "text": text}
        if files:
            message["files"] = files
        relayed = openlines.relay(conversation, portal.id, channel.line, message)
        chat_id = relayed.chat_id
        now = clock.now()
        store.update_message(
            record,
            {
                "status": "relayed",
                "bitrixChatId": chat_id,
                "bitrixMessageId": relayed.message_id,  # shown with the message: the operator matches it in Bitrix24
                "updatedAt": clock.isoformat(now),
                "error": None,
            },
            from_status=["received", "failed"],
        )
        store.update_conversation(
            conversation, set_={"bitrixChatId": chat_id, "portalId": portal.id, "bitrixContactId": contact_id}
        )
        if verdict.note:  # the assistant handed the chat over: the operator reads the summary and the cart
            openlines.tell_operator(
                conversation.model_copy(update={"bitrix_chat_id": chat_id}), portal.id, verdict.note
            )
        latency = (now - moment(body.get("receivedAt"))).total_seconds() * 1000
        emit("RelayLatency", channel.id, latency, MetricUnit.Milliseconds)
        try:
            meta.mark_read(number, str(body["message"]["id"]))
        except MetaApiError as exc:  # the customer sees no blue ticks; the message itself is relayed
            logger.warning("could not mark a message read", extra={"channel_id": channel.id, "error": str(exc)})
