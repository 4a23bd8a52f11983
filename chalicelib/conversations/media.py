"""Media received on WhatsApp, kept in the media bucket under the tenant's prefix and shared as presigned URLs."""

from __future__ import annotations

from urllib.parse import quote

from chalicelib.core import files
from chalicelib.core.config import get_settings
from chalicelib.integrations.meta.client import Media, default_filename, safe_filename

__all__ = ["conversation_media", "delete_conversation_media", "media_key", "media_url", "read_media", "store_media"]


def media_key(tenant_id: str, conversation_id: str, message_id: str, filename: str) -> str:
    """The object key of a message's file: ``T/<tenant>/conversations/<conversation>/<message>/<file name>``."""
    return f"T/{tenant_id}/conversations/{conversation_id}/{message_id}/{filename}"


def store_media(tenant_id: str, conversation_id: str, message_id: str, media: Media) -> str:
    """Keep ``media`` in the media bucket (its type and name on the object) and return its object key (share it
    with ``media_url``). Storing the same message's file again overwrites it: safe to retry. S3 failures raise
    ``DependencyUnavailable`` (a retry may work).
    """
    filename = safe_filename(media.filename) or default_filename(message_id, media.mime_type)
    key = media_key(tenant_id, conversation_id, message_id, filename)
    # RFC 6266/5987: the name survives any character set; "inline" lets a browser show images itself.
    disposition = f"inline; filename*=UTF-8''{quote(filename, safe='')}"
    files.put_file(key, media.content, media.mime_type, disposition, f"the media file {key}")
    return key


def media_url(key: str) -> str:
    """A presigned GET URL of the stored object ``key``, valid ``settings.media_url_ttl_s`` seconds."""
    return files.presigned_get(key, get_settings().media_url_ttl_s)


def _prefix(tenant_id: str, conversation_id: str) -> str:
    return f"T/{tenant_id}/conversations/{conversation_id}/"


def conversation_media(tenant_id: str, conversation_id: str) -> list[str]:
    """The object keys of every file kept for a conversation."""
    return files.list_files(_prefix(tenant_id, conversation_id), "a conversation's media files")


def read_media(key: str) -> bytes:
    """The bytes of a kept file."""
    return files.read_file(key, f"the media file {key}")


def delete_conversation_media(tenant_id: str, conversation_id: str) -> int:
    """Delete every file kept for a conversation (a person's erasure); answers how many."""
    keys = conversation_media(tenant_id, conversation_id)
    for key in keys:
        files.delete_file(key, f"the media file {key}")
    return len(keys)
