"""Payment work on the integrations queue, registered with its dispatcher (``integrations/jobs.py``).

- ``stripe:*``, ``mercadopago:*`` and ``pagarme:*``: the providers' verified webhooks (``chalicelib/inbound`` queued
  them) applied to the ledger (``service.handle_provider_message``), once per provider event: Powertools idempotency
  keyed by the provider's event id (Stripe's ``evt_…``, MercadoPago's notification id, Pagar.me's ``hook_…``) on our
  table, and behind it the ledger's
  own once-only rules (one payment per provider payment, one payer per order, one record per refund). A report that
  arrived before what it is about (``ArrivedEarly``) and provider outages are retried with backoff, then DLQ.
- ``workflow:send_payment_link:order``: the on-enter action of the retail flow's PENDING (and of any tenant's flow):
  a link for the order sent to its customer (``service.send_payment_link``); the job's key makes the link and its
  message once. A tenant without a payment integration has nothing to send (like an action nothing implements: a
  log line, no DLQ: every order of a retail flow enters PENDING, paid with a link or not).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast, get_args

from chalicelib.core.db import keys
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.idempotency import powertools_records
from chalicelib.core.observability import logger
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.jobs import LEASE_S, Job, JobFailed, RetryJob, provider_kind, register, workflow_kind
from chalicelib.notifications.outbox import Channel
from chalicelib.payments import service
from chalicelib.payments.models import PaymentProvider
from chalicelib.payments.providers import IntegrationMissing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["EVENT_RECORD_TTL_S", "event_id", "register_handlers"]

EVENT_RECORD_TTL_S = 7 * 24 * 3600
_SHARDS = 8


def event_id(provider: PaymentProvider, message: Mapping[str, Any]) -> str:
    """The provider's id of the event a message carries (what makes it once-only)."""
    if provider in ("stripe", "pagarme"):
        return str((message.get("event") or {}).get("id") or "")
    notification = message.get("notification") or {}
    return str(notification.get("id") or f"{message.get('topic')}:{message.get('dataId')}:{message.get('action')}")


class _JobLease:
    """Stands in for the Lambda context Powertools asks how long this run may last: the integration job's lease.
    An in-progress record of a worker that died mid-way then blocks a redelivery only until the lease ends (when the
    dispatcher lets another worker claim the job), not for the record's whole TTL."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return LEASE_S * 1000


@cache
def _once(provider: PaymentProvider, shard: int) -> Callable[..., Any]:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    label = f"{provider}-applied"
    layer = powertools_records(keys.inbound_receipts_pk(label, shard))
    config = IdempotencyConfig(
        event_key_jmespath="key", raise_on_no_idempotency_key=True, expires_after_seconds=EVENT_RECORD_TTL_S
    )
    config.register_lambda_context(cast("LambdaContext", _JobLease()))

    def apply(job: dict[str, Any]) -> dict[str, Any]:
        return {"line": service.handle_provider_message(provider, job["tenantId"], job["message"])}

    decorate = idempotent_function(
        data_keyword_argument="job", persistence_store=layer, config=config, key_prefix=label
    )
    applied: Callable[..., Any] = decorate(apply)
    return applied


def _confirm(provider: PaymentProvider) -> Callable[[Job], str | None]:
    def handle(job: Job) -> str | None:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        key = f"{job.tenant_id}:{event_id(provider, job.body) or job.key}"
        apply = _once(provider, zlib.crc32(key.encode()) % _SHARDS)
        try:
            result = apply(job={"key": key, "tenantId": job.tenant_id, "message": dict(job.body)})
        except IdempotencyAlreadyInProgressError as exc:
            raise RetryJob(f"the {provider} event {key} is being applied by another worker") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise DependencyUnavailable(detail="the payment event record could not be written") from exc
        line = result.get("line")
        return None if line is None else str(line)

    return handle


def _send_link(job: Job) -> str | None:
    data = job.body
    channel = data.get("channel") or "whatsapp"
    if channel not in get_args(Channel):
        raise JobFailed(f"send_payment_link: not a channel: {channel!r}")
    try:
        return service.send_payment_link(
            job.tenant_id, str(data["entityId"]), channel=cast(Channel, channel), key=job.key
        )
    except IntegrationMissing as exc:
        logger.info("send_payment_link: no payment integration", extra={"entityId": data["entityId"]})
        return f"no payment link sent: {exc.detail}"


def register_handlers() -> None:
    """Register the payment handlers with the integrations queue's dispatcher (``app.py`` calls this)."""
    register(provider_kind("stripe"), _confirm("stripe"), provider=Provider.STRIPE, operation="payment_webhook")
    register(
        provider_kind("mercadopago"),
        _confirm("mercadopago"),
        provider=Provider.MERCADOPAGO,
        operation="payment_webhook",
    )
    register(provider_kind("pagarme"), _confirm("pagarme"), provider=Provider.PAGARME, operation="payment_webhook")
    register(workflow_kind("send_payment_link", "order"), _send_link, operation="send_payment_link")
