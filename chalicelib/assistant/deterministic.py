"""The deterministic brain (the default, offline): WhatsApp interactive messages (a list of products, reply buttons
add / checkout / human) and plain-text commands (menu, cart, checkout, status, human, ``2 RP104729K``, a product's
name), in the assistant's language, over the same tools as the LLM brain. Every product and price it says comes
from a tool's result; it invents nothing.

What it reads of a WhatsApp message: text, interactive replies (``list_reply`` / ``button_reply`` ids it made:
``p:<product id>`` shows a product, ``a:<product id>`` adds one, ``cart``, ``checkout``, ``human``, ``menu``),
template quick-reply buttons, and ``order`` messages (a cart sent from the WhatsApp catalog: each
``product_retailer_id`` is a product code, each line added with its quantity).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chalicelib.assistant.models import AddToCartArgs, Answer, GetProductArgs, Language, NoArgs, Reply
from chalicelib.assistant.models import SearchProductsArgs as Search
from chalicelib.assistant.texts import (
    COMMANDS,
    DEFAULT_HANDOVER,
    cart_text,
    link_text,
    product_lines,
    say,
    status_text,
)
from chalicelib.assistant.tools import Toolbox, ToolError
from chalicelib.core.text import fold

__all__ = ["answer", "customer_text", "interactive_list", "reply_buttons", "wants_human"]

_ROW_TITLE = 24  # WhatsApp's limits: a list row's title, its description, a reply button's title
_ROW_DESCRIPTION = 72
_BUTTON_TITLE = 20
_ROWS = 10
_ADD = re.compile(r"^(?:(?:add|adicionar|añadir|anadir|quero|want)\s+)?(\d{1,2})?\s*x?\s*([A-Za-z]{1,3}\d{6}[A-Za-z])$")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def interactive_list(body: str, button: str, rows: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """A WhatsApp list message (Meta's ``interactive`` object): rows of (id, title, description), at most 10."""
    items = [
        {"id": row_id, "title": _cut(title, _ROW_TITLE), "description": _cut(description, _ROW_DESCRIPTION)}
        for row_id, title, description in list(rows)[:_ROWS]
    ]
    return {
        "type": "list",
        "body": {"text": body[:4096]},
        "action": {"button": _cut(button, _BUTTON_TITLE), "sections": [{"title": _cut(button, 24), "rows": items}]},
    }


def reply_buttons(body: str, buttons: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A WhatsApp reply-buttons message: at most three (id, title)."""
    return {
        "type": "button",
        "body": {"text": body[:1024]},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": button_id, "title": _cut(title, _BUTTON_TITLE)}}
                for button_id, title in list(buttons)[:3]
            ]
        },
    }


def customer_text(message: Mapping[str, Any]) -> str:
    """What the customer wrote or picked, as text (an interactive reply: its id; an order: empty)."""
    kind = str(message.get("type") or "")
    if kind == "text":
        return str((message.get("text") or {}).get("body") or "")
    if kind == "interactive":
        reply = message.get("interactive") or {}
        picked = reply.get("list_reply") or reply.get("button_reply") or {}
        return str(picked.get("id") or picked.get("title") or "")
    if kind == "button":
        button = message.get("button") or {}
        return str(button.get("payload") or button.get("text") or "")
    return ""


def wants_human(text: str, keywords: Iterable[str]) -> bool:
    """Whether ``text`` asks for a person (a default word or one of the number's handover keywords)."""
    folded = fold(text).strip()
    words = set(re.findall(r"[\w']+", folded))
    wanted = {fold(k) for k in (*DEFAULT_HANDOVER, *keywords)}
    return folded in wanted or bool(words & {w for w in wanted if " " not in w})


def _command(text: str) -> str | None:
    folded = fold(text).strip().strip("!?.").strip()
    for command, words in COMMANDS.items():
        if folded in words:
            return command
    return None


class _Turn:
    """One message through the deterministic brain."""

    def __init__(self, tools: Toolbox, greeting: str | None) -> None:
        self.tools = tools
        self.language: Language = tools.language
        self.greeting = greeting
        self.result = Answer()

    def _run(self, name: str, args: Any) -> dict[str, Any] | None:
        self.result.tools.append(name)
        try:
            return self.tools.run(name, args.model_dump(exclude_none=True))
        except ToolError as exc:
            self.result.replies.append(Reply(exc.say))
            self.result.failed = True
            return None

    def _say(self, key: str, **values: object) -> str:
        return say(self.language, key, **values)

    def menu(self, greet: bool) -> None:
        found = self._run("search_products", Search())
        if found is None:
            return
        products = found["products"]
        intro = (self.greeting or self._say("greeting")) if greet else self._say("pick_one")
        if not products:
            self.result.replies.append(
                Reply(f"{intro}\n{self._say('empty_catalog')}" if greet else self._say("empty_catalog"))
            )
            return
        self._products(intro, products)

    def _products(self, intro: str, products: list[dict[str, Any]]) -> None:
        rows = [(f"p:{p['productId']}", p["name"], f"{p['priceText']} · {p['code']}") for p in products]
        text = f"{intro}\n{product_lines(products)}"
        self.result.replies.append(Reply(text, interactive_list(intro, self._say("see_products"), rows)))

    def search(self, text: str) -> None:
        found = self._run("search_products", Search(query=text[:60]))
        if found is None:
            return
        if not found["products"]:
            self.result.replies.append(Reply(self._say("none_found", query=text[:60])))
            return
        self._products(self._say("pick_one"), found["products"])

    def show(self, product_id: str) -> None:
        product = self._run("get_product", GetProductArgs(product_id=product_id))
        if product is None:
            return
        description = f"\n{product['description']}" if product["description"] else ""
        text = self._say(
            "product", name=product["name"], code=product["code"], price=product["priceText"], description=description
        )
        buttons = [(f"a:{product['productId']}", self._say("add")), ("checkout", self._say("checkout"))]
        buttons.append(("human", self._say("human")))
        self.result.replies.append(Reply(text, reply_buttons(text, buttons)))

    def add(self, product_id: str, quantity: int) -> None:
        added = self._run("add_to_cart", AddToCartArgs(product_id=product_id, quantity=quantity))
        if added is not None:
            name = added["added"]["name"]
            self.cart(prefix=self._say("added", quantity=quantity, name=name))

    def add_code(self, code: str, quantity: int) -> None:
        product = self._run("get_product", GetProductArgs(code=code.upper()))
        if product is not None:
            self.add(product["productId"], quantity)

    def cart(self, prefix: str | None = None) -> None:
        cart = self._run("view_cart", NoArgs())
        if cart is None:
            return
        text = cart_text(self.language, cart, prefix)
        if not cart["lines"]:
            self.result.replies.append(Reply(text))
            return
        buttons = [
            ("checkout", self._say("checkout")),
            ("menu", self._say("see_products")),
            ("human", self._say("human")),
        ]
        self.result.replies.append(Reply(text, reply_buttons(text, buttons)))

    def checkout(self) -> None:
        placed = self._run("checkout", NoArgs())
        if placed is not None:
            self.result.replies.append(Reply(link_text(self.language, placed)))

    def status(self) -> None:
        order = self._run("order_status", NoArgs())
        if order is not None:
            self.result.replies.append(Reply(status_text(self.language, order)))

    def handover(self, reason: str) -> None:
        self.result.tools.append("handoff_to_human")
        self.tools.handover = reason
        self.result.handover = reason

    def order(self, items: list[Mapping[str, Any]]) -> None:
        """A cart sent from the WhatsApp catalog: each line added by its product code (retailer id)."""
        added = 0
        for item in items[:30]:
            code = str(item.get("product_retailer_id") or "")
            try:
                quantity = max(1, min(50, int(item.get("quantity") or 1)))
            except (TypeError, ValueError):
                quantity = 1
            product = self._run("get_product", GetProductArgs(code=code.upper()[:20]))
            if product is None:
                continue
            if self._run("add_to_cart", AddToCartArgs(product_id=product["productId"], quantity=quantity)) is not None:
                added += 1
        if added:
            self.cart()


def answer(
    message: Mapping[str, Any], tools: Toolbox, *, greeting: str | None, keywords: Iterable[str], first: bool
) -> Answer:
    """What the deterministic brain answers to one customer message (``first``: the conversation's first turn)."""
    turn = _Turn(tools, greeting)
    kind = str(message.get("type") or "")
    if kind == "order":
        turn.order(list((message.get("order") or {}).get("product_items") or []))
        return turn.result
    text = customer_text(message).strip()
    if not text:
        if kind in ("text", "interactive", "button"):
            turn.menu(greet=first)
        else:
            turn.result.replies.append(Reply(say(tools.language, "media")))
        return turn.result
    actions: dict[str, Callable[[], None]] = {
        "menu": lambda: turn.menu(greet=first or fold(text) in {"oi", "ola", "hi", "hello", "hola"}),
        "cart": turn.cart,
        "checkout": turn.checkout,
        "status": turn.status,
        "human": lambda: turn.handover("asked for a person"),
    }
    if text in actions:
        actions[text]()
    elif text.startswith(("p:", "a:")):
        (turn.show if text.startswith("p:") else lambda pid: turn.add(pid, 1))(text[2:])
    elif wants_human(text, keywords):
        turn.handover(f"the customer wrote: {text[:200]}")
    elif (command := _command(text)) is not None:
        actions[command]()
    elif (match := _ADD.match(text.strip())) is not None:
        turn.add_code(match.group(2), int(match.group(1) or 1))
    elif first:
        turn.menu(greet=True)
    else:
        turn.search(text)
    return turn.result
