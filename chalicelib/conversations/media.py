"""Media received on WhatsApp, kept in the media bucket under the tenant's prefix and shared as presigned URLs."""

from __future__ import annotations

from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.integrations.meta.client import Media, default_filename, safe_filename

__all__ = ["conversation_media", "delete_conversation_media", "media_key", "media_url", "read_media", "store_media"]


def media_key(tenant_id: str, conversation_id: str, message_id: str, filename: str) -> str:
    """The object key of a message's file: ``T/<tenant>/conversations/<conversation>/<message>/<file name>``."""
    return f"T/{tenant_id}/conversations/{conversation_id}/{message_id}/{filename}"


def store_media(tenant_id: str, conversation_id: str, message_id: str, media: Media) -> str:
    """Keep ``media`` in the media bucket (its type and name on the object) and return its object key (share it
    with ``media_url``). Storing the same message's file again overwrites it: safe to retry.

    The bucket encrypts with its own default (the stage's KMS key in infra), so the request names no key: naming
    ``aws:kms`` without one would pick the account's ``aws/s3`` key instead. S3 failures raise
    ``DependencyUnavailable`` (a retry may work).
    """
    settings = get_settings()
    filename = safe_filename(media.filename) or default_filename(message_id, media.mime_type)
    key = media_key(tenant_id, conversation_id, message_id, filename)
    try:
        aws.s3().put_object(
            Bucket=settings.media_bucket,
            Key=key,
            Body=media.content,
            ContentType=media.mime_type,
            # RFC 6266/5987: the name survives any character set; "inline" lets a browser show images itself.
            ContentDisposition=f"inline; filename*=UTF-8''{quote(filename, safe='')}",
        )
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail=f"the media bucket did not take {key}") from exc
    return key


def media_url(key: str) -> str:
    """A presigned GET URL of the stored object ``key``, valid ``settings.media_url_ttl_s`` seconds."""
    settings = get_settings()
    params = {"Bucket": settings.media_bucket, "Key": key}
    return str(aws.s3().generate_presigned_url("get_object", Params=params, ExpiresIn=settings.media_url_ttl_s))


def _prefix(tenant_id: str, conversation_id: str) -> str:
    return f"T/{tenant_id}/conversations/{conversation_id}/"


def conversation_media(tenant_id: str, conversation_id: str) -> list[str]:
    """The object keys of every file kept for a conversation."""
    settings = get_settings()
    found: list[str] = []
    try:
        pages = (
            aws.s3()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=settings.media_bucket, Prefix=_prefix(tenant_id, conversation_id))
        )
        for page in pages:
            found += [str(item["Key"]) for item in page.get("Contents", [])]
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail="the media bucket did not list a conversation's files") from exc
    return found


def read_media(key: str) -> bytes:
    """The bytes of a kept file."""
    try:
        return bytes(aws.s3().get_object(Bucket=get_settings().media_bucket, Key=key)["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail=f"the media bucket did not give {key}") from exc


def delete_conversation_media(tenant_id: str, conversation_id: str) -> int:
    """Delete every file kept for a conversation (a person's erasure); answers how many."""
    keys = conversation_media(tenant_id, conversation_id)
    bucket = get_settings().media_bucket
    try:
        for key in keys:
            aws.s3().delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail="the media bucket did not delete a conversation's files") from exc
    return len(keys)
