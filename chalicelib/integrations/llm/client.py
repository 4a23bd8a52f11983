"""Chat completions with tools on an OpenAI-compatible server (``POST <base>/v1/chat/completions``), over the shared
httpx client.

httpx rather than the ``openai`` SDK: the SDK (3.51.0) is a 2.4 MB wheel, 9.5 MB and 2,093 files installed, and
brings its own HTTP stack (httpx2 + httpcore2, 0.7 MB) and jiter (0.8 MB) beside the httpx every provider client
already shares; for one POST and its JSON answer that is 11 MB more in every Lambda zip and a slower cold start.

The wire format (``../shared/PROVIDERS.md``): the request carries ``model``, ``messages``, ``tools`` (function
schemas), ``tool_choice: auto`` and ``max_tokens``; the answer's ``choices[0].message`` has ``content`` and maybe
``tool_calls`` (``id``, ``function.name``, ``function.arguments`` as a JSON string — possibly invalid, possibly
naming a tool that does not exist: the caller validates), and ``usage.total_tokens``. A timeout, a 429 or a 5xx is a
retryable ``ProviderError``; an answer without a message is a rejected one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, json_object, send

__all__ = ["Completion", "ToolCall", "complete"]

_WHAT = "the LLM"


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for, as it sent it (``arguments`` unparsed)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """The model's answer: its message (to append to the conversation unchanged), text, tool calls, tokens."""

    message: dict[str, Any]
    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens: int = 0


def complete(
    base_url: str,
    api_key: str,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    *,
    max_tokens: int,
    timeout_s: float,
) -> Completion:
    """One chat completion with ``tools``; ``ProviderError`` when the server fails or answers nonsense."""
    url = check_provider_url(base_url.rstrip("/") + "/v1/chat/completions")
    body = {"model": model, "messages": messages, "tools": tools, "tool_choice": "auto", "max_tokens": max_tokens}
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    response = send(
        _WHAT, lambda client: client.post(url, content=json.dumps(body), headers=headers, timeout=timeout_s)
    )
    answer = json_object(_WHAT, response)
    try:
        message = answer["choices"][0]["message"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        raise ProviderError(f"{_WHAT} answered without a message", failure=Failure.REJECTED) from None
    if not isinstance(message, dict):
        raise ProviderError(f"{_WHAT} answered without a message", failure=Failure.REJECTED)
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise ProviderError(f"{_WHAT} sent a tool call without a function", failure=Failure.REJECTED)
        arguments = function.get("arguments")
        calls.append(
            ToolCall(
                id=str(call.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=arguments if isinstance(arguments, str) else json.dumps(arguments),
            )
        )
    usage = answer.get("usage")
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else 0
    content = message.get("content")
    return Completion(
        message=message,
        content=content if isinstance(content, str) else None,
        tool_calls=calls,
        tokens=tokens if isinstance(tokens, int) else 0,
    )
