"""What the shop assistant holds about a person, for privacy requests: their cart and the assistant's memory of
each of their conversations (what they said, what was offered). Erasure deletes both."""

from __future__ import annotations

from typing import Any

from chalicelib.assistant import store
from chalicelib.conversations import service as conversations
from chalicelib.core.personal_data import DataSubject, declare_personal_data

__all__ = ["erase_assistant", "export_assistant"]


def _conversations(subject: DataSubject) -> list[str]:
    return [c for phone in subject.phones for c in conversations.contact_conversation_ids(subject.tenant_id, phone)]


def export_assistant(subject: DataSubject) -> list[dict[str, Any]]:
    """The person's carts and the assistant's memories of them."""
    found: list[dict[str, Any]] = []
    for conversation in _conversations(subject):
        cart = store.get_cart(subject.tenant_id, conversation)
        memory = store.get_memory(subject.tenant_id, conversation)
        found += [{"cart": cart.model_dump()}] if cart else []
        found += [{"memory": memory.model_dump()}] if memory else []
    return found


def erase_assistant(subject: DataSubject) -> int:
    """Delete the person's carts and the assistant's memories of them; answers how many."""
    return sum(store.forget_customer(subject.tenant_id, conversation) for conversation in _conversations(subject))


declare_personal_data("assistant", exporter=export_assistant, eraser=erase_assistant)
