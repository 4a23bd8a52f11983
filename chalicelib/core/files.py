"""The files BTRIX keeps in the media bucket, each under its tenant's prefix (``T/<tenant>/…``): put one, share it as a
presigned GET that expires, read it back, list a prefix, delete it. What the capabilities that keep files share
(exports, privacy exports, shipping labels, conversation media); each names its keys and says what a failure was
about.

The bucket encrypts with its own default (the stage's KMS key in infra), so no request names a key. S3 failures
raise ``DependencyUnavailable`` (a retry may work).

One responsibility: a kept file's bucket calls.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.errors import DependencyUnavailable

__all__ = ["delete_file", "list_files", "presigned_get", "put_file", "read_file"]


def put_file(key: str, body: bytes, content_type: str, disposition: str, what: str, tagging: str | None = None) -> None:
    """Keep ``body`` at ``key`` (again: overwritten), served with its type and ``Content-Disposition``; ``what``
    names it in the failure ("the export")."""
    extra: dict[str, Any] = {"Tagging": tagging} if tagging is not None else {}
    try:
        aws.s3().put_object(
            Bucket=get_settings().media_bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ContentDisposition=disposition,
            **extra,
        )
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail=f"the file bucket did not take {what}") from exc


def presigned_get(key: str, expires_in: int) -> str:
    """A presigned GET of the file at ``key``, valid ``expires_in`` seconds."""
    params = {"Bucket": get_settings().media_bucket, "Key": key}
    return str(aws.s3().generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))


def read_file(key: str, what: str) -> bytes:
    """The bytes of the file at ``key``; ``what`` names it in the failure."""
    try:
        return bytes(aws.s3().get_object(Bucket=get_settings().media_bucket, Key=key)["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail=f"the file bucket did not give {what}") from exc


def list_files(prefix: str, what: str) -> list[str]:
    """The keys of every file under ``prefix`` (all pages); ``what`` names them in the failure."""
    found: list[str] = []
    try:
        pages = aws.s3().get_paginator("list_objects_v2").paginate(Bucket=get_settings().media_bucket, Prefix=prefix)
        for page in pages:
            found += [str(item["Key"]) for item in page.get("Contents", [])]
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail=f"the file bucket did not list {what}") from exc
    return found


def delete_file(key: str, what: str) -> None:
    """Delete the file at ``key`` (gone already: nothing to do)."""
    try:
        aws.s3().delete_object(Bucket=get_settings().media_bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail=f"the file bucket did not delete {what}") from exc
