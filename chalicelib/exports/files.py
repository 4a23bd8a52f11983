"""Export files in the tenants' file bucket (the media bucket: "media and exports"), under the tenant's prefix.

A file is written in slices (a job runs in many short invocations): bytes not yet uploaded wait in a carry object
next to the file; once they reach ``PART_BYTES`` (S3's least part of a multipart upload) they become the next part.
A file that never reaches it is written with one PutObject. Objects are tagged ``btrix-kind=export``, which the
bucket's lifecycle rule expires (``core.resources.EXPORT_DAYS``); downloads are presigned GETs that expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import aws, files
from chalicelib.core.config import get_settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.resources import EXPORT_TAG
from chalicelib.exports.models import UploadedPart

__all__ = [
    "PART_BYTES",
    "carry_key",
    "complete",
    "download_url",
    "drop_carry",
    "file_key",
    "put_whole",
    "read_carry",
    "start_upload",
    "upload_part",
    "write_carry",
]

PART_BYTES = 5 * 1024 * 1024
_TAGGING = "=".join(EXPORT_TAG)
_CSV = "text/csv; charset=utf-8"


def file_key(tenant_id: str, export_id: str, filename: str) -> str:
    """``T/<tenant>/exports/<export id>/<file name>``: under the tenant's prefix, like every tenant file."""
    return f"T/{tenant_id}/exports/{export_id}/{filename}"


def carry_key(key: str, slice_no: int) -> str:
    """Where the bytes of ``key`` that slice ``slice_no`` wrote but did not upload wait for the next slice (named by
    slice: a slice retried after a crash reads what the previous slice left, not what it wrote itself)."""
    return f"{key}.carry-{slice_no}"


def _disposition(key: str) -> str:
    # RFC 6266/5987: the name survives any character set; "attachment": browsers save it.
    return f"attachment; filename*=UTF-8''{quote(key.rsplit('/', 1)[-1], safe='')}"


def _failed(what: str) -> DependencyUnavailable:
    return DependencyUnavailable(detail=f"the file bucket did not {what}")


def read_carry(key: str, slice_no: int) -> bytes:
    """The bytes slice ``slice_no`` left waiting for ``key``."""
    try:
        response = aws.s3().get_object(Bucket=get_settings().media_bucket, Key=carry_key(key, slice_no))
        return bytes(response["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        raise _failed("give the export's waiting bytes") from exc


def write_carry(key: str, slice_no: int, body: bytes) -> None:
    """Keep ``body`` as the bytes slice ``slice_no`` leaves waiting for ``key``."""
    try:
        aws.s3().put_object(
            Bucket=get_settings().media_bucket, Key=carry_key(key, slice_no), Body=body, Tagging=_TAGGING
        )
    except (ClientError, BotoCoreError) as exc:
        raise _failed("keep the export's waiting bytes") from exc


def drop_carry(key: str, slice_no: int) -> None:
    """Forget the bytes slice ``slice_no`` left (once the next slice recorded that it used them); a failure only
    leaves the object for the bucket's lifecycle rule."""
    try:
        aws.s3().delete_object(Bucket=get_settings().media_bucket, Key=carry_key(key, slice_no))
    except (ClientError, BotoCoreError):
        logger.warning("an export's used carry object stays until it expires", extra={"key": key})


def start_upload(key: str) -> str:
    """Begin the multipart upload of ``key``; returns its upload id."""
    try:
        response = aws.s3().create_multipart_upload(
            Bucket=get_settings().media_bucket,
            Key=key,
            ContentType=_CSV,
            ContentDisposition=_disposition(key),
            Tagging=_TAGGING,
        )
    except (ClientError, BotoCoreError) as exc:
        raise _failed("start the export's upload") from exc
    return str(response["UploadId"])


def upload_part(key: str, upload_id: str, number: int, body: bytes) -> UploadedPart:
    """Upload part ``number`` (again, if a retry: the same number replaces it)."""
    try:
        response = aws.s3().upload_part(
            Bucket=get_settings().media_bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
    except (ClientError, BotoCoreError) as exc:
        raise _failed("take a part of the export") from exc
    return UploadedPart(number=number, etag=str(response["ETag"]))


def complete(key: str, upload_id: str, parts: Sequence[UploadedPart]) -> None:
    """Join the uploaded parts into the file."""
    try:
        aws.s3().complete_multipart_upload(
            Bucket=get_settings().media_bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
        )
    except (ClientError, BotoCoreError) as exc:
        raise _failed("complete the export's upload") from exc


def put_whole(key: str, body: bytes) -> None:
    """Write a file small enough for one request."""
    files.put_file(key, body, _CSV, _disposition(key), "the export", tagging=_TAGGING)


def download_url(key: str, expires_in: int) -> str:
    """A presigned GET of the file, valid ``expires_in`` seconds."""
    return files.presigned_get(key, expires_in)
