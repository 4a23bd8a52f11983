"""Text between the two sides: WhatsApp messages rendered for Bitrix24, Bitrix24 BB-code rendered for WhatsApp."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MEDIA_TYPES", "UNSUPPORTED", "bbcode_to_whatsapp", "inbound_text"]

MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
UNSUPPORTED = "[unsupported message]"


def inbound_text(message: Mapping[str, Any]) -> str:
    """The text an operator reads for a WhatsApp message (``value.messages[i]`` of a Meta notification).

    Text as written; media by its caption, or ``[<type>]`` when it has none (the file itself travels apart);
    locations, contacts, button and list replies, template quick replies and reactions as a line of text; any
    other type as ``[unsupported message]``.
    """
    kind = str(message.get("type") or "")
    content = message.get(kind)
    content = content if isinstance(content, Mapping) else {}
    if kind == "text":
        return str(content.get("body") or "")
    if kind in MEDIA_TYPES:
        return str(content.get("caption") or "").strip() or f"[{kind}]"
    render = _RENDERERS.get(kind)
    if render is None:
        return UNSUPPORTED
    return render(content, message) or UNSUPPORTED


def _location(location: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    latitude, longitude = location.get("latitude"), location.get("longitude")
    label = ", ".join(str(part) for part in (location.get("name"), location.get("address")) if part)
    if latitude is None or longitude is None:
        return f"📍 {label}" if label else ""
    where = f"https://maps.google.com/?q={latitude},{longitude}"
    return f"📍 {label} ({latitude}, {longitude}) {where}" if label else f"📍 {latitude}, {longitude} {where}"


def _contacts(_: Mapping[str, Any], message: Mapping[str, Any]) -> str:
    lines = []
    for contact in message.get("contacts") or []:
        name = contact.get("name") or {}
        full = name.get("formatted_name") or " ".join(
            str(name[part]) for part in ("first_name", "last_name") if name.get(part)
        )
        details = [
            str(p.get("phone") or p.get("wa_id"))
            for p in contact.get("phones") or []
            if p.get("phone") or p.get("wa_id")
        ]
        details += [str(e["email"]) for e in contact.get("emails") or [] if e.get("email")]
        company = (contact.get("org") or {}).get("company")
        if company:
            details.append(str(company))
        line = f"👤 {full or 'Contact'}"
        lines.append(f"{line}: {', '.join(details)}" if details else line)
    return "\n".join(lines)


def _interactive(interactive: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    reply = interactive.get(str(interactive.get("type") or "")) or {}
    if not isinstance(reply, Mapping):
        return ""
    title = str(reply.get("title") or reply.get("body") or reply.get("name") or "")
    description = reply.get("description")
    return f"{title} — {description}" if title and description else title


def _button(button: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    return str(button.get("text") or button.get("payload") or "")


def _reaction(reaction: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    emoji = reaction.get("emoji")
    return f"reacted {emoji} to a message" if emoji else "removed a reaction"


def _system(system: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    return str(system.get("body") or "")


def _order(order: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    items = order.get("product_items") or []
    lines = [f"🛒 Order ({len(items)} item{'s' if len(items) != 1 else ''})"]
    for item in items:
        price = f" {item.get('item_price')} {item.get('currency') or ''}".rstrip() if item.get("item_price") else ""
        lines.append(f"- {item.get('quantity', 1)} x {item.get('product_retailer_id')}{price}")
    if order.get("text"):
        lines.append(str(order["text"]))
    return "\n".join(lines)


_RENDERERS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], str]] = {
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "system": _system,
    "order": _order,
}

# Bitrix24's own tags that have no WhatsApp counterpart: dropped, their content kept.
_BITRIX_TAGS = (
    "u|color|size|font|left|right|center|justify|p|img|video|list|table|tr|td|th|icon|send|put|disk|dialog|context"
    "|attach|timestamp|report|call|like|user|chat|url"
)
_FORMATS = (("b", "*"), ("i", "_"), ("s", "~"))
_CODE = re.compile(r"\[code\](.*?)\[/code\]", re.IGNORECASE | re.DOTALL)
_QUOTE = re.compile(r"\[quote(?:=[^\]]*)?\](.*?)\[/quote\]", re.IGNORECASE | re.DOTALL)
_URL_WITH_TARGET = re.compile(r"\[url=([^\]]+)\](.*?)\[/url\]", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"\[url\](.*?)\[/url\]", re.IGNORECASE | re.DOTALL)
_MENTION = re.compile(r"\[(user|chat)=[^\]]*\](.*?)\[/\1\]", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"\[br\s*/?\]", re.IGNORECASE)
_LIST_ITEM = re.compile(r"\s*\[\*\]\s*")
_TAG = re.compile(r"\[/?([a-z]+)(?:[ =][^\[\]]*)?\]", re.IGNORECASE)
_SLOT = "\x00{}\x00"


def bbcode_to_whatsapp(text: str) -> str:
    """Bitrix24 BB-code as WhatsApp formatting: ``[b]`` → ``*``, ``[i]`` → ``_``, ``[s]`` → ``~``, ``[code]`` → a
    ``````` block, ``[url=x]t[/url]`` → ``t (x)``, ``[br]`` → new line, ``[quote]`` → ``>`` lines, mentions → the
    name; other tags are dropped (their text kept) and HTML entities unescaped."""
    blocks: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        blocks.append(f"```{match.group(1)}```")
        return _SLOT.format(len(blocks) - 1)

    text = _CODE.sub(keep_code, text)
    text = _BREAK.sub("\n", text)
    text = _MENTION.sub(lambda m: m.group(2), text)
    text = _URL_WITH_TARGET.sub(_link, text)
    text = _URL.sub(lambda m: m.group(1).strip(), text)
    text = _LIST_ITEM.sub("\n• ", text)
    for tag, marker in _FORMATS:
        text = _replace_nested(re.compile(rf"\[{tag}\](.*?)\[/{tag}\]", re.IGNORECASE | re.DOTALL), text, marker)
    text = _replace_nested(_QUOTE, text, None)
    text = _TAG.sub(lambda m: "" if _droppable(m.group(1), text) else m.group(0), text)
    for index, block in enumerate(blocks):
        text = text.replace(_SLOT.format(index), block)
    return html.unescape(text).strip()


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1).strip().strip("\"'"), match.group(2).strip()
    return target if not label or label == target else f"{label} ({target})"


def _replace_nested(pattern: re.Pattern[str], text: str, marker: str | None) -> str:
    # Innermost first, until nothing matches: [b][i]x[/i][/b] → *_x_*.
    while True:
        replaced = pattern.sub(lambda m: _wrap(m.group(1), marker), text)
        if replaced == text:
            return text
        text = replaced


def _wrap(inner: str, marker: str | None) -> str:
    if marker is None:
        return "\n".join(f"> {line}" if line.strip() else ">" for line in inner.strip("\n").split("\n")) + "\n"
    core = inner.strip()
    if not core:
        return inner
    # WhatsApp only formats "*bold*" when the markers touch the text: spaces move outside them.
    leading, trailing = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
    return f"{leading}{marker}{core}{marker}{trailing}"


def _droppable(tag: str, text: str) -> bool:
    name = tag.lower()
    if re.fullmatch(_BITRIX_TAGS, name):
        return True
    # Any other tag is markup only when it is closed somewhere; a lone "[x]" is the writer's text.
    return f"[/{name}]" in text.lower()
