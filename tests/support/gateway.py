"""What Meta and Bitrix24 send the gateway, built as they build it: Meta notifications (JSON, signed) and Bitrix24
events (PHP-style form fields)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from tests.support.inbound_hooks import meta_signature

__all__ = [
    "bitrix_event",
    "flatten_form",
    "meta_message",
    "meta_notification",
    "meta_status",
    "signed_meta",
]


def meta_message(
    wa_id: str, wamid: str, text: str | None = None, *, at: int | None = None, **content: Any
) -> dict[str, Any]:
    """One ``messages[]`` item: a text by default, or any other type given as ``type=...`` plus its object."""
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(time.time()) if at is None else at)}
    if text is not None:
        message.update({"type": "text", "text": {"body": text}})
    message.update(content)
    return message


def meta_status(
    wamid: str, recipient: str, status: str, *, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One ``statuses[]`` item."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if errors:
        item["errors"] = errors
    return item


def meta_notification(
    phone_number_id: str,
    *,
    messages: list[dict[str, Any]] = (),  # type: ignore[assignment]
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    name: str = "Maria Cliente",
    waba_id: str = "102290129340398",
) -> dict[str, Any]:
    """A WhatsApp Business Account notification carrying ``messages`` and ``statuses`` of one number."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": m["from"]} for m in messages[:1]]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}],
    }


def signed_meta(payload: Mapping[str, Any], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers Meta would POST for ``payload``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, {"content-type": "application/json", "x-hub-signature-256": meta_signature(body, secret)}


def flatten_form(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts and lists as PHP-style form fields (``data[MESSAGES][0][im][chat_id]``), as Bitrix24 posts."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs += flatten_form(item, f"{prefix}[{key}]" if prefix else str(key))
        return pairs
    if isinstance(value, (list, tuple)):
        pairs = []
        for index, item in enumerate(value):
            pairs += flatten_form(item, f"{prefix}[{index}]")
        return pairs
    return [(prefix, "" if value is None else str(value))]


def bitrix_event(
    event: str, auth: Mapping[str, Any], data: Mapping[str, Any] | None = None, ts: int | None = None
) -> bytes:
    """The form body of a Bitrix24 event."""
    fields = {
        "event": event,
        "data": dict(data or {}),
        "ts": str(int(time.time()) if ts is None else ts),
        "auth": dict(auth),
    }
    return urlencode(flatten_form(fields)).encode()
