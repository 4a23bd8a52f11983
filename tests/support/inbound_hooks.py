"""Signing webhooks as each provider does, and reading what the webhook functions enqueued."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib.core import aws
from chalicelib.core.db.store import Table, put_op
from chalicelib.core.resources import QueueKind, dlq_name, queue_name, queue_url
from chalicelib.inbound.receipts import receipt_item_key
from localdev.fake_mercadopago_preapprovals import mercadopago_signature as fake_mercadopago_signature
from localdev.provision import local_webhook_secrets

SECRETS = local_webhook_secrets()


def meta_signature(body: bytes, secret: str | None = None) -> str:
    """``X-Hub-Signature-256`` of ``body``."""
    key = (secret or SECRETS["meta-app-secret"]).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def stripe_signature(body: bytes, secret: str | None = None, at: int | None = None) -> str:
    """``Stripe-Signature`` of ``body`` (``t=…,v1=…``; the key is the whole ``whsec_`` string, as Stripe's)."""
    timestamp = int(time.time()) if at is None else at
    key = (secret or SECRETS["stripe-webhook-secret"]).encode()
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def mercadopago_signature(data_id: str, request_id: str, secret: str | None = None, at: int | None = None) -> str:
    """``x-signature`` for a notification about ``data_id``, signed as the fake signs (now, or at ``at`` ms)."""
    return fake_mercadopago_signature(secret or SECRETS["mercadopago-webhook-secret"], data_id, request_id, at)


def standard_webhook_headers(
    body: bytes, message_id: str, secret: str | None = None, at: int | None = None
) -> dict[str, str]:
    """Standard Webhooks headers for ``body``."""
    timestamp = str(int(time.time()) if at is None else at)
    key = base64.b64decode((secret or SECRETS["inbound-email-secret"]).removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": timestamp, "webhook-signature": f"v1,{signature}"}


def take_messages(
    kind: QueueKind, match: Callable[[dict[str, Any]], bool], *, dead: bool = False
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Remove from queue ``kind`` (its DLQ when ``dead``) the messages ``match`` selects; returns (body, attributes)
    of each.

    Other tests' messages are put back at once (visibility 0), so their consumers are not held up.
    """
    sqs = aws.sqs()
    url = queue_url(dlq_name(kind) if dead else queue_name(kind))
    found: list[tuple[dict[str, Any], dict[str, str]]] = []
    others: list[str] = []
    for _ in range(200):
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            body = json.loads(message["Body"])
            if match(body):
                attributes = {str(name): str(value) for name, value in message.get("Attributes", {}).items()}
                found.append((body, attributes))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message["ReceiptHandle"])
    for handle in others:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def receipt(provider: str, key: str) -> dict[str, Any] | None:
    """The idempotency record of ``key``, read raw from the table."""
    return Table().get(*receipt_item_key(provider, key), consistent=True)


def sent_notification(
    tenant_id: str, channel: str, to: str, provider: str, provider_message_id: str, *, sent_by: str | None
) -> str:
    """A notification the provider accepted as ``provider_message_id`` from the account ``sent_by`` (a Twilio
    AccountSid, a Meta phone number id), now ``sent``; returns its id. ``sent_by`` None: its lookup as written before
    the sending account (and the channel) were recorded on it."""
    from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY
    from chalicelib.notifications import sent_messages, store
    from chalicelib.notifications.outbox import new_record

    record = new_record(tenant_id, channel, to, template=None, locale="pt-BR", variables={}, text="Pedido pronto")  # type: ignore[arg-type]
    record = record.model_copy(update={"status": "sent"})
    lookup = sent_messages.provider_route_op(record, provider, provider_message_id, sent_by)
    if sent_by is None:
        pk, sk = sent_messages.provider_message_key(provider, provider_message_id)
        older = {"tenantId": tenant_id, "notificationId": record.id, ENTITY: "ProviderMessageRoute"}
        lookup = put_op({PARTITION_KEY: pk, SORT_KEY: sk, **older}, must_not_exist=False)
    Table().transact([*store.new_notification_ops(record), lookup])
    return record.id


def notification_status(tenant_id: str, notification_id: str) -> str | None:
    """The notification's status now."""
    from chalicelib.notifications import store

    record = store.get_notification(tenant_id, notification_id, consistent=True)
    return None if record is None else str(record.status)
