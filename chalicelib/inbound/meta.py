"""WhatsApp Cloud API webhooks (Meta): the GET subscription challenge, and signed POST notifications.

A POST is verified (``X-Hub-Signature-256``) before anything in it is acted on: with BTRIX's app secret, or, for a
number a tenant connected from its own Meta app (``POST /channels/whatsapp``), with that app's secret. A POST
signed with a tenant's secret must only carry numbers routed to channels with that same secret: one app cannot
speak for another app's numbers (numbers nobody routes are skipped anyway). The GET challenge compares
``hub.verify_token`` with BTRIX's verify token, or, when the callback URL names a channel
(``?channel=<tenantId>.<channelId>``, for a tenant's own app), with that channel's verify token; an unknown
channel is refused like a wrong token. Ids in the URL are not secrets: the verify token is. Then every message of
every change of every entry is routed by its ``phone_number_id``, kept among its conversation's pending jobs in the
order it arrived (``conversations.jobs.inbound_delivery``) and enqueued on its own to the WhatsApp inbound FIFO
queue (group = ``<phone number id>:<wa_id>``; deduplication = the ``wamid``) as the trigger of it. Every status is
applied to the notification that sent the message (``notifications.status.apply_status``: only when that number
sent it, so an app cannot report on another number's messages), or, when no notification did, enqueued to the same
FIFO queue for the gateway. Each is recorded once under its ``wamid`` (statuses: ``<number>:wamid:status``).
Numbers nobody connected are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from chalicelib.conversations.jobs import inbound_delivery
from chalicelib.core import clock
from chalicelib.core.errors import DependencyUnavailable, Forbidden, MalformedRequest, Unauthorized
from chalicelib.core.kept import kept
from chalicelib.core.observability import logger
from chalicelib.core.resources import META_APP_SECRET, META_VERIFY_TOKEN, QueueKind, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.inbound.receipts import Delivery, StatusReport, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body, text
from chalicelib.inbound.routing import WhatsAppRoute, find_whatsapp_route
from chalicelib.inbound.signatures import equal_secrets, verify_meta
from chalicelib.inbound.tenants import CREDENTIALS_TTL_S, tenant_id_or_none, verified_with

__all__ = ["PROVIDER", "handle", "inbound_deliveries"]

PROVIDER = "meta"
_CHANNEL_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
# A tenant's own app secret and verify token by (tenant, channel), as this container read them (``_channel_secrets``).
_kept_secrets: dict[tuple[str, str], tuple[float, tuple[str, str] | None]] = {}


def _mismatch() -> Forbidden:
    return Forbidden(detail="hub.verify_token does not match", code="verify-token-mismatch")


def _channel_secrets(tenant_id: str, channel_id: str, *, fresh: bool = True) -> tuple[str, str] | None:
    """The channel's app secret and verify token: as read at most ``CREDENTIALS_TTL_S`` ago in this container
    (a GetItem and two decrypts saved on every delivery of the tenant's app), or read now when ``fresh``."""
    # Imported here: only numbers of tenants' own Meta apps need the channels capability on this path.
    from chalicelib.channels.service import whatsapp_secrets

    def read() -> tuple[str, str] | None:
        return whatsapp_secrets(tenant_id, channel_id)

    now = clock.now().timestamp()
    return kept(_kept_secrets, (tenant_id, channel_id), read, ttl_s=CREDENTIALS_TTL_S, now=now, fresh=fresh)


def _expected_verify_token(channel: str | None) -> str:
    if channel is None:
        return get_secret(secret_name(META_VERIFY_TOKEN))
    tenant_part, _, channel_id = channel.partition(".")
    tenant_id = tenant_id_or_none(tenant_part)
    found = _channel_secrets(tenant_id, channel_id) if tenant_id and _CHANNEL_ID.fullmatch(channel_id) else None
    if found is None:
        raise _mismatch()
    return found[1]


def _challenge(request: HookRequest) -> HookResponse:
    expected = _expected_verify_token(request.query.get("channel"))
    mode = request.query.get("hub.mode")
    token = request.query.get("hub.verify_token") or ""
    challenge = request.query.get("hub.challenge")
    if mode != "subscribe" or challenge is None or not equal_secrets(token, expected):
        raise _mismatch()
    return text(200, challenge)


def _unverified_payload(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json_body(body, "not JSON")
    except MalformedRequest:  # read before the signature: what does not parse (or nests too deep) is no event
        return None
    return payload if isinstance(payload, dict) else None


def _tenant_app_secret(payload: Mapping[str, Any], fresh: bool) -> str | None:
    """The one app secret of the channels every number of the (unverified) payload is routed to, or None when
    there is none, or more than one, or a routed number has no channel to vouch for it."""
    numbers = {str((value.get("metadata") or {}).get("phone_number_id") or "") for _, value in _changes(payload)}
    found: set[str] = set()
    for phone_number_id in numbers - {""}:
        route = find_whatsapp_route(phone_number_id)
        if route is None:
            continue  # nobody's number: skipped when delivering
        secrets = _channel_secrets(route.tenant_id, route.channel_id, fresh=fresh) if route.channel_id else None
        if secrets is None:
            return None
        found.add(secrets[0])
    return found.pop() if len(found) == 1 else None


def _verify(request: HookRequest) -> dict[str, Any] | None:
    """Check the signature with BTRIX's app secret, else with the tenant's app the payload's numbers belong to;
    returns the payload when it had to be parsed for that (it is parsed once)."""
    signature = request.header("x-hub-signature-256")
    try:
        verify_meta(get_secret(secret_name(META_APP_SECRET)), request.body, signature)
        return None
    except (Unauthorized, DependencyUnavailable) as exc:
        refused = exc
    payload = _unverified_payload(request.body) if signature else None
    if payload is None:
        raise refused
    unverified = payload

    def check(fresh: bool) -> None:
        secret = _tenant_app_secret(unverified, fresh)
        if secret is None:
            raise refused
        verify_meta(secret, request.body, signature)

    # The secrets this container kept, then (if refused) read again: a tenant's new app secret works at once.
    verified_with(check)
    return payload


def _changes(payload: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield str(entry.get("id") or ""), change["value"]


def _message_delivery(
    route: WhatsAppRoute, waba_id: str, value: Mapping[str, Any], message: Mapping[str, Any]
) -> Delivery:
    metadata = value.get("metadata") or {}
    wa_id = str(message.get("from") or "")
    contact = next((c for c in value.get("contacts") or [] if c.get("wa_id") == wa_id), None)
    body = {
        "type": "whatsapp.message",
        "provider": PROVIDER,
        "tenantId": route.tenant_id,
        "channelId": route.channel_id,
        "wabaId": waba_id,
        "phoneNumberId": route.phone_number_id,
        "displayPhoneNumber": metadata.get("display_phone_number"),
        "waId": wa_id,
        "contactName": ((contact or {}).get("profile") or {}).get("name"),
        "message": message,
        "receivedAt": clock.now_iso(),
    }
    # Kept among the conversation's pending jobs, in the order it reached us; the queue message triggers it.
    return inbound_delivery(body, clock.now())


def _status_report(route: WhatsAppRoute, status: Mapping[str, Any]) -> StatusReport:
    wamid, state = str(status["id"]), str(status.get("status") or "")
    errors = status.get("errors") or []
    error = errors[0] if errors else None
    recipient = str(status.get("recipient_id") or "")
    # The gateway's own messages are not notifications: their statuses go to it, in the conversation's order.
    body = {
        "type": "whatsapp.status",
        "provider": PROVIDER,
        "tenantId": route.tenant_id,
        "channelId": route.channel_id,
        "phoneNumberId": route.phone_number_id,
        "waId": recipient,
        "status": status,
        "receivedAt": clock.now_iso(),
    }
    key = f"{wamid}:{state}"
    return StatusReport(
        # The number in the receipt's key: a report another app signs about this wamid cannot hold the real one off.
        key=f"{route.phone_number_id}:{key}",
        provider=PROVIDER,
        provider_message_id=wamid,
        status=state,
        error=None if error is None else f"{error.get('code')} {error.get('title') or ''}".strip(),
        # The number the report came for (its app's signature covers it) changes only the messages it sent.
        sent_by=route.phone_number_id,
        tenant_id=route.tenant_id,
        otherwise=Delivery(
            key=key,
            queue=QueueKind.WHATSAPP_INBOUND,
            body=body,
            group_id=f"{route.phone_number_id}:{recipient}",
            dedup_id=key,
        ),
    )


def inbound_deliveries(payload: Mapping[str, Any]) -> Iterator[Delivery | StatusReport]:
    """One delivery per message and one report per status of a (verified) notification, for the numbers we
    route."""
    routes: dict[str, WhatsAppRoute | None] = {}
    for waba_id, value in _changes(payload):
        phone_number_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
        if phone_number_id and phone_number_id not in routes:
            routes[phone_number_id] = find_whatsapp_route(phone_number_id)
        route = routes.get(phone_number_id)
        if route is None:
            logger.warning("whatsapp number not connected", extra={"phoneNumberId": phone_number_id})
            continue
        for message in value.get("messages") or []:
            if message.get("id"):
                yield _message_delivery(route, waba_id, value, message)
        for status in value.get("statuses") or []:
            if status.get("id"):
                yield _status_report(route, status)


def handle(request: HookRequest, context: Any) -> HookResponse:
    """GET: answer the subscription challenge. POST: verify, split, record once, enqueue."""
    if request.method == "GET":
        return _challenge(request)
    parsed = _verify(request)
    payload = json_body(request.body, "the notification is not JSON") if parsed is None else parsed
    if not isinstance(payload, dict):
        raise MalformedRequest(detail="the notification is not a JSON object")
    recorded = duplicates = 0
    for delivery in inbound_deliveries(payload):
        receipt = deliver_once(PROVIDER, delivery, context)
        duplicates += receipt.duplicate
        recorded += not receipt.duplicate
    return accepted({"received": True, "recorded": recorded, "duplicates": duplicates})
