"""Pagination: ``limit`` + an opaque cursor, HMAC-signed and bound to the tenant and the list it came from.

A cursor carries DynamoDB's LastEvaluatedKey. It is signed over (tenant, list scope, key) so that a client
can neither forge one nor replay one of another tenant's or another list's: either way it gets a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import Field

from chalicelib.core.errors import FieldError, MalformedRequest
from chalicelib.core.i18n import N_
from chalicelib.core.models import ApiModel
from chalicelib.core.resources import CURSOR_SIGNING_KEY, secret_name
from chalicelib.core.secrets import get_secret

if TYPE_CHECKING:
    from chalicelib.core.db.store import QueryPage

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "PageParams", "decode_cursor", "encode_cursor", "paginate"]

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
_SIGNATURE_BYTES = 16

T = TypeVar("T")
S = TypeVar("S")
KeySource = Callable[[], bytes]


class PageParams(ApiModel):
    """The query parameters of every list."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1-100)")
    cursor: str | None = Field(default=None, description="Opaque cursor from the previous page's nextCursor")


class Page(ApiModel, Generic[T]):
    """One page of a list; ``nextCursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def _signing_key() -> bytes:
    return get_secret(secret_name(CURSOR_SIGNING_KEY)).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, tenant_id: str, scope: str, payload: str) -> bytes:
    message = f"{tenant_id}\n{scope}\n{payload}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def encode_cursor(last_key: dict[str, str], *, tenant_id: str, scope: str, key: KeySource = _signing_key) -> str:
    """The cursor for the page after ``last_key`` (a LastEvaluatedKey of string attributes)."""
    payload = _b64(json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_sign(key(), tenant_id, scope, payload))}"


def decode_cursor(cursor: str, *, tenant_id: str, scope: str, key: KeySource = _signing_key) -> dict[str, str]:
    """The LastEvaluatedKey inside ``cursor``; raises ``MalformedRequest`` (400) if it was not ours."""
    invalid = MalformedRequest(
        detail=N_("The cursor is not valid for this list."),
        errors=(FieldError("query.cursor", N_("invalid or foreign cursor"), "invalid-cursor"),),
    )
    payload, _, signature = cursor.partition(".")
    try:
        presented = _unb64(signature)
        expected = _sign(key(), tenant_id, scope, payload)
        if not payload or not hmac.compare_digest(presented, expected):
            raise invalid
        decoded = json.loads(_unb64(payload))
    except (ValueError, UnicodeError) as exc:
        raise invalid from exc
    if not isinstance(decoded, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in decoded.items()):
        raise invalid
    return decoded


def paginate(
    page_type: type[Page[T]],
    params: PageParams,
    *,
    tenant_id: str,
    scope: str,
    fetch: Callable[[dict[str, str] | None], QueryPage[S]],
    convert: Callable[[S], T],
) -> Page[T]:
    """One page of a list: the cursor decoded (bound to ``tenant_id`` and ``scope``), ``fetch`` run from there,
    each item converted, and the next cursor signed."""
    start = decode_cursor(params.cursor, tenant_id=tenant_id, scope=scope) if params.cursor else None
    page = fetch(start)
    cursor = encode_cursor(page.last_key, tenant_id=tenant_id, scope=scope) if page.last_key else None
    return page_type(items=[convert(item) for item in page.items], next_cursor=cursor)
