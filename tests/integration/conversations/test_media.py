"""Media kept for Bitrix24: stored in the local media bucket under the tenant's prefix, handed out as a presigned
URL that downloads the same bytes over plain HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from chalicelib.conversations.media import media_url, store_media
from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.integrations.meta.client import Media


def test_stored_media_downloads_from_its_presigned_url(stack: Any, tenant_id: str) -> None:
    photo = bytes(range(256)) * 100
    url = media_url(store_media(tenant_id, "conv-1", "msg-1", Media(photo, "image/jpeg", "Foto da bike.jpg")))

    answer = httpx.get(url, timeout=30)

    assert answer.status_code == 200
    assert answer.content == photo
    assert answer.headers["content-type"] == "image/jpeg"
    assert "X-Amz-Expires=604800" in url
    key = f"T/{tenant_id}/conversations/conv-1/msg-1/Foto da bike.jpg"
    assert unquote(urlsplit(url).path).endswith(f"/{key}")
    stored = aws.s3().head_object(Bucket=get_settings().media_bucket, Key=key)
    assert stored["ContentLength"] == len(photo)
    assert stored["ServerSideEncryption"] == "aws:kms"


def test_media_without_a_name_is_named_after_the_message_and_its_type(stack: Any, tenant_id: str) -> None:
    url = media_url(store_media(tenant_id, "conv-2", "msg-2", Media(b"OggS voice", "audio/ogg; codecs=opus", None)))

    assert unquote(urlsplit(url).path).endswith(f"T/{tenant_id}/conversations/conv-2/msg-2/msg-2.ogg")
    assert httpx.get(url, timeout=30).content == b"OggS voice"


def test_storing_again_keeps_one_object_with_the_latest_bytes(stack: Any, tenant_id: str) -> None:
    store_media(tenant_id, "conv-3", "msg-3", Media(b"first", "application/pdf", "orcamento.pdf"))
    url = media_url(store_media(tenant_id, "conv-3", "msg-3", Media(b"second", "application/pdf", "orcamento.pdf")))

    listed = aws.s3().list_objects_v2(Bucket=get_settings().media_bucket, Prefix=f"T/{tenant_id}/")
    assert [o["Key"] for o in listed["Contents"]] == [f"T/{tenant_id}/conversations/conv-3/msg-3/orcamento.pdf"]
    assert httpx.get(url, timeout=30).content == b"second"


def test_a_sender_supplied_path_stays_inside_the_message_folder(stack: Any, tenant_id: str) -> None:
    key = store_media(tenant_id, "conv-4", "msg-4", Media(b"x", "text/plain", "../../other-tenant/secret.txt"))
    assert key == f"T/{tenant_id}/conversations/conv-4/msg-4/secret.txt"
    url = media_url(key)

    assert unquote(urlsplit(url).path).endswith(f"T/{tenant_id}/conversations/conv-4/msg-4/secret.txt")
