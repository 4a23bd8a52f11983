"""The shop assistant's use cases: a number's configuration (``PUT /channels/{id}/assistant``) and, for the inbound
relay, one customer message answered.

The seam with the gateway is ``take_inbound``: the relay (``conversations.inbound``) has recorded the customer's
message once, in its conversation's FIFO group, and asks the number's assistant before relaying to Bitrix24. The
answer says what became of the message: ``answered`` (the assistant replied: its messages are queued in the same
group, so they go out in order), ``stored`` (a BTRIX agent holds the chat: silent) or ``relay`` (no assistant, or a
human holds the chat in ``assistant_then_gateway``: relayed as before, with a note for the operator after a
handover).

One turn: rate-limited per conversation; a handover keyword, the ``handoff_to_human`` tool or repeated failures
hand the chat to a human (the cart is kept and shown); else a brain answers — the LLM brain when the number has an
LLM and the tenant's monthly token budget is not spent, falling back on the deterministic brain when the LLM fails;
else the deterministic brain. Replies are recorded in the conversation (source ``assistant``) and sent through the
gateway's send path (window, pacing, retries). What the turn leaves (a checkout, a cart) arms the conversation's
follow-up (``followups``); a handover calls it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.assistant import deterministic, followups, store
from chalicelib.assistant.carts import load_cart, save_cart
from chalicelib.assistant.metrics import emit
from chalicelib.assistant.models import (
    LANGUAGES,
    Answer,
    AssistantConfig,
    AssistantConfigRecord,
    AssistantConfigRequest,
    Language,
    MemoryRecord,
    Reply,
    Turn,
)
from chalicelib.assistant.texts import say
from chalicelib.assistant.tools import Toolbox
from chalicelib.audit.service import audit_op
from chalicelib.channels import service as channels
from chalicelib.conversations import service as conversations
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.errors import AppError, FieldError, InvalidInput
from chalicelib.core.formatting import format_weekday
from chalicelib.core.observability import logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.conversations.models import ConversationRecord, MessageRecord

__all__ = ["Verdict", "get_assistant", "put_assistant", "take_inbound"]

MEMORY_TTL = timedelta(days=30)
MAX_FAILURES = 3
_KEEP_TURNS = 20
# Customer messages whose cart effects the cart remembers (a redelivery comes soon after its first run).
_KEEP_APPLIED = 20


@dataclass(frozen=True)
class Verdict:
    """What became of a customer's message: answered by the assistant, stored (a BTRIX agent holds the chat) or
    relayed to Bitrix24 (``note``: a system message for the operator after a handover)."""

    status: Literal["answered", "stored", "relay"]
    note: str | None = None


# --- configuration -----------------------------------------------------------------------------------------------


def _number(principal: Principal, channel_id: str) -> None:
    from chalicelib.core.errors import NotFound

    try:
        channels.get_whatsapp_channel(principal.tenant_id, channel_id)
    except NotFound:
        raise NotFound(detail=f"no WhatsApp number channel {channel_id}") from None


def _default_language(tenant_id: str) -> Language:
    from chalicelib.tenants.service import load_tenant

    locale = load_tenant(tenant_id).locale
    for language in LANGUAGES:
        if locale.lower().startswith(language[:2].lower()):
            return language
    return "en-US"


def get_assistant(principal: Principal, channel_id: str) -> AssistantConfig:
    """The number's assistant (a number never configured: mode ``gateway``)."""
    require(principal, Permission.CONVERSATIONS_READ)
    _number(principal, channel_id)
    found = store.get_config(principal.tenant_id, channel_id)
    if found is None:
        found = AssistantConfigRecord(
            tenant_id=principal.tenant_id,
            channel_id=channel_id,
            language=_default_language(principal.tenant_id),
            updated_at=clock.now_iso(),
            version=0,
        )
    return found.view()


def put_assistant(principal: Principal, channel_id: str, body: AssistantConfigRequest) -> AssistantConfig:
    """Set the number's assistant (mode, persona, language, hours, greeting, keywords, LLM). The LLM's key is stored
    encrypted; left out, the stored one is kept (422 naming ``body.llm.apiKey`` when there is none)."""
    from chalicelib.integrations.http import ProviderError, check_provider_url

    require(principal, Permission.CHANNELS_MANAGE)
    _number(principal, channel_id)
    before = store.get_config(principal.tenant_id, channel_id, consistent=True)
    key: str | None = None
    if body.llm is not None:
        try:
            check_provider_url(body.llm.base_url.rstrip("/") + "/v1/chat/completions")
        except ProviderError as exc:
            raise InvalidInput(
                detail="the LLM's base URL must be https", errors=[FieldError("body.llm.baseUrl", exc.detail)]
            ) from None
        if body.llm.api_key is not None:
            key = encrypt_field(principal.tenant_id, body.llm.api_key.get_secret_value())
        elif before is not None and before.llm_api_key_encrypted:
            key = before.llm_api_key_encrypted
        else:
            raise InvalidInput(
                detail="the LLM needs an API key", errors=[FieldError("body.llm.apiKey", "required (none stored)")]
            )
    version = before.version if before else 0
    record = AssistantConfigRecord(
        tenant_id=principal.tenant_id,
        channel_id=channel_id,
        mode=body.mode,
        persona=body.persona,
        language=body.language or _default_language(principal.tenant_id),
        business_hours=body.business_hours,
        greeting=body.greeting,
        handover_keywords=body.handover_keywords,
        llm_base_url=body.llm.base_url.rstrip("/") if body.llm else None,
        llm_model=body.llm.model if body.llm else None,
        llm_api_key_encrypted=key,
        follow_ups=body.follow_ups,
        updated_at=clock.now_iso(),
        updated_by=principal.user_id,
        version=version + 1,
    )
    secret = {"llm_api_key_encrypted"}  # the audit trail shows what changed, never the key
    audit = audit_op(
        principal,
        "assistant.configured",
        Kind.CHANNEL,
        channel_id,
        before=before.model_dump(exclude=secret) if before else None,
        after=record.model_dump(exclude=secret),
    )
    store.put_config(record, version, [audit])
    return record.view()


# --- one customer message ----------------------------------------------------------------------------------------


def _memory(conversation: ConversationRecord) -> MemoryRecord | None:
    return store.get_memory(conversation.tenant_id, conversation.id)


def _remember(memory: MemoryRecord, customer: str, replies: list[Reply], failed: bool) -> MemoryRecord:
    """The memory with this exchange; the oldest turns folded into the summary when it grows long."""
    turns = [*memory.turns, Turn(role="customer", text=customer[:500])]
    turns += [Turn(role="assistant", text=r.text[:500]) for r in replies]
    summary = memory.summary
    if len(turns) > _KEEP_TURNS:
        old, turns = turns[: len(turns) - _KEEP_TURNS // 2], turns[len(turns) - _KEEP_TURNS // 2 :]
        asked = "; ".join(t.text.splitlines()[0][:80] for t in old if t.role == "customer" and t.text)
        summary = f"{summary + ' | ' if summary else ''}earlier the customer wrote: {asked}"[-1500:]
    return memory.model_copy(
        update={
            "turns": turns,
            "summary": summary,
            "failures": memory.failures + 1 if failed else 0,
            "updated_at": clock.now_iso(),
            "version": memory.version + 1,
        }
    )


def summary_for_operator(tools: Toolbox, memory: MemoryRecord, reason: str) -> str:
    """What the operator reads when the chat is handed over: why, the summary, the last turns, the cart."""
    lines = [f"[b]BTRIX assistant[/b]: handed over ({reason})."]
    if memory.summary:
        lines.append(memory.summary)
    lines += [f"{'Customer' if t.role == 'customer' else 'Assistant'}: {t.text}" for t in memory.turns[-6:]]
    cart = tools.cart_view()
    if cart["lines"]:
        lines.append("Cart: " + "; ".join(f"{i['quantity']} x {i['name']} ({i['code']})" for i in cart["lines"]))
        lines.append(f"Total: {cart['totalText']}")
    if tools.cart.order_id:
        lines.append(f"Last order: #{tools.cart.order_number} ({tools.cart.payment_url or 'no link'})")
    return "\n".join(lines)


def _send(conversation: ConversationRecord, record: MessageRecord, replies: list[Reply]) -> None:
    for i, reply in enumerate(replies):
        conversations.assistant_reply(conversation, f"{record.id}:{i}", reply.text, reply.interactive)


def _brain(
    config: AssistantConfigRecord, message: Mapping[str, Any], tools: Toolbox, memory: MemoryRecord, first: bool
) -> Answer:
    keywords = config.handover_keywords
    if config.llm_base_url and config.llm_model and config.llm_api_key_encrypted:
        from chalicelib.assistant import brain

        answered = brain.answer_with_llm(config, message, tools, memory, first=first)
        if answered is not None:
            return answered
        emit("AssistantFallbacks", config.tenant_id)
    return deterministic.answer(message, tools, greeting=config.greeting, keywords=keywords, first=first)


def take_inbound(conversation: ConversationRecord, record: MessageRecord, message: Mapping[str, Any]) -> Verdict:
    """The number's assistant takes the customer's message ``record`` (Meta's ``message``), or leaves it to the
    relay. Called once per received message, in the conversation's queue group."""
    config = store.get_config(conversation.tenant_id, conversation.channel_id)
    if config is None or config.mode == "gateway":
        return Verdict("relay")
    state = conversation.assistant_state or "assistant"
    if state != "assistant":  # a human holds the chat: the assistant is silent
        return Verdict("relay" if config.mode == "assistant_then_gateway" else "stored")
    if conversation.assistant_state is None:
        conversations.set_assistant_state(conversation, "assistant")
    minute = int(clock.now().timestamp()) // 60
    count = store.count_turn(conversation.tenant_id, conversation.id, minute)
    limit = get_settings().assistant_turns_per_minute
    if count > limit:
        if count == limit + 1:
            _send(conversation, record, [Reply(say(config.language, "slow_down"))])
        return Verdict("answered")
    memory = _memory(conversation)
    first = memory is None
    memory = memory or MemoryRecord(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, updated_at=clock.now_iso()
    )
    tools = Toolbox(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        wa_id=conversation.wa_id,
        contact_name=conversation.contact_name,
        language=config.language,
        cart=load_cart(conversation.tenant_id, conversation.id),
    )
    tools.replay = record.id in tools.cart.applied  # its job ran before, up to the cart: apply nothing twice
    customer = deterministic.customer_text(message) or f"[{message.get('type')}]"
    had_order = tools.cart.order_id
    result = _brain(config, message, tools, memory, first)
    emit("AssistantTurns", conversation.tenant_id)
    if result.tools:
        emit("AssistantToolCalls", conversation.tenant_id, len(result.tools))
    if tools.cart_changed:
        applied = [*tools.cart.applied, record.id][-_KEEP_APPLIED:]
        tools.cart = save_cart(tools.cart.model_copy(update={"applied": applied}))
        if tools.cart.order_id and tools.cart.order_id != had_order:
            emit("AssistantOrders", conversation.tenant_id)
    if not tools.replay:  # a redelivered turn is in the memory already
        memory = _remember(memory, customer, result.replies, result.failed)
    reason = tools.handover or result.handover
    if reason is None and memory.failures >= MAX_FAILURES:
        reason = f"{memory.failures} failed turns in a row"
    if reason is None:
        store.put_memory(memory, int((clock.now() + MEMORY_TTL).timestamp()))
        _send(conversation, record, result.replies)
        if not tools.replay:  # the first run armed what the turn left
            _follow_up(config, conversation, tools, checked_out=tools.cart.order_id != had_order)
        return Verdict("answered")
    return _hand_over(config, conversation, record, tools, memory, result.replies, reason)


def _follow_up(
    config: AssistantConfigRecord, conversation: ConversationRecord, tools: Toolbox, *, checked_out: bool
) -> None:
    """The reminder this turn leaves (the customer's message called off the one pending). Best effort: a failure
    costs the reminder, never the answered turn."""
    try:
        followups.arm(config, conversation, tools.cart, checked_out)
    except (AppError, ClientError, BotoCoreError) as exc:
        logger.warning("follow-up not armed", extra={"conversation_id": conversation.id, "error": str(exc)[:200]})


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _handover_text(config: AssistantConfigRecord) -> str:
    """What the customer is told at a handover: a person comes, or, outside the business hours, when they are."""
    hours = config.business_hours
    if hours is None or not hours.weekly:
        return say(config.language, "handover")
    from zoneinfo import ZoneInfo

    local = clock.now().astimezone(ZoneInfo(hours.time_zone))
    day, at = _DAYS[local.weekday()], local.strftime("%H:%M")
    if any(h.day == day and h.opens <= at < h.closes for h in hours.weekly):
        return say(config.language, "handover")
    ordered = sorted(hours.weekly, key=lambda h: (_DAYS.index(h.day), h.opens))
    described = ", ".join(
        f"{format_weekday(_DAYS.index(h.day), config.language)} {h.opens}-{h.closes}" for h in ordered
    )
    return say(config.language, "handover_closed", hours=f"{described} ({hours.time_zone})")


def _hand_over(
    config: AssistantConfigRecord,
    conversation: ConversationRecord,
    record: MessageRecord,
    tools: Toolbox,
    memory: MemoryRecord,
    replies: list[Reply],
    reason: str,
) -> Verdict:
    """A human takes the chat: the customer is told (the cart is kept), the conversation shows ``needs_human``, and
    in ``assistant_then_gateway`` the message goes to the Open Lines chat with the summary and the cart."""
    memory = memory.model_copy(update={"failures": 0})
    store.put_memory(memory, int((clock.now() + MEMORY_TTL).timestamp()))
    followups.drop(conversation)  # a human has the chat: no reminder from the assistant
    conversations.set_assistant_state(conversation, "needs_human")
    emit("AssistantHandovers", conversation.tenant_id)
    logger.info("assistant handed over", extra={"conversation_id": conversation.id, "reason": reason[:200]})
    _send(conversation, record, [*replies, Reply(_handover_text(config))])
    if config.mode == "assistant_then_gateway":
        return Verdict("relay", summary_for_operator(tools, memory, reason))
    return Verdict("stored")
