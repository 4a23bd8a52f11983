"""The WhatsApp Cloud API (Graph API) client, BTRIX's one client for Meta: send messages (the gateway's relay and
the notifications' WhatsApp sender), mark them read, download media, and "who am I" for the integrations' test;
``graph_call`` for the other Graph products (the Conversions API, ``meta/conversions.py``).

Every call goes to ``settings.meta_graph_url`` (https, or plain-http loopback for the fakes when
``notifications_allow_loopback``) with the number's bearer token, through the shared provider client. Meta's
error bodies (``{"error": {"code", "message", ...}}``) become ``MetaApiError`` (a ``ProviderError``): retryable for
the failures that trying later can fix (outages, throughput and pacing limits), fatal when the token is refused,
and ``outside_window`` for the 24-hour customer-service window (131047: only an approved template may go out).
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, client

if TYPE_CHECKING:
    import httpx

    from chalicelib.integrations.meta.credentials import MetaCredentials

__all__ = [
    "MAX_MEDIA_BYTES",
    "MEDIA_KINDS",
    "OUTSIDE_WINDOW",
    "RATE_LIMIT_CODES",
    "RETRYABLE_CODES",
    "Media",
    "MetaApiError",
    "MetaNumber",
    "default_filename",
    "error_from_status",
    "fetch_media",
    "graph_call",
    "interactive_payload",
    "mark_read",
    "media_payload",
    "safe_filename",
    "send_message",
    "template_payload",
    "text_payload",
    "whoami",
]

OUTSIDE_WINDOW = "131047"
# Meta error codes that mean "later": temporary outages, throughput and per-user pacing limits.
# 17, 32, 613: Graph API's user, page and per-endpoint call limits (the Conversions API answers them too).
RETRYABLE_CODES = frozenset(
    {"1", "2", "4", "17", "32", "613", "80007", "130429", "131000", "131016", "131056", "133004"}
)
RATE_LIMIT_CODES = frozenset({"4", "17", "32", "613", "80007", "130429", "131056"})
# Codes that mean the token is not (or no longer) good for this number: nothing goes out until it is replaced.
_REFUSED_CODES = frozenset({"0", "10", "190", "200"})
MEDIA_KINDS = frozenset({"image", "audio", "video", "document", "sticker"})
_CAPTIONED = frozenset({"image", "video", "document"})
# WhatsApp's own ceiling for documents; nothing larger is stored.
MAX_MEDIA_BYTES = 100 * 1024 * 1024
# The extensions WhatsApp's media types are known by (``mimetypes`` has no amr/3gpp and calls ogg ".oga").
_EXTENSIONS = {
    "audio/ogg": ".ogg",
    "audio/amr": ".amr",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "video/3gpp": ".3gp",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
}


@dataclass(frozen=True)
class MetaNumber:
    """A connected WhatsApp number and the token that may send from it."""

    phone_number_id: str
    access_token: str = field(repr=False)


@dataclass(frozen=True)
class Media:
    """A downloaded media file: its bytes, type and a file name (Meta's, or one derived from the type)."""

    content: bytes = field(repr=False)
    mime_type: str
    filename: str | None


class MetaApiError(ProviderError):
    """Raised when Meta refuses a call or cannot be reached; ``retryable`` says whether trying later may work."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, retryable: bool = False
    ) -> None:
        if retryable:
            failure = Failure.RETRYABLE
        elif status in (401, 403) or code in _REFUSED_CODES:
            failure = Failure.FATAL
        else:
            failure = Failure.REJECTED
        super().__init__(message, failure=failure, status=status, code=code)
        self.message = message

    @property
    def outside_window(self) -> bool:
        """The customer has not written in 24 hours: only an approved template may be sent."""
        return self.code == OUTSIDE_WINDOW

    @property
    def rate_limited(self) -> bool:
        """Too many messages (per number, per app or to this user): slow down and retry."""
        return self.code in RATE_LIMIT_CODES

    @property
    def refused(self) -> bool:
        """The token is invalid, expired or lacks the permission: retrying will not help until it is replaced."""
        return self.fatal


def text_payload(to: str, body: str) -> dict[str, Any]:
    """A free-form text message (inside the 24-hour window only)."""
    return {"to": _recipient(to), "type": "text", "text": {"body": body}}


def media_payload(
    to: str, kind: str, link: str, caption: str | None = None, filename: str | None = None
) -> dict[str, Any]:
    """A media message Meta downloads from ``link``; ``caption`` on image/video/document, ``filename`` on documents.

    Raises ``ValueError`` for an unknown kind or a caption on audio or a sticker (WhatsApp shows none: send the
    text as its own message rather than lose it).
    """
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}")
    media: dict[str, Any] = {"link": link}
    if caption:
        if kind not in _CAPTIONED:
            raise ValueError(f"{kind} messages carry no caption")
        media["caption"] = caption
    if filename and kind == "document":
        media["filename"] = filename
    return {"to": _recipient(to), "type": kind, kind: media}


def interactive_payload(to: str, interactive: dict[str, Any]) -> dict[str, Any]:
    """An interactive message (a list, reply buttons: Meta's ``interactive`` object), inside the 24-hour window."""
    return {"to": _recipient(to), "type": "interactive", "interactive": interactive}


def template_payload(to: str, name: str, language: str, components: list[Any] | None = None) -> dict[str, Any]:
    """An approved template (the only kind of message allowed outside the 24-hour window)."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    return {"to": _recipient(to), "type": "template", "template": template}


def send_message(number: MetaNumber, payload: dict[str, Any]) -> str:
    """Send ``payload`` (one of the ``*_payload`` builders) from ``number``; returns the message's ``wamid``."""
    body = {"messaging_product": "whatsapp", **payload}
    answer = _post(number, body)
    try:
        return str(answer["messages"][0]["id"])
    except (KeyError, IndexError, TypeError) as exc:
        raise MetaApiError("Meta accepted the message without giving its id", status=200) from exc


def mark_read(number: MetaNumber, wamid: str) -> None:
    """Mark the received message ``wamid`` (and the ones before it) read: the customer sees the blue ticks."""
    answer = _post(number, {"messaging_product": "whatsapp", "status": "read", "message_id": wamid})
    if answer.get("success") is not True:
        raise MetaApiError("Meta did not confirm the read receipt", status=200)


def fetch_media(number: MetaNumber, media_id: str, filename: str | None = None) -> Media:
    """Download a received media file: ``GET /<version>/<media id>`` for its URL, then that URL with the token.

    ``filename`` is the one the message carried (documents have one); without it a name is made from the media
    id and the type. Files over ``MAX_MEDIA_BYTES`` are refused (not retryable).
    """
    info = _request(number.access_token, "GET", _graph_url(media_id))
    url = info.get("url")
    if not isinstance(url, str) or not url:
        raise MetaApiError(f"Meta gave no download URL for media {media_id}", status=200)
    declared = info.get("file_size")
    if isinstance(declared, int | str) and str(declared).isdigit() and int(declared) > MAX_MEDIA_BYTES:
        raise MetaApiError(f"media {media_id} is {declared} bytes, over the {MAX_MEDIA_BYTES} limit")
    content, header_type = _download(number, _checked(url), media_id)
    mime_type = str(info.get("mime_type") or header_type or "application/octet-stream")
    return Media(
        content=content, mime_type=mime_type, filename=safe_filename(filename) or default_filename(media_id, mime_type)
    )


def whoami(credentials: MetaCredentials) -> str:
    """The number the token may send from (``GET /<phone number id>``), for the integrations' connection test."""
    number = MetaNumber(credentials.phone_number_id, credentials.access_token.get_secret_value())
    params = "?fields=display_phone_number,verified_name"
    found = _request(number.access_token, "GET", _graph_url(f"{number.phone_number_id}{params}"))
    return f"{found.get('verified_name') or 'WhatsApp number'} ({found.get('display_phone_number') or found.get('id')})"


def error_from_status(status: dict[str, Any]) -> MetaApiError | None:
    """The error of a ``failed`` status notification (``value.statuses[i]``), or None for any other status.

    Meta reports some refusals only this way, after accepting the send (131047 outside the window, 131026
    undeliverable): the same ``MetaApiError`` as a refused call, so callers treat both alike.
    """
    if status.get("status") != "failed":
        return None
    errors = status.get("errors")
    first = _mapping(errors[0] if isinstance(errors, list) and errors else None)
    code = str(first["code"]) if first.get("code") is not None else None
    details = _mapping(first.get("error_data")).get("details")
    text = details or first.get("message") or first.get("title") or "the message failed"
    return MetaApiError(
        f"Meta {code}: {text}" if code else f"Meta: {text}", code=code, retryable=code in RETRYABLE_CODES
    )


def _recipient(to: str) -> str:
    return to.strip().lstrip("+")


def _graph_url(path: str) -> str:
    settings = get_settings()
    return f"{_checked(settings.meta_graph_url).rstrip('/')}/{settings.meta_graph_version}/{path}"


def _checked(url: str) -> str:
    try:
        return check_provider_url(url)
    except ProviderError as exc:
        raise MetaApiError(str(exc)) from exc


def graph_call(access_token: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Graph API call (``path`` under the configured version, e.g. ``<pixel id>/events``) with ``access_token``
    as the bearer token (never in the URL): the answer's JSON object, or a ``MetaApiError``."""
    return _request(access_token, method, _graph_url(path), body)


def _post(number: MetaNumber, body: dict[str, Any]) -> dict[str, Any]:
    return _request(number.access_token, "POST", _graph_url(f"{number.phone_number_id}/messages"), body)


def _request(access_token: str, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {access_token}"}
    try:
        response = client().request(method, url, json=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise MetaApiError("Meta did not answer in time", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise MetaApiError(f"Meta could not be reached ({type(exc).__name__})", retryable=True) from exc
    if response.status_code != 200:
        raise _error(response)
    try:
        answer = response.json()
    except ValueError as exc:
        raise MetaApiError("Meta answered 200 without JSON", status=200) from exc
    if not isinstance(answer, dict):
        raise MetaApiError("Meta answered 200 without a JSON object", status=200)
    return answer


def _download(number: MetaNumber, url: str, media_id: str) -> tuple[bytes, str | None]:
    import httpx

    headers = {"Authorization": f"Bearer {number.access_token}"}
    try:
        with client().stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                raise _error(response)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_MEDIA_BYTES:
                raise MetaApiError(f"media {media_id} is {declared} bytes, over the {MAX_MEDIA_BYTES} limit")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_MEDIA_BYTES:
                    raise MetaApiError(f"media {media_id} is over the {MAX_MEDIA_BYTES} bytes limit")
                chunks.append(chunk)
            content_type = response.headers.get("content-type")
    except httpx.TimeoutException as exc:
        raise MetaApiError(f"Meta did not send media {media_id} in time", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise MetaApiError(
            f"Meta media {media_id} could not be downloaded ({type(exc).__name__})", retryable=True
        ) from exc
    return b"".join(chunks), content_type


def _error(response: httpx.Response) -> MetaApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = _mapping(_mapping(body).get("error"))
    code = str(error["code"]) if error.get("code") is not None else None
    text = str(error.get("message") or response.text[:200] or response.reason_phrase)
    details = _mapping(error.get("error_data")).get("details")
    if details and str(details) not in text:
        text = f"{text}: {details}"
    status = response.status_code
    retryable = status >= 500 or status == 429 or code in RETRYABLE_CODES
    label = f"Meta {status} {code}" if code else f"Meta {status}"
    return MetaApiError(f"{label}: {text}", status=status, code=code, retryable=retryable)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def safe_filename(name: str | None) -> str | None:
    """``name`` fit for an S3 key and a download header (no path, no control characters), or None if nothing is left."""
    if not name:
        return None
    # A name from the sender becomes part of an S3 key and a download header: its last path part, no control
    # characters, no leading dots.
    last = re.split(r"[/\\]", name)[-1]
    cleaned = re.sub(r"[\x00-\x1f\x7f]+", "_", last).strip(". ")
    return cleaned[:200] or None


def default_filename(media_id: str, mime_type: str) -> str:
    """A file name for media that came without one: the id and the extension of its type (``.bin`` if unknown)."""
    base_type = mime_type.split(";", 1)[0].strip().lower()
    extension = _EXTENSIONS.get(base_type) or mimetypes.guess_extension(base_type) or ".bin"
    return f"{safe_filename(media_id) or 'media'}{extension}"
