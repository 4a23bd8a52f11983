"""Bitrix24 and BTRIX → WhatsApp: an operator's Open Lines reply recorded once in its conversation and queued,
then each queued message (an operator's or an agent's) sent to the customer, paced per number, and reported back
to the Open Lines chat.

Inside the customer's 24-hour window the message goes as is (BB-code as WhatsApp formatting, files as media by
link); outside it the number's template goes instead, or, without one, the message is ``not_sent`` and the
operator told why. Each step moves the status it checks (``queued → sent``, ``bitrixReported``), so a redelivered
job redoes only what did not finish: a multi-part send resumes after the parts already sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from chalicelib.channels import service as channels
from chalicelib.conversations import formatting, jobs, openlines, store
from chalicelib.conversations.metrics import emit
from chalicelib.conversations.models import ConversationRecord, MessageRecord, StoredFile
from chalicelib.conversations.timing import moment, window_open
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table, TransactionConflict, change_op, tenant_scope
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.observability import logger
from chalicelib.integrations.bitrix24.client import CONNECTOR_ID
from chalicelib.integrations.meta import client as meta
from chalicelib.integrations.meta.client import MetaApiError

if TYPE_CHECKING:
    from chalicelib.channels.models import WhatsAppChannelRecord

__all__ = ["hand_back_finished_dialogs", "pace", "record_operator_messages", "send_outbound"]

_MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio"}
_PACE_TRIES = 20


# --- operators' replies from Bitrix24 ----------------------------------------------------------------------------


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


def record_operator_messages(body: Mapping[str, Any]) -> None:
    """An ``ONIMCONNECTORMESSAGEADD`` of BTRIX's connector: each operator message recorded once in the conversation
    its chat names, and its send job queued in the conversation's group."""
    tenant_id = str(body["tenantId"])
    data = body.get("data") or {}
    if str(data.get("CONNECTOR") or "") != CONNECTOR_ID:
        return
    sent_at = moment(body.get("ts"))
    # Their place in the conversation: when the webhook took them (in the event's order), whatever the queue did.
    received = moment(body["receivedAt"]) if body.get("receivedAt") else clock.now()
    with tenant_scope(tenant_id):
        for index, item in enumerate(data.get("MESSAGES") or []):
            chat = item.get("chat") or {}
            im = item.get("im") or {}
            message = item.get("message") or {}
            conversation = store.get_conversation(tenant_id, str(chat.get("id") or "-"))
            if conversation is None:
                logger.warning("operator message for an unknown chat", extra={"chat": chat.get("id")})
                continue
            external = f"b24:{body.get('memberId')}:{im.get('message_id')}"
            now = clock.now_iso()
            record = MessageRecord(
                id=store.message_id(received + timedelta(milliseconds=index), external),
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
            )
            record, _ = store.record_provider_message(record, external, [jobs.pending_send_op(conversation, record)])
            if record.status == "queued":
                jobs.queue_send(conversation, record, kept=True)
            if conversation.assistant_state in ("assistant", "needs_human"):  # an operator wrote: a human holds it
                store.update_conversation(conversation, set_={"assistantState": "human"})


def hand_back_finished_dialogs(body: Mapping[str, Any]) -> None:
    """An ``ONIMCONNECTORDIALOGFINISH`` of BTRIX's connector: the operator closed (finished) the Open Lines dialog of
    each dialog it names. A dialog names the connector's chat (the conversation's id, as BTRIX sent it in
    ``imconnector.send.messages``) in ``data[DATA][i][connector][chat_id]`` (the session's user code) and the portal's
    own chat in ``[chat][id]``; either that names a conversation is taken. On a number with a shop assistant whose
    chat a human holds, the assistant answers the customer again (it kept the cart); elsewhere nothing changes. A
    redelivery finds it done."""
    tenant_id = str(body["tenantId"])
    data = body.get("data") or {}
    if str(data.get("CONNECTOR") or "") != CONNECTOR_ID:
        return
    with tenant_scope(tenant_id):
        for item in data.get("DATA") or []:
            conversation = _finished_conversation(tenant_id, item)
            if conversation is None:
                logger.warning("dialog finished for an unknown chat")
                continue
            if conversation.assistant_state in ("needs_human", "human"):  # closing hands it back
                store.update_conversation(conversation, set_={"assistantState": "assistant"})
                logger.info(
                    "dialog finished: the assistant takes the chat back", extra={"conversation_id": conversation.id}
                )


def _finished_conversation(tenant_id: str, item: Any) -> ConversationRecord | None:
    if not isinstance(item, Mapping):
        return None
    for part, field in (("connector", "chat_id"), ("chat", "id")):
        named = item.get(part)
        chat_id = str(named.get(field) or "") if isinstance(named, Mapping) else ""
        try:
            found = store.get_conversation(tenant_id, chat_id, consistent=True) if chat_id else None
        except ValueError:  # a chat id that cannot be a key names no conversation
            continue
        if found is not None:
            return found
    return None


# --- sending -------------------------------------------------------------------------------------------------------


def pace(tenant_id: str, channel_id: str) -> int:
    """Wait for a free slot of the number's per-second budget (Meta's 80 messages/s by default); returns the
    epoch second the slot belongs to."""
    limit = get_settings().whatsapp_sends_per_second
    for _ in range(_PACE_TRIES):
        now = time.time()
        if store.count_send(tenant_id, channel_id, int(now)) <= limit:
            return int(now)
        time.sleep(max(0.0, int(now) + 1 - now))
    raise DependencyUnavailable(detail="the number's sending budget stayed exhausted")


def _payloads(record: MessageRecord, to: str) -> list[dict[str, Any]]:
    if record.interactive:  # the shop assistant's list or buttons: the text is its body
        return [meta.interactive_payload(to, record.interactive)]
    text = formatting.bbcode_to_whatsapp(record.text or "").strip()
    payloads = [meta.text_payload(to, text)] if text else []
    for file in record.files:
        if file.link:
            kind = _MEDIA_KINDS.get(file.kind, "document")
            caption = file.caption if kind != "audio" else None  # WhatsApp shows no caption on audio
            payloads.append(meta.media_payload(to, kind, file.link, caption, file.filename))
    return payloads


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
    openlines.tell_operator(conversation, channel.portal_id, f"[b]BTRIX[/b]: {reason}")
    emit("MessagesNotSent", channel.id)


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
    template = None
    if window_open(conversation, clock.now()):
        payloads = _payloads(record, to)
    elif record.outside_window is not None:  # the message's own template (an assistant's follow-up)
        own = record.outside_window
        template = own.name
        body = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in own.params]}]
        payloads = [meta.template_payload(to, own.name, own.language, body if own.params else None)]
    elif channel.template is not None:
        template = channel.template.name
        payloads = [meta.template_payload(to, channel.template.name, channel.template.language)]
    else:
        _not_sent(conversation, record, channel)
        return
    wamids = list(record.wamids)
    for payload in payloads[len(wamids) :]:  # a retry resumes after what was sent already
        pace(conversation.tenant_id, channel.id)
        try:
            wamid = meta.send_message(number, payload)
        except MetaApiError as exc:
            if exc.outside_window and template is None and not wamids:
                # Meta's clock says the window closed: treat it as closed (a template, or tell the operator).
                stale = conversation.model_copy(update={"last_inbound_at": None})
                return _send(stale, record, channel)
            raise
        wamids.append(wamid)
        Table().transact([store.wamid_ref_op(conversation.tenant_id, conversation.id, wamid, record.id)])
        store.update_message(record, {"wamids": wamids})
    _mark_sent(conversation, record, channel, wamids, template)


def _mark_sent(
    conversation: ConversationRecord,
    record: MessageRecord,
    channel: WhatsAppChannelRecord,
    wamids: list[str],
    template: str | None,
) -> None:
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
    emit("MessagesOut", channel.id)


def _after_send(conversation: ConversationRecord, record: MessageRecord, portal_id: str, line: str) -> None:
    if record.source == "bitrix24" and not record.bitrix_reported:
        openlines.report_delivery(conversation, record, portal_id, line)
    elif record.source == "btrix" and not record.bitrix_reported and conversation.bitrix_chat_id:
        # An agent wrote from BTRIX: the operators see it in the Open Lines chat too.
        openlines.tell_operator(conversation, portal_id, f"[b]BTRIX agent[/b]: {record.text or ''}")
        store.update_message(record, {"bitrixReported": True})
