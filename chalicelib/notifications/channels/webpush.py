"""Push: Web Push (RFC 8030) to the browsers where staff subscribed, signed with VAPID (RFC 8292) and encrypted
with ``aes128gcm`` (RFC 8291).

Why Web Push and not SNS mobile push: BTRIX's frontends are web dashboards (REST + websockets), not store apps.
Web Push reaches them with no FCM/APNs platform applications to register per app and store, and the only secret is
our VAPID key, generated at provisioning. SNS mobile push would need native apps and their platform credentials.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from chalicelib.core.config import get_settings
from chalicelib.core.resources import WEB_PUSH_KEY, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, client
from chalicelib.notifications.channels.base import OutgoingMessage, SendResult

__all__ = ["WebPushSender", "new_vapid_key", "vapid_public_key"]

_TTL_S = 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_vapid_key() -> str:
    """A new VAPID private key (P-256 scalar, base64url): the initial value of the web-push secret."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return _b64(key.private_numbers().private_value.to_bytes(32, "big"))


def _private_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = int.from_bytes(_unb64(get_secret(secret_name(WEB_PUSH_KEY))), "big")
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _point(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return bytes(public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def vapid_public_key() -> str:
    """The key browsers pass as ``applicationServerKey`` when they subscribe (uncompressed point, base64url)."""
    return _b64(_point(_private_key().public_key()))


def _vapid_header(endpoint: str, key: Any) -> str:
    import jwt

    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + 12 * 3600,
        "sub": get_settings().web_push_contact,
    }
    token = jwt.encode(claims, key, algorithm="ES256")
    return f"vapid t={token}, k={_b64(_point(key.public_key()))}"


def _encrypt(payload: bytes, subscription: dict[str, Any]) -> bytes:
    import http_ece  # type: ignore[import-untyped]
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = subscription["keys"]
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    return bytes(
        http_ece.encrypt(
            payload,
            private_key=ephemeral,
            dh=_unb64(str(keys["p256dh"])),
            auth_secret=_unb64(str(keys["auth"])),
            version="aes128gcm",
        )
    )


class WebPushSender:
    """Delivers one notification to every browser subscription of its user."""

    name = "webpush"

    def send(self, message: OutgoingMessage) -> SendResult:
        """Accepted when at least one push service took it (201); gone subscriptions (404/410) are reported."""
        if not message.push_subscriptions:
            raise ProviderError("the user has no push subscription", failure=Failure.REJECTED, code="no-subscription")
        key = _private_key()
        payload = json.dumps(
            {"id": message.notification_id, "title": message.subject or "", "body": message.body}
        ).encode()
        accepted: list[str] = []
        gone: list[str] = []
        failures: list[tuple[str, bool]] = []
        for subscription in message.push_subscriptions:
            endpoint = check_provider_url(str(subscription["endpoint"]))
            headers = {
                "Authorization": _vapid_header(endpoint, key),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(_TTL_S),
                "Urgency": "high" if message.urgent else "normal",
                "Topic": message.notification_id[-32:],
            }
            try:
                body = _encrypt(payload, subscription)
                response = client().post(endpoint, content=body, headers=headers)
            except httpx.HTTPError as exc:
                failures.append((f"push service unreachable: {exc}", True))
                continue
            if response.status_code in (200, 201, 202):
                accepted.append(response.headers.get("location") or endpoint)
            elif response.status_code in (404, 410):
                gone.append(endpoint)
            else:
                code = response.status_code
                failures.append((f"push service {code}: {response.text[:200]}", code >= 500 or code == 429))
        if accepted:
            return SendResult(self.name, accepted[0], gone_endpoints=tuple(gone))
        if failures:
            text, _ = failures[0]
            retryable = any(retry for _, retry in failures)
            raise ProviderError(text, failure=Failure.RETRYABLE if retryable else Failure.REJECTED)
        raise ProviderError(
            "every push subscription of the user is gone", failure=Failure.REJECTED, code="no-subscription"
        )
