"""Webhook delivery: the fan-out of events to endpoints, and the signed, retried attempts to send them.

Two queues (``core.resources``):

- **webhook-deliveries** (fan-out): every domain event (EventBridge rule ``webhooks``) and every workflow
  ``emit_webhook`` action. ``fan_out`` reads the tenant's endpoints with one Query, keeps the enabled ones whose
  filters match, and creates one delivery per endpoint (the item key is endpoint + message id, created with a
  condition: a redelivered event creates nothing twice), then queues its first attempt.
- **webhook-attempts**: one message per attempt, delayed until it is due. SQS delays at most 15 minutes, so a
  message for a later attempt is re-sent with the remaining delay (up to 15 min each time) until it is due.

An attempt claims its delivery with a lease (a conditional write: pending, this attempt next, no live lease), so
a duplicated message sends nothing twice; a worker that dies mid-attempt lets the lease lapse (45 s, under the
queue's visibility timeout) and the redelivered message tries again. After recording an attempt the next one is
queued; if that fails the message comes back, finds its attempt recorded and queues the next one again.

Retries follow Svix's schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (times
``BTRIX_WEBHOOK_RETRY_SCALE``). 410 Gone disables the endpoint at once; an endpoint failing for 5 days in a row is
disabled; both emit ``endpoint.disabled``. After the last attempt the delivery is ``failed`` and
``message.attempt.exhausted`` is emitted.

The jobs, one module each: ``fanout.py`` (an event → its deliveries), ``attempt_queue.py`` (the schedule and the
delayed queue), ``sender.py`` (one signed POST), ``attempts.py`` (the worker: lease, send, record, what follows).
This module is their face: the queue consumers ``app.py`` wires and what the webhooks service uses.
"""

from __future__ import annotations

from chalicelib.webhooks.attempt_queue import MAX_ATTEMPTS, RETRY_SCHEDULE_S, enqueue, retry_delay_s
from chalicelib.webhooks.attempts import FAILING_LIMIT, handle_attempt_batch, run_attempt
from chalicelib.webhooks.fanout import fan_out, handle_fanout_batch, message_from_workflow, new_delivery, payload_of
from chalicelib.webhooks.sender import EXCERPT_BYTES, signing_secrets

__all__ = [
    "EXCERPT_BYTES",
    "FAILING_LIMIT",
    "MAX_ATTEMPTS",
    "RETRY_SCHEDULE_S",
    "enqueue",
    "fan_out",
    "handle_attempt_batch",
    "handle_fanout_batch",
    "message_from_workflow",
    "new_delivery",
    "payload_of",
    "retry_delay_s",
    "run_attempt",
    "signing_secrets",
]
