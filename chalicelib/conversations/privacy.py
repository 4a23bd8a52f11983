"""What the WhatsApp gateway holds about a person, for privacy requests: their conversations on any of the tenant's
numbers (found by their phone's lookup hash), each with its messages and the files they sent. Erasure deletes the
conversations, their messages and files (nothing of them is an accounting record); the Bitrix24 CRM contact made
for each is erased at the processor (``privacy/processors.py``, from ``portalId``/``bitrixContactId`` here)."""

from __future__ import annotations

from typing import Any

from chalicelib.conversations import media, store
from chalicelib.core.personal_data import DataSubject, declare_personal_data, delete_partition, export_partition

__all__ = ["erase_conversations", "export_conversations", "export_media"]


def _conversation_ids(subject: DataSubject) -> list[str]:
    return sorted(
        {c.id for phone in subject.phones for c in store.contact_conversations(subject.tenant_id, phone.lstrip("+"))}
    )


def export_conversations(subject: DataSubject) -> list[dict[str, Any]]:
    """The person's conversations, each with its messages."""
    found = (export_partition(store.conversation_pk(subject.tenant_id, i)) for i in _conversation_ids(subject))
    return [conversation for conversation in found if conversation]


def export_media(subject: DataSubject) -> list[tuple[str, bytes]]:
    """The files the person sent, named ``<conversation>/<message>/<file>``."""
    prefix = f"T/{subject.tenant_id}/conversations/"
    return [
        (key.removeprefix(prefix), media.read_media(key))
        for conversation in _conversation_ids(subject)
        for key in media.conversation_media(subject.tenant_id, conversation)
    ]


def erase_conversations(subject: DataSubject) -> int:
    """Delete the person's conversations, messages and files; answers how many items and files went."""
    erased = 0
    for conversation in _conversation_ids(subject):
        erased += media.delete_conversation_media(subject.tenant_id, conversation)
        erased += delete_partition(store.conversation_pk(subject.tenant_id, conversation))
    return erased


declare_personal_data("conversations", exporter=export_conversations, eraser=erase_conversations, files=export_media)
