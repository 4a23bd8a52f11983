"""Fake providers on loopback, speaking the wire formats of Twilio, Meta's WhatsApp Cloud API, Amazon SES v2 and a
Web Push service, for tests and for ``make run`` without credentials.

Each fake is a small HTTP server. It answers as the provider does, can be told to fail a share of requests
(``POST /_config {"failRate": 0.3, "failStatus": 503}``) or the next few (``{"failNext": 2}``), and lists what it
received at ``GET /_received`` (``DELETE /_received`` forgets it). A failed request is recorded too, with the
status it got, so a test can tell what was accepted from what was refused.

The Meta fake also serves what the WhatsApp gateway uses: text, template and media-by-link messages and read
receipts (``{"status": "read", "message_id": …}`` → ``{"success": true}``); media lookup ``GET /<version>/<media
id>`` → ``{"url": "<fake>/_media/<id>", "mime_type", "sha256", "file_size", "id"}`` and the download ``GET
/_media/<id>`` (both with the bearer token). Media to download is registered with ``add_media(id, content,
mime_type)`` or ``POST /_media {"id", "mimeType", "base64"}``. ``_config`` also takes ``failCode`` (the Meta
error code in failure bodies: 130429 with status 429, 131047 with 400 …), ``acceptTokens`` (only these bearer
tokens are good, others get 401 code 190; ``null``: any) and ``closedWindows`` (recipients whose 24-hour window is
closed: free-form messages to them get 400 code 131047, templates go through). It serves Meta's Conversions API
too (``GET /<version>/<pixel id>``, ``POST /<version>/<pixel id>/events``: ``localdev/fake_meta_capi.py``; pixels
are declared with ``capi.add_pixel`` or ``POST /_pixels {"id", "token", "name"}``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from localdev.fake_base import LoopbackFake, sign_hex
from localdev.fake_meta_capi import ConversionsApi

# sign_hex (localdev.fake_base) is also named here, where the bench has imported it from.
__all__ = ["FakeKind", "FakeProvider", "sign_hex"]

FakeKind = Literal["twilio", "meta", "ses", "webpush"]
Reply = tuple[int, dict[str, Any], str | None]


def _twilio(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "2010-04-01" or parts[3] != "Messages.json" or not form.get("To"):
        return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}, None
    if not headers.get("authorization", "").startswith("Basic "):
        return 401, {"code": 20003, "message": "Authenticate", "status": 401}, None
    sid = "SM" + secrets.token_hex(16)
    resource = {
        "sid": sid,
        "account_sid": parts[2],
        "to": form["To"],
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{parts[2]}/Messages/{sid}.json",
    }
    return 201, resource, sid


def _ses(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    if path.rstrip("/") != "/v2/email/outbound-emails":
        return 404, {"message": "Not found"}, None
    sent = json.loads(body or b"{}")
    if not sent.get("FromEmailAddress") or not sent.get("Destination", {}).get("ToAddresses"):
        return 400, {"message": "Missing sender or destination"}, None
    message_id = secrets.token_hex(30)
    return 200, {"MessageId": message_id}, message_id


def _webpush(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    if not path.startswith("/push/") or not headers.get("authorization", "").startswith("vapid t="):
        return 400, {"reason": "missing VAPID authorization"}, None
    if headers.get("content-encoding") != "aes128gcm":
        return 400, {"reason": "payload must be aes128gcm"}, None
    message_id = secrets.token_hex(12)
    return 201, {}, message_id


_ROUTES: dict[FakeKind, Callable[[str, bytes, dict[str, str]], Reply]] = {
    "twilio": _twilio,
    "ses": _ses,
    "webpush": _webpush,
}
_FAILURES: dict[FakeKind, dict[str, Any]] = {
    "twilio": {"code": 20500, "message": "Internal Server Error", "status": 500},
    "meta": {"error": {"message": "Service temporarily unavailable", "type": "OAuthException", "code": 2}},
    "ses": {"message": "Service unavailable"},
    "webpush": {"reason": "temporarily unavailable"},
}


@dataclass(frozen=True)
class _Raw:
    """An answer that is not JSON (a media download)."""

    content: bytes
    content_type: str


_META_MESSAGES = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    4: "Application request limit reached",
    100: "Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    133004: "Server temporarily unavailable",
}
_META_DETAILS = {
    131047: "Message failed to send because more than 24 hours have passed since the customer last replied to this"
    " number.",
}
_META_MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
_META_OTHER_KINDS = ("interactive", "location", "contacts", "reaction")


def _meta_error(code: int, message: str | None = None) -> dict[str, Any]:
    """A Graph API error body, as Meta sends it."""
    error: dict[str, Any] = {
        "message": f"(#{code}) {message or _META_MESSAGES.get(code, 'Error')}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if code in _META_DETAILS:
        error["error_data"] = {"messaging_product": "whatsapp", "details": _META_DETAILS[code]}
    return {"error": error}


def _meta_message_error(sent: dict[str, Any], closed_windows: set[str]) -> str | None:
    """Why Meta would refuse this message body (None: it takes it); ``131047`` for a closed window."""
    kind = sent.get("type", "text")
    content = sent.get(kind)
    if not isinstance(content, dict):
        return f"Param {kind} is required"
    if kind == "template":
        if not content.get("name") or not (content.get("language") or {}).get("code"):
            return "Param template['name'] and template['language']['code'] are required"
        return None
    if str(sent["to"]).lstrip("+") in closed_windows:
        return "131047"
    if kind == "text":
        body = content.get("body")
        return None if isinstance(body, str) and 0 < len(body) <= 4096 else "Param text['body'] is invalid"
    if kind in _META_MEDIA_KINDS:
        link = content.get("link")
        if not content.get("id") and not (isinstance(link, str) and link.startswith(("http://", "https://"))):
            return f"Param {kind}['link'] or {kind}['id'] is required"
        if "caption" in content and kind in ("audio", "sticker"):
            return f"Param {kind}['caption'] is not valid"
        return None
    if kind in _META_OTHER_KINDS:
        return None
    return "Param type is invalid"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


class FakeProvider(LoopbackFake):
    """One fake provider on 127.0.0.1 (a free port unless ``port`` is given)."""

    def __init__(self, kind: FakeKind, port: int = 0, seed: int | None = None) -> None:
        self.kind = kind
        self._init_failures(seed)
        # Meta: the error code failures carry (None: the fake's default), the only good tokens (None: any bearer),
        # recipients outside their 24-hour window.
        self.fail_code: int | None = None
        self.accept_tokens: set[str] | None = None
        self.closed_windows: set[str] = set()
        self.received: list[dict[str, Any]] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self.capi = ConversionsApi()
        self._lock = threading.RLock()
        self._listen(port, self._handler(), f"fake-{kind}")

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> str:
        """Meta: make ``media_id`` downloadable (as a customer's photo or document would be); returns the id."""
        with self._lock:
            self._media[media_id] = (content, mime_type)
        return media_id

    def _configure(self, config: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            failures = self._configure_failures(config)
            if "failCode" in config:
                self.fail_code = None if config["failCode"] is None else int(config["failCode"])
            if "acceptTokens" in config:
                tokens = config["acceptTokens"]
                self.accept_tokens = None if tokens is None else {str(t) for t in tokens}
            if "capiThrottleNext" in config:
                self.capi.throttle(int(config["capiThrottleNext"]))
            if "closedWindows" in config:
                self.closed_windows = {str(to).lstrip("+") for to in config["closedWindows"] or []}
            return {
                **failures,
                "failCode": self.fail_code,
                "acceptTokens": None if self.accept_tokens is None else sorted(self.accept_tokens),
                "closedWindows": sorted(self.closed_windows),
            }

    def _failure(self) -> dict[str, Any]:
        if self.kind == "meta" and self.fail_code is not None:
            return _meta_error(self.fail_code)
        return _FAILURES[self.kind]

    def _meta_authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        return self.accept_tokens is None or token in self.accept_tokens

    def _meta(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any, str | None]:
        parts = path.strip("/").split("/")
        if len(parts) in (2, 3) and self.capi.knows(parts[1]):
            token = headers.get("authorization", "").removeprefix("Bearer ")
            status, answer = self.capi.answer(
                method, parts[1], parts[2] if len(parts) == 3 else None, token, _json(body)
            )
            return status, answer, None
        known = (method == "POST" and len(parts) == 3 and parts[2] == "messages") or (
            method == "GET" and len(parts) == 2
        )
        if not known:
            return 404, _meta_error(100, "Unknown path"), None
        if not self._meta_authorized(headers):
            return 401, _meta_error(190), None
        if parts[0] == "_media":
            with self._lock:
                media = self._media.get(parts[1])
            if media is None:
                return 404, _meta_error(100, "Media not found"), None
            return 200, _Raw(*media), None
        if method == "GET":
            return self._meta_media_info(parts[1])
        sent = json.loads(body or b"{}")
        if sent.get("messaging_product") != "whatsapp":
            return 400, _meta_error(100, "Invalid parameter"), None
        if sent.get("status") == "read":
            if not str(sent.get("message_id") or "").startswith("wamid."):
                return 400, _meta_error(100, "Invalid parameter message_id"), None
            return 200, {"success": True}, None
        if "to" not in sent:
            return 400, _meta_error(100, "Invalid parameter"), None
        with self._lock:
            refusal = _meta_message_error(sent, self.closed_windows)
        if refusal == "131047":
            return 400, _meta_error(131047), None
        if refusal is not None:
            return 400, _meta_error(100, refusal), None
        wamid = "wamid." + secrets.token_urlsafe(24)
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": sent["to"], "wa_id": sent["to"]}],
            "messages": [{"id": wamid}],
        }
        return 200, answer, wamid

    def _meta_media_info(self, media_id: str) -> tuple[int, Any, str | None]:
        with self._lock:
            media = self._media.get(media_id)
        if media is None:
            message = f"Unsupported get request. Object with ID '{media_id}' does not exist"
            return 400, _meta_error(100, message), None
        content, mime_type = media
        info = {
            "messaging_product": "whatsapp",
            "url": f"{self.url}/_media/{media_id}",
            "mime_type": mime_type,
            "sha256": hashlib.sha256(content).hexdigest(),
            "file_size": len(content),
            "id": media_id,
        }
        return 200, info, None

    def _answer(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/_config" and method == "POST":
            return 200, self._configure(json.loads(body or b"{}"))
        if path == "/_received":
            return 200, self._received_log(method)
        if path.startswith("/_pixels/") and path.endswith("/events") and self.kind == "meta":
            pixel_id = path.split("/")[2]
            return 200, {"events": self.capi.events(pixel_id), "testEvents": self.capi.events(pixel_id, test=True)}
        if path == "/_pixels" and method == "POST" and self.kind == "meta":
            given = json.loads(body or b"{}")
            self.capi.add_pixel(str(given["id"]), str(given["token"]), str(given.get("name") or "Demo Pixel"))
            return 200, {"id": str(given["id"])}
        if path == "/_media" and method == "POST" and self.kind == "meta":
            given = json.loads(body or b"{}")
            media_id = str(given.get("id") or secrets.randbelow(10**15))
            self.add_media(media_id, base64.b64decode(given["base64"]), str(given["mimeType"]))
            return 200, {"id": media_id}
        if self._failing():
            status, answer, message_id = self.fail_status, self._failure(), None
        elif self.kind == "meta":
            status, answer, message_id = self._meta(method, path, body, headers)
        else:
            status, answer, message_id = _ROUTES[self.kind](path, body, headers)
        content_type = headers.get("content-type", "")
        if "json" in content_type:
            shown: Any = json.loads(body or b"null")
        elif "x-www-form-urlencoded" in content_type:
            shown = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        else:
            shown = {"bytes": len(body)}
        entry = {"method": method, "path": path, "status": status, "messageId": message_id, "body": shown}
        with self._lock:
            self.received.append(entry)
        return status, answer

    def _respond(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        status, answer = self._answer(method, urlsplit(target).path, body, headers)
        raw = answer if isinstance(answer, _Raw) else _Raw(json.dumps(answer).encode(), "application/json")
        sent = {"Content-Type": raw.content_type}
        if self.kind == "ses" and status >= 500:
            sent["x-amzn-ErrorType"] = "ServiceUnavailable"
        return status, raw.content, sent
