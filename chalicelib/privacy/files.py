"""A data export's file: one ZIP in the tenants' file bucket under the tenant's prefix
(``T/<tenant>/privacy-exports/<id>/<subject>-<id>.zip``), tagged as an export (the bucket's lifecycle rule expires it,
``core.resources.EXPORT_DAYS``), downloaded through presigned GETs that expire."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

from chalicelib.core import files
from chalicelib.core.resources import EXPORT_TAG

__all__ = ["download_url", "file_key", "put_zip", "zip_of"]


def file_key(tenant_id: str, export_id: str, subject: str, subject_id: str) -> str:
    """Where the export's ZIP goes: under the tenant's prefix, like every tenant file."""
    return f"T/{tenant_id}/privacy-exports/{export_id}/{subject}-{subject_id}.zip"


def zip_of(data: dict[str, Any], files: Sequence[tuple[str, bytes]]) -> bytes:
    """``data.json`` (UTF-8, indented) and the person's files under ``files/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for name, content in files:
            archive.writestr(f"files/{name}", content)
    return buffer.getvalue()


def put_zip(key: str, body: bytes) -> None:
    """Write the export's ZIP (again, on a retry: the same key is replaced)."""
    disposition = f'attachment; filename="{key.rsplit("/", 1)[-1]}"'
    files.put_file(key, body, "application/zip", disposition, "the privacy export", tagging="=".join(EXPORT_TAG))


def download_url(key: str, expires_in: int) -> str:
    """A presigned GET of the ZIP, valid ``expires_in`` seconds."""
    return files.presigned_get(key, expires_in)
