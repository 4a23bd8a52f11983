"""A fake OpenAI-compatible chat-completions server on loopback, for the shop assistant's tests and ``make run``.

``POST /v1/chat/completions`` (``Authorization: Bearer <key>``; a wrong key when ``api_key`` is set → 401) answers
as OpenAI does: ``{id, object: "chat.completion", model, choices: [{index, message: {role: "assistant", content,
tool_calls?}, finish_reason: "tool_calls" | "stop"}], usage: {prompt_tokens, completion_tokens, total_tokens}}``.

What it answers:

- **Scripted** (tests): ``script(*steps)`` queues one answer per completion. A step is ``{"tools": [(name,
  arguments)]}`` (``arguments`` a dict, or a raw string sent as is: invalid JSON on demand; any name: an unknown tool
  on demand), ``{"text": "..."}`` (a final answer: a price that is not in the catalog, or a model that never calls
  tools), ``{"status": 500}`` (an outage) or ``{"delay": seconds}`` (a timeout), and ``usage`` overrides the tokens.
- **Shopper** (no script left: ``make run`` and the bench): a tiny deterministic model that uses the tools as a
  good model would — a wish to buy (``quero 2 camiseta``) → ``search_products`` then ``add_to_cart`` with the found
  product's id; ``carrinho`` → ``view_cart``; ``finalizar`` / ``checkout`` → ``checkout``; anything else →
  ``search_products``; after tool results it writes its answer from them (names, prices and links as returned).

``POST /_config {"failNext": n, "failStatus": 503, "delayS": 0}``; ``GET|DELETE /_received`` (each request's body).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from typing import Any

from localdev.fake_base import Answer, LoopbackFake, json_handler

__all__ = ["FakeLLM"]

_BUY = re.compile(r"\b(?:quero|compro|want|buy|add|adicionar|comprar)\s+(?:(\d{1,2})\s+)?(.+)$", re.IGNORECASE)


class FakeLLM(LoopbackFake):
    """A fake OpenAI-compatible server on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "llm"

    def __init__(self, port: int = 0, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.fail_next = 0
        self.fail_status = 503
        self.delay_s = 0.0
        self.received: list[dict[str, Any]] = []
        self._steps: deque[dict[str, Any]] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-llm")

    # --- python helpers for tests and make run ------------------------------------------------------------------

    def script(self, *steps: dict[str, Any]) -> None:
        """Queue the answers of the next completions (see the module docstring)."""
        with self._lock:
            self._steps.extend(steps)

    def reset(self) -> None:
        """Forget the script and the failure settings (what a test left)."""
        with self._lock:
            self._steps.clear()
            self.fail_next = 0
            self.delay_s = 0.0

    def pending(self) -> int:
        """Scripted answers not played yet."""
        with self._lock:
            return len(self._steps)

    def requests(self) -> list[dict[str, Any]]:
        """The completions asked for (their JSON bodies), oldest first."""
        with self._lock:
            return [dict(r["body"]) for r in self.received if r["path"] == "/v1/chat/completions"]

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python; the settings now in force."""
        with self._lock:
            self.fail_next = int(config.get("failNext", self.fail_next))
            self.fail_status = int(config.get("failStatus", self.fail_status))
            self.delay_s = float(config.get("delayS", self.delay_s))
            return {"failNext": self.fail_next, "failStatus": self.fail_status, "delayS": self.delay_s}

    # --- the server ---------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        path = target.split("?", 1)[0]
        if path == "/_config" and method == "POST":
            self.configure(**json.loads(body or b"{}"))
            return Answer(200, {"ok": True})
        if path == "/_received":
            with self._lock:
                if method == "DELETE":
                    self.received.clear()
                    return Answer(204)
                return Answer(200, {"received": list(self.received)})
        try:
            sent = json.loads(body or b"{}")
        except ValueError:
            sent = None
        status, answer, delay = self._complete(method, path, sent, headers)
        with self._lock:
            self.received.append({"method": method, "path": path, "body": sent, "status": status})
        if delay:
            time.sleep(delay)
        return Answer(status, answer)

    def _complete(
        self, method: str, path: str, sent: Any, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], float]:
        if method != "POST" or path != "/v1/chat/completions":
            return 404, _error("not_found", f"Unknown request URL: {method} {path}"), 0.0
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error("invalid_api_key", "Incorrect API key provided"), 0.0
        if not isinstance(sent, dict) or not isinstance(sent.get("messages"), list) or not sent.get("model"):
            return 400, _error("invalid_request_error", "model and messages are required"), 0.0
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, _error("server_error", "The server had an error"), 0.0
            step = self._steps.popleft() if self._steps else None
            delay = self.delay_s
        if step is None:
            step = _shopper(sent["messages"])
        if "status" in step:
            return int(step["status"]), _error("server_error", "The server had an error"), 0.0
        delay = float(step.get("delay", delay))
        return 200, self._completion(sent, step), delay

    def _completion(self, sent: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": step.get("text")}
        if step.get("tools"):
            message["tool_calls"] = [
                {
                    "id": f"call_{number}_{i}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                    },
                }
                for i, (name, arguments) in enumerate(step["tools"])
            ]
        prompt = sum(len(str(m.get("content") or "")) for m in sent["messages"]) // 4 + 1
        usage = step.get("usage") or {"prompt_tokens": prompt, "completion_tokens": 20, "total_tokens": prompt + 20}
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": sent["model"],
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if step.get("tools") else "stop"}
            ],
            "usage": usage,
        }


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


def _shopper(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What a well-behaved model does with this conversation (see the module docstring)."""
    turn: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        turn.insert(0, message)
    wish = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    results = [json.loads(m["content"]) for m in turn if m.get("role") == "tool"]
    buy = _BUY.search(wish)
    if not results:
        folded = wish.casefold()
        if any(word in folded for word in ("finalizar", "checkout", "pagar")):
            return {"tools": [("checkout", {})]}
        if any(word in folded for word in ("carrinho", "cart", "carrito")):
            return {"tools": [("view_cart", {})]}
        query = (buy.group(2) if buy else wish).strip()[:60]
        return {"tools": [("search_products", {"query": query.split()[0] if query else ""})]}
    last = results[-1]
    if buy and "products" in last and last["products"] and len(results) == 1:
        product = last["products"][0]
        return {"tools": [("add_to_cart", {"productId": product["productId"], "quantity": int(buy.group(1) or 1)})]}
    return {"text": _written(last)}


def _written(result: dict[str, Any]) -> str:
    """A final answer made of a tool result (its names, prices and links as they are)."""
    if "error" in result:
        return f"Desculpe, não consegui: {result['error']}"
    if "paymentUrl" in result:
        return f"Pedido #{result['number']} criado, total {result['totalText']}. Pague aqui: {result['paymentUrl']}"
    cart = result.get("cart", result if "lines" in result else None)
    if cart is not None:
        if not cart["lines"]:
            return "Seu carrinho está vazio."
        lines = "; ".join(f"{line['quantity']} x {line['name']}" for line in cart["lines"])
        return f"No carrinho: {lines}. Total {cart['totalText']}. Escreva finalizar para pagar."
    if result.get("products"):
        return "Temos: " + "; ".join(f"{p['name']} ({p['code']}) por {p['priceText']}" for p in result["products"])
    if "products" in result:
        return "Não encontrei esse produto."
    return "Pronto."
