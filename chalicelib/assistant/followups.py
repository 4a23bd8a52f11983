"""The assistant's follow-ups: a checkout left unpaid, and a cart left behind, get one reminder each.

After each turn the assistant answered, ``arm`` sets the conversation's one pending reminder (``SK=FOLLOWUP``): a
checkout made this turn → ``checkout`` (``followUps.checkoutReminderSeconds`` after it, default 30 minutes, always
before the link's hour ends); else a cart that is not empty → ``cart`` (``abandonedCartSeconds`` of silence, default
an hour); else none. The customer's message itself calls off what was pending; a handover does too (``drop``).

The timer is a Step Functions execution of one small machine (``<prefix>-wf-assistant-follow-up-<hash>``, created on
first use like the workflow engine's, run for real by moto locally): a ``Wait`` of ``waitSeconds``, then an
``sqs:sendMessage`` of the task ``assistant.follow_up`` to the integrations queue (its dispatcher: once per token,
retried with backoff, then DLQ and redrivable). No polling, no Scan. A new message moves ``dueAt`` later and keeps
the running timer: when it fires early it starts another for what is left; one execution per silence, not per message.

``fire`` decides when the timer comes, from what is true then: a token that is not the pending one, a reminder sent
already, a chat a human holds, a number whose assistant is off, a paid order, a link that expired or was replaced,
an emptied cart: nothing. Inside the customer's 24-hour window the reminder is a message; outside it the configured
template goes (``checkoutTemplate`` / ``cartTemplate``, its parameters filled in), and without one nothing. The
message is recorded once under ``followup:<token>`` and sent in the conversation's order by the gateway's send path.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.assistant import store
from chalicelib.assistant.carts import load_cart
from chalicelib.assistant.metrics import emit
from chalicelib.assistant.models import (
    AssistantConfigRecord,
    CartRecord,
    FollowUpKind,
    FollowUpRecord,
    OrderStatusArgs,
    ReminderTemplate,
)
from chalicelib.assistant.texts import cart_text, local_expiry, say
from chalicelib.assistant.tools import Toolbox, ToolError
from chalicelib.conversations import service as conversations
from chalicelib.conversations.models import OutsideWindowTemplate
from chalicelib.core import aws, clock
from chalicelib.core.config import get_settings
from chalicelib.core.observability import logger
from chalicelib.core.resources import QueueKind, queue_name, queue_url

if TYPE_CHECKING:
    from chalicelib.conversations.models import ConversationRecord
    from chalicelib.integrations.jobs import Job

__all__ = ["FOLLOW_UP_TASK", "arm", "drop", "fire", "machine_definition", "register_handlers"]

FOLLOW_UP_TASK = "assistant.follow_up"
SEND = "arn:aws:states:::sqs:sendMessage"
# A timer that fires this much before its reminder is due (a later message moved it) waits again for the rest.
_EARLY_TOLERANCE = timedelta(seconds=2)
# How long a pending reminder's item is kept after it is due (then DynamoDB's TTL takes it).
_KEPT_AFTER_DUE = timedelta(days=2)
_FIELD = re.compile(r"\{(customer|orderNumber|total|link|expiresAt|items)\}")


# --- the timer ---------------------------------------------------------------------------------------------------


def machine_definition(integrations_queue_url: str) -> dict[str, Any]:
    """The ASL of the follow-up timer: wait ``$.waitSeconds``, then queue the ``assistant.follow_up`` task."""
    return {
        "Comment": "BTRIX shop assistant follow-up: wait, then queue the reminder task (which checks it is still due)",
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": "$.waitSeconds", "Next": "Remind"},
            "Remind": {
                "Type": "Task",
                "Resource": SEND,
                "Parameters": {
                    "QueueUrl": integrations_queue_url,
                    "MessageBody": {
                        "type": "task",
                        "task": FOLLOW_UP_TASK,
                        "tenantId.$": "$.tenantId",
                        "key.$": "$.token",
                        "data": {"conversationId.$": "$.conversationId", "token.$": "$.token"},
                    },
                },
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 5, "BackoffRate": 2.0}],
                "End": True,
            },
        },
    }


def _machine_name() -> str:
    template = json.dumps(machine_definition("${integrations}"), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(template.encode()).hexdigest()[:16]
    # Under the workflow machines' prefix: the same role and grants (infra: constructs/workflows.py).
    return f"{get_settings().resource_prefix}-wf-assistant-follow-up-{digest}"


@cache
def _machine_arn(name: str) -> str:
    asl = json.dumps(machine_definition(queue_url(queue_name(QueueKind.INTEGRATIONS))))
    settings = get_settings()
    try:
        created = aws.stepfunctions().create_state_machine(
            name=name, definition=asl, roleArn=settings.workflow_role_arn, type="STANDARD"
        )
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")) != "StateMachineAlreadyExists":
            raise
        parts = settings.workflow_role_arn.split(":")
        return f"arn:{parts[1]}:states:{settings.region}:{parts[4]}:stateMachine:{name}"
    return str(created["stateMachineArn"])


def _start_timer(tenant_id: str, conversation_id: str, token: str, wait: timedelta) -> None:
    state = {
        "tenantId": tenant_id,
        "conversationId": conversation_id,
        "token": token,
        "waitSeconds": max(1, int(wait.total_seconds() + 0.999)),
    }
    aws.stepfunctions().start_execution(
        stateMachineArn=_machine_arn(_machine_name()), name=token, input=json.dumps(state)
    )


def _expiry(due: datetime) -> int:
    return clock.to_epoch(due + _KEPT_AFTER_DUE)


# --- after a turn ------------------------------------------------------------------------------------------------


def _wanted(config: AssistantConfigRecord, cart: CartRecord, checked_out: bool) -> tuple[FollowUpKind, int] | None:
    follow_ups = config.follow_ups
    if checked_out and follow_ups.checkout_reminder_seconds:
        return "checkout", follow_ups.checkout_reminder_seconds
    if cart.lines and follow_ups.abandoned_cart_seconds:
        return "cart", follow_ups.abandoned_cart_seconds
    return None


def arm(config: AssistantConfigRecord, conversation: ConversationRecord, cart: CartRecord, checked_out: bool) -> None:
    """After a turn the assistant answered: the conversation's reminder for what the turn left (a checkout made this
    turn, else a cart that is not empty, else none). A timer failing to start costs the reminder, never the turn."""
    wanted = _wanted(config, cart, checked_out)
    pending = store.get_follow_up(conversation.tenant_id, conversation.id)
    if wanted is None:
        if pending is not None:
            store.drop_follow_up(conversation.tenant_id, conversation.id)
        return
    kind, seconds = wanted
    now = clock.now()
    due = now + timedelta(seconds=seconds)
    # A timer still to come that fires no later than the new moment waits again for the rest: keep it.
    keep = pending is not None and pending.sent_at is None and pending.due_at <= clock.isoformat(due)
    token = pending.token if keep and pending is not None else secrets.token_hex(16)
    record = FollowUpRecord(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        kind=kind,
        token=token,
        due_at=clock.isoformat(due),
        order_id=cart.order_id if kind == "checkout" else None,
        armed_at=clock.isoformat(now),
    )
    if not keep:  # the timer first: an item names only a timer that runs
        try:
            _start_timer(conversation.tenant_id, conversation.id, token, due - now)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("follow-up timer not started", extra={"conversation_id": conversation.id, "error": str(exc)})
            if pending is not None:
                store.drop_follow_up(conversation.tenant_id, conversation.id)
            return
    store.put_follow_up(record, _expiry(due))


def drop(conversation: ConversationRecord) -> None:
    """Call the conversation's reminder off (a handover: a human has the chat)."""
    store.drop_follow_up(conversation.tenant_id, conversation.id)


# --- when the timer fires ----------------------------------------------------------------------------------------


def _fill(template: ReminderTemplate, values: dict[str, str]) -> OutsideWindowTemplate:
    params = [_FIELD.sub(lambda m: values.get(m.group(1), ""), p)[:1000] for p in template.params]
    return OutsideWindowTemplate(name=template.name, language=template.language, params=params)


def _checkout_reminder(tools: Toolbox, follow_up: FollowUpRecord) -> tuple[str, dict[str, str]] | None:
    """The checkout reminder's text and template values; None when there is nothing to remind of."""
    cart = tools.cart
    if not cart.order_id or cart.order_id != follow_up.order_id or not cart.payment_url or not cart.link_expires_at:
        return None  # another checkout since (its own reminder), or none
    if cart.link_expires_at <= clock.now_iso():
        return None  # the link expired: nothing to pay with
    try:
        order = tools.order_status(OrderStatusArgs())
    except ToolError:
        return None
    if order["paymentStatus"] != "unpaid":
        return None  # paid meanwhile
    expires = local_expiry(cart.link_expires_at, tools.language, tools.tenant_id)  # as the checkout said it
    values = {
        "orderNumber": str(order["number"]),
        "total": str(order["totalText"]),
        "link": cart.payment_url,
        "expiresAt": expires,
    }
    text = say(
        tools.language,
        "remind_checkout",
        number=order["number"],
        total=order["totalText"],
        url=cart.payment_url,
        expires=expires,
    )
    return text, values


def _cart_reminder(tools: Toolbox) -> tuple[str, dict[str, str]] | None:
    if not tools.cart.lines:
        return None
    view = tools.cart_view()
    items = "; ".join(f"{line['quantity']} x {line['name']}" for line in view["lines"])
    text = cart_text(tools.language, view, prefix=say(tools.language, "remind_cart"))
    return text, {"items": items, "total": str(view["totalText"])}


def fire(tenant_id: str, conversation_id: str, token: str) -> str:
    """The timer ``token`` of the conversation fired: send its reminder if it is still due; says what it did."""
    follow_up = store.get_follow_up(tenant_id, conversation_id)
    if follow_up is None or follow_up.token != token or follow_up.sent_at is not None:
        return "obsolete"
    now = clock.now()
    due = datetime.fromisoformat(follow_up.due_at.replace("Z", "+00:00"))
    if due - now > _EARLY_TOLERANCE:  # the customer wrote since: wait for the rest under a new token
        renewed = follow_up.model_copy(update={"token": secrets.token_hex(16)})
        _start_timer(tenant_id, conversation_id, renewed.token, due - now)  # failing: this task is retried
        store.put_follow_up(renewed, _expiry(due))
        return "waits again"
    conversation = conversations.conversation_record(tenant_id, conversation_id)
    config = store.get_config(tenant_id, conversation.channel_id) if conversation else None
    if conversation is None or config is None or config.mode == "gateway":
        store.drop_follow_up(tenant_id, conversation_id)
        return "no assistant"
    if (conversation.assistant_state or "assistant") != "assistant":
        store.drop_follow_up(tenant_id, conversation_id)
        return "a human holds the chat"
    tools = Toolbox(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        wa_id=conversation.wa_id,
        contact_name=conversation.contact_name,
        language=config.language,
        cart=load_cart(tenant_id, conversation_id),
    )
    found = _checkout_reminder(tools, follow_up) if follow_up.kind == "checkout" else _cart_reminder(tools)
    if found is None:
        store.drop_follow_up(tenant_id, conversation_id)
        return "nothing to remind of"
    text, values = found
    values["customer"] = conversation.contact_name or ""
    template = config.follow_ups.checkout_template if follow_up.kind == "checkout" else config.follow_ups.cart_template
    if not conversations.conversation_view(conversation).window_open and template is None:
        store.drop_follow_up(tenant_id, conversation_id)
        return "the window is closed and no template is configured"
    outside = _fill(template, values) if template is not None else None
    conversations.assistant_reply(conversation, f"followup:{token}", text, outside_window=outside)
    store.mark_follow_up_sent(follow_up, clock.isoformat(now))
    emit("AssistantFollowUps", tenant_id)
    return f"{follow_up.kind} reminder sent"


def _run(job: Job) -> str:
    data = job.data
    return fire(job.tenant_id, str(data["conversationId"]), str(data["token"]))


def register_handlers() -> None:
    """Register the follow-up task with the integrations queue's dispatcher (app.py calls this once)."""
    from chalicelib.integrations import jobs

    jobs.register(jobs.task_kind(FOLLOW_UP_TASK), _run, operation="assistant_follow_up")
