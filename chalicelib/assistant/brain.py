"""The LLM brain: chat completions with the assistant's tools on the number's OpenAI-compatible endpoint.

One customer message is at most ``MAX_ROUNDS`` completions and ``TURN_TOKENS`` tokens. Every tool call is
validated by the toolbox (invalid JSON arguments or a tool that does not exist are told to the model as the tool's
result, never executed). The model's final text is checked: every price it states (a number next to a currency)
must be one a tool returned this turn, stated with the name of the product the tool returned it for (or as a
total), and every product code one a tool returned; a checkout's link must be in it.
Otherwise the customer gets the answer built from the last tool result instead. A model that never calls tools
cannot state prices. The LLM failing (timeout, 5xx, nonsense) returns None: the deterministic brain answers that
turn. Tokens count against the tenant's monthly budget (``plans``): once it is spent the number runs
deterministic until the month ends, and the tenant's ADMINs are told once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.assistant import deterministic, store
from chalicelib.assistant.metrics import emit
from chalicelib.assistant.models import Answer, AssistantConfigRecord, MemoryRecord, Reply
from chalicelib.assistant.texts import cart_text, link_text, product_lines, say, status_text
from chalicelib.assistant.tools import TOOLS, Toolbox, ToolError
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import decrypt_field
from chalicelib.core.observability import MetricUnit, logger
from chalicelib.integrations.http import ProviderError

__all__ = ["MAX_ROUNDS", "TURN_TOKENS", "answer_with_llm", "named_offers_trusted", "stated_prices", "tool_schemas"]

BUDGET_TEMPLATE = "assistant.budget_exhausted"
MAX_ROUNDS = 4
TURN_TOKENS = 6000
COMPLETION_TOKENS = 500
_PRICE = re.compile(
    r"(?:R\$|US\$|\$|€|BRL|USD|EUR)\s?(\d[\d.,]*\d|\d)|(\d[\d.,]*\d|\d)\s?(?:BRL|USD|EUR|€|reais)", re.IGNORECASE
)
_CODE = re.compile(r"\b[A-Z]{1,3}[PS]\d{6}[A-Z]\b")
# The parts of an answer a price belongs to: its lines, list items and sentences.
_PARTS = re.compile(r"\n|;|•|\.\s")
_TOTAL = re.compile(r"\b(sub)?total\b")
_RULES = (
    "You are a shop assistant in a WhatsApp chat. Answer in {language}, briefly. Every product, price and link "
    "you mention must come from a tool result of this conversation turn: call search_products or get_product "
    "before naming a product or a price, never guess one. Use add_to_cart / remove_from_cart / view_cart for the "
    "cart, checkout to place the order and get the payment link (send the link as given), order_status for an "
    "order, and handoff_to_human when the customer asks for a person or you cannot help."
)


def tool_schemas() -> list[dict[str, Any]]:
    """The tools as OpenAI function definitions (JSON Schema of each tool's arguments)."""
    schemas = []
    for name, (model, run) in TOOLS.items():
        parameters = model.model_json_schema()
        parameters.pop("title", None)
        description = (run.__doc__ or name).strip().splitlines()[0]
        schemas.append(
            {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}
        )
    return schemas


def _amount(text: str) -> Decimal | None:
    """``1.234,56`` / ``1,234.56`` / ``12,50`` / ``12.5`` → Decimal."""
    last = max(text.rfind(","), text.rfind("."))
    if last >= 0 and len(text) - last - 1 in (1, 2):
        whole, cents = text[:last], text[last + 1 :]
    else:
        whole, cents = text, "0"
    try:
        return Decimal(re.sub(r"[.,]", "", whole) + "." + cents).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def stated_prices(text: str) -> set[Decimal]:
    """The amounts ``text`` states next to a currency."""
    found = set()
    for match in _PRICE.finditer(text):
        value = _amount(match.group(1) or match.group(2))
        if value is not None:
            found.add(value)
    return found


def _cents(amounts: set[Decimal]) -> set[Decimal]:
    return {a.quantize(Decimal("0.01")) for a in amounts}


def named_offers_trusted(text: str, tools: Toolbox) -> bool:
    """Whether each part of ``text`` that states a price names the product a tool returned with that price (a price
    on a product the tools never returned, or on another product, is not), or is a total the tools returned."""
    offers = {name: _cents(amounts) for name, amounts in tools.seen_offers.items()}
    for part in _PARTS.split(text):
        prices = stated_prices(part)
        if not prices:
            continue
        folded = part.casefold()
        named = [name for name in offers if name in folded]
        allowed = set().union(*(offers[name] for name in named)) if named else set()
        if _TOTAL.search(folded):
            allowed |= _cents(tools.seen_prices)
        if not prices <= allowed:
            return False
    return True


def _trusted(text: str, tools: Toolbox) -> bool:
    if not stated_prices(text) <= _cents(tools.seen_prices) or not named_offers_trusted(text, tools):
        return False
    codes = set(_CODE.findall(text))
    known = {c.upper() for c in re.findall(r"\"code\": \"([A-Z0-9]+)\"", json.dumps(tools.last_results))}
    return codes <= known


def _from_result(tools: Toolbox) -> list[Reply]:
    """The answer built from the last tool result (what the model said could not be trusted)."""
    if not tools.last_results:
        return []
    name, result = tools.last_results[-1]
    language = tools.language
    if name == "checkout":
        return [Reply(link_text(language, result))]
    if name == "order_status":
        return [Reply(status_text(language, result))]
    cart = result.get("cart") if name in ("add_to_cart", "remove_from_cart") else None
    if name == "view_cart":
        cart = result
    if cart is not None:
        return [Reply(cart_text(language, cart))]
    products = result.get("products") if name == "search_products" else [result] if name == "get_product" else None
    if products:
        return [Reply(f"{say(language, 'pick_one')}\n{product_lines(products)}")]
    return []


def _messages(config: AssistantConfigRecord, memory: MemoryRecord, customer: str) -> list[dict[str, Any]]:
    system = _RULES.format(language=config.language)
    if config.persona:
        system = f"{config.persona}\n\n{system}"
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if memory.summary:
        messages.append({"role": "system", "content": f"Earlier in this chat: {memory.summary}"})
    for turn in memory.turns[-10:]:
        messages.append({"role": "user" if turn.role == "customer" else "assistant", "content": turn.text})
    messages.append({"role": "user", "content": customer})
    return messages


def _within_budget(config: AssistantConfigRecord) -> bool:
    from chalicelib.plans.catalog import get_plan
    from chalicelib.tenants.service import load_tenant

    budget = get_plan(load_tenant(config.tenant_id).plan_id).assistant_tokens_per_month
    used = store.tokens_used(config.tenant_id, clock.now().strftime("%Y-%m"))
    return used < budget


def _count_tokens(config: AssistantConfigRecord, tokens: int) -> None:
    if tokens <= 0:
        return
    emit("LlmTokens", config.tenant_id, tokens)
    month = clock.now().strftime("%Y-%m")
    total = store.add_tokens(config.tenant_id, month, tokens)
    from chalicelib.plans.catalog import get_plan
    from chalicelib.tenants.service import load_tenant

    budget = get_plan(load_tenant(config.tenant_id).plan_id).assistant_tokens_per_month
    if total >= budget > total - tokens:  # this turn spent the budget: the ADMINs are told once
        _tell_admins(config, budget, month)


def _tell_admins(config: AssistantConfigRecord, budget: int, month: str) -> None:
    from chalicelib.core.db.store import Table
    from chalicelib.notifications.outbox import request_message_ops

    logger.warning("assistant token budget spent", extra={"tenant_id": config.tenant_id, "month": month})
    from chalicelib.core.formatting import month_value

    variables = {"budget": budget, "month": month_value(month)}
    ops = request_message_ops(config.tenant_id, "email", "role:ADMIN", BUDGET_TEMPLATE, config.language, variables)
    Table().transact(ops)


def answer_with_llm(
    config: AssistantConfigRecord, message: Mapping[str, Any], tools: Toolbox, memory: MemoryRecord, *, first: bool
) -> Answer | None:
    """The LLM's answer to one customer message, checked; None when the LLM cannot answer (the deterministic brain
    does) or the month's token budget is spent."""
    from chalicelib.integrations.llm.client import complete

    customer = deterministic.customer_text(message)
    if message.get("type") == "order" or not customer or customer.startswith(("p:", "a:")):
        return None  # a catalog cart or our own buttons: the deterministic brain reads them exactly
    if deterministic.wants_human(customer, config.handover_keywords):
        return None
    if not _within_budget(config):
        return None
    key = decrypt_field(config.tenant_id, str(config.llm_api_key_encrypted))
    messages = _messages(config, memory, customer)
    schemas = tool_schemas()
    result = Answer()
    text: str | None = None
    spent = 0
    try:
        for _ in range(MAX_ROUNDS):
            if spent >= TURN_TOKENS:
                break
            started = time.monotonic()
            completion = complete(
                str(config.llm_base_url),
                key,
                str(config.llm_model),
                messages,
                schemas,
                max_tokens=COMPLETION_TOKENS,
                timeout_s=get_settings().assistant_llm_timeout_s,
            )
            emit("LlmLatency", config.tenant_id, (time.monotonic() - started) * 1000, MetricUnit.Milliseconds)
            spent += completion.tokens
            if not completion.tool_calls:
                text = completion.content
                break
            messages.append(completion.message)
            for call in completion.tool_calls:
                result.tools.append(call.name)
                try:
                    content = json.dumps(tools.run(call.name, call.arguments))
                except ToolError as exc:
                    result.failed = True
                    content = json.dumps({"error": exc.detail})
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
            if tools.handover:
                break
    except ProviderError as exc:
        logger.warning("the LLM failed: the deterministic brain answers", extra={"error": exc.detail[:200]})
        _count_tokens(config, spent)
        if result.tools:  # tools ran already: answer from what they returned
            result.replies = _from_result(tools) or [Reply(say(tools.language, "tool_failed"))]
            return result
        return None
    _count_tokens(config, spent)
    result.tokens = spent
    result.handover = tools.handover
    if tools.handover:
        return result
    if text and _trusted(text, tools) and _carries_link(text, tools):
        result.replies = [Reply(text.strip()[:4000])]
    else:
        if text:
            logger.info("LLM answer replaced by the tool result", extra={"conversation_id": tools.conversation_id})
        result.replies = _from_result(tools)
        if not result.replies:
            if not result.tools:
                return None  # nothing trustworthy and nothing done: the deterministic brain answers
            result.replies = [Reply(say(tools.language, "tool_failed"))]
            result.failed = True
    return result


def _carries_link(text: str, tools: Toolbox) -> bool:
    for name, result in tools.last_results:
        if name == "checkout" and str(result["paymentUrl"]) not in text:
            return False
    return True
