"""Leads from inbound email: the sender, the subject and the body of an email to the tenant's address become a lead
(source ``email``), its service guessed from the names of the tenant's services. No LLM: a service is guessed when
its name, or every word of it, appears in the subject or the body (case and accents ignored); the longest match wins.

The email arrives on the integrations queue (``chalicelib/inbound/email.py`` records it once per webhook id) and
its job handler calls ``lead_from_email``. The lead is unassigned (a manager gives it to a rep) and keeps the
email's Message-ID and subject as its origin. A second email from the same address while its lead is open is
merged into it (the subject and text appended to its notes); the same email handled twice makes one lead
(``Idempotency-Key`` derived from its Message-ID).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any

from pydantic import ValidationError

from chalicelib.catalog.models import Product, ProductListQuery
from chalicelib.catalog.service import list_products
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.observability import logger
from chalicelib.core.text import fold
from chalicelib.leads.models import CreateLeadRequest, LeadOrigin
from chalicelib.leads.service import LeadResult, create_lead
from chalicelib.workflows.service import system_actor

__all__ = ["EmailLead", "guess_service", "lead_from_email", "parse_email"]

MAX_NOTES = 3000
_SERVICE_PAGES = 10  # the first 1 000 active catalog items are searched for services
_WORD = re.compile(r"\w+")
_BLANKS = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class EmailLead:
    """What an email says about its sender."""

    name: str
    address: str
    subject: str
    text: str
    message_id: str


class _Text(HTMLParser):
    """The visible text of an HTML body (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def _display_name(name: str, address: str) -> str:
    if name.strip():
        return name.strip()[:120]
    local = address.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part)[:120] or address[:120]


def parse_email(email: Mapping[str, Any]) -> EmailLead | None:
    """The sender and content of an email as the relay posted it; None when it names no usable sender."""
    name, address = parseaddr(str(email.get("from") or ""))
    if "@" not in address:
        return None
    text = str(email.get("text") or "") or _html_text(str(email.get("html") or ""))
    return EmailLead(
        name=_display_name(name, address),
        address=address.strip().lower(),
        subject=str(email.get("subject") or "").strip(),
        text=_BLANKS.sub("\n\n", text).strip(),
        message_id=str(email.get("messageId") or ""),
    )


def _words(text: str) -> set[str]:
    return set(_WORD.findall(fold(text)))


def guess_service(services: list[Product], subject: str, text: str) -> Product | None:
    """The service the email is about: the one with the longest name found in the text whole or word by word (its
    words of 3+ letters, anywhere); a whole match wins a tie. None when no service matches."""
    haystack = fold(f"{subject}\n{text}")
    words = _words(haystack)
    best: tuple[int, int, Product] | None = None
    for service in services:
        name = fold(service.name).strip()
        if not name:
            continue
        significant = {w for w in _WORD.findall(name) if len(w) >= 3}
        if re.search(rf"\b{re.escape(name)}\b", haystack):
            score = (len(name), 1)
        elif significant and significant <= words:
            score = (len(name), 0)
        else:
            continue
        if best is None or score > best[:2]:
            best = (*score, service)
    return best[2] if best else None


def _services(tenant_id: str) -> list[Product]:
    actor = system_actor(tenant_id)
    found: list[Product] = []
    cursor: str | None = None
    for _ in range(_SERVICE_PAGES):
        page = list_products(actor, ProductListQuery(active=True, limit=100, cursor=cursor))
        found += [p for p in page.items if p.kind == "service" and p.active]
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def lead_from_email(tenant_id: str, email: Mapping[str, Any]) -> LeadResult | None:
    """Make (or merge into) the lead an email to the tenant brings; None when the email names no sender."""
    parsed = parse_email(email)
    if parsed is None:
        logger.info("inbound email without a sender address: no lead")
        return None
    with tenant_scope(tenant_id):
        service = guess_service(_services(tenant_id), parsed.subject, parsed.text)
        notes = "\n\n".join(part for part in (parsed.subject, parsed.text) if part)[:MAX_NOTES] or None
        try:
            request = CreateLeadRequest.model_validate(
                {
                    "contactName": parsed.name,
                    "contactEmail": parsed.address,
                    "interestServiceId": service.id if service else None,
                    "source": "email",
                    "notes": notes,
                    "onDuplicate": "merge",
                }
            )
        except ValidationError:
            logger.info("inbound email sender is not a valid address: no lead")
            return None
        origin = LeadOrigin(
            email_message_id=parsed.message_id[:998] or None, email_subject=parsed.subject[:998] or None
        )
        key = hashlib.sha256(f"email\n{parsed.message_id or notes}".encode()).hexdigest()
        return create_lead(system_actor(tenant_id), request, key, origin=origin, owned_by_caller=False)
