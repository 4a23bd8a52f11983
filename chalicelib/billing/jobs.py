"""Billing work on the integrations queue, registered with its dispatcher (``integrations/jobs.py``).

``stripe_billing:*`` and ``mercadopago_billing:*``: the verified webhooks of BTRIX's billing accounts
(``chalicelib/inbound`` queued them under the platform's tenant id) applied to the subscription they name
(``lifecycle.apply_notice``, in that tenant's scope). The dispatcher runs each message once (its job record), and the
subscription's writes are idempotent whatever the order (a paid charge is final, a subscription status older than
the last one applied is ignored), so duplicates and reordering end in the same state. An event that names no
subscription of ours is retried with the queue's backoff (it may have arrived before the write it follows) and
recorded for the platform operator (``GET /platform/billing/events``), ``parked`` on its last attempt, when the
dispatcher moves it to the DLQ; a redrive runs it again and, if it then applies, forgets it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from chalicelib.billing import lifecycle, providers
from chalicelib.core.db.store import tenant_scope
from chalicelib.integrations.jobs import MAX_ATTEMPTS, Job, RetryJob, provider_kind, register

__all__ = ["register_handlers"]

BillingMessage = Literal["stripe_billing", "mercadopago_billing"]


def _event_id(job: Job) -> str:
    event = job.body.get("event") or {}
    notification = job.body.get("notification") or {}
    return str(event.get("id") or notification.get("id") or job.body.get("dataId") or job.key)


def _event_type(job: Job) -> str:
    event = job.body.get("event") or {}
    return str(event.get("type") or job.body.get("topic") or "?")


def _apply(provider: BillingMessage) -> Callable[[Job], str | None]:
    def handle(job: Job) -> str | None:
        notice = providers.interpret(provider, job.body)
        if notice is None:
            return None  # an event type billing does not follow
        try:
            if notice.tenant_id is None:
                raise lifecycle.UnknownSubscription(f"{notice.event_type} {notice.event_id} names no tenant")
            with tenant_scope(notice.tenant_id):
                line = lifecycle.apply_notice(notice)
        except lifecycle.UnknownSubscription as exc:
            last = job.attempt >= MAX_ATTEMPTS
            lifecycle.park(job.key, provider, _event_type(job), _event_id(job), str(exc), job.attempt, parked=last)
            raise RetryJob(str(exc)) from exc
        if job.previous_attempts:
            lifecycle.unpark(job.key)  # it waited for its subscription, or an operator redrove it
        return line

    return handle


def register_handlers() -> None:
    """Register the billing handlers with the integrations queue's dispatcher (``app.py`` calls this)."""
    register(provider_kind("stripe_billing"), _apply("stripe_billing"), operation="billing_webhook")
    register(provider_kind("mercadopago_billing"), _apply("mercadopago_billing"), operation="billing_webhook")
