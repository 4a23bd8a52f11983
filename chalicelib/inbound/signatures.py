"""Signature checks of every provider's webhooks, all over the raw body (or the signed URL) and in constant time.

Stripe's and Twilio's schemes are checked here too, as their SDKs document them (``stripe.WebhookSignature``,
``twilio.request_validator``), so the webhook functions load neither SDK (issue 20: lean assets, no SDK import on
the webhook's path).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from chalicelib.core.errors import Unauthorized

__all__ = [
    "MERCADOPAGO_TOLERANCE_S",
    "STANDARD_WEBHOOKS_TOLERANCE_S",
    "equal_secrets",
    "verify_basic",
    "verify_bling",
    "verify_ifood",
    "verify_melhorenvio",
    "verify_mercadopago",
    "verify_meta",
    "verify_rappi",
    "verify_standard_webhook",
    "verify_stripe",
    "verify_twilio",
]

STANDARD_WEBHOOKS_TOLERANCE_S = 300
MERCADOPAGO_TOLERANCE_S = 300
RAPPI_TOLERANCE_S = 300
STRIPE_TOLERANCE_S = 300


def _refuse(detail: str) -> Unauthorized:
    return Unauthorized(detail=detail, title="Invalid signature", code="invalid-signature")


def _epoch(stamp: str) -> int | None:
    """A signed time's seconds; None unless it is 1 to 12 ASCII digits (``str.isdigit`` takes '²', which ``int``
    refuses, and ``int`` refuses more than 4300 digits: either was a crash before any signature was checked)."""
    return int(stamp) if 0 < len(stamp) <= 12 and stamp.isascii() and stamp.isdigit() else None


def equal_secrets(given: str, expected: str) -> bool:
    """Whether two secrets are equal, in time independent of where they differ."""
    return hmac.compare_digest(given.encode(), expected.encode())


def verify_basic(user: str, password: str, header: str | None) -> None:
    """Check ``Authorization: Basic base64(<user>:<password>)`` (Pagar.me's webhook authentication), in constant
    time."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _refuse("Authorization: Basic is missing")
    try:
        given = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _refuse("Authorization: Basic is not base64 of user:password") from exc
    given_user, separator, given_password = given.partition(":")
    user_ok = equal_secrets(given_user, user)
    if not separator or not (equal_secrets(given_password, password) and user_ok):
        raise _refuse("the webhook's Basic login does not match")


def _verify_sha256_hex(name: str, secret: str, body: bytes, header: str | None) -> None:
    if not header:
        raise _refuse(f"{name} is missing")
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not given:
        raise _refuse(f"{name} must be sha256=<hex>")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not equal_secrets(given.lower(), expected):
        raise _refuse(f"{name} does not match the body")


def verify_meta(app_secret: str, body: bytes, header: str | None) -> None:
    """Check ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body, key = app secret>``."""
    _verify_sha256_hex("X-Hub-Signature-256", app_secret, body, header)


def verify_bling(client_secret: str, body: bytes, header: str | None) -> None:
    """Check ``X-Bling-Signature-256: sha256=<hex HMAC-SHA256 of the body, key = the app's client secret>``."""
    _verify_sha256_hex("X-Bling-Signature-256", client_secret, body, header)


def verify_melhorenvio(app_secret: str, body: bytes, header: str | None) -> None:
    """Check ``X-ME-Signature``: the HMAC-SHA256 of the body keyed with the MelhorEnvio app's secret. Base64 of the
    digest, as MelhorEnvio's example computes it (not confirmed in its reference: the hex form is taken too)."""
    if not header:
        raise _refuse("X-ME-Signature is missing")
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).digest()
    given = header.strip()
    if not (equal_secrets(given, base64.b64encode(digest).decode()) or equal_secrets(given.lower(), digest.hex())):
        raise _refuse("X-ME-Signature does not match the body")


def verify_ifood(client_secret: str, body: bytes, header: str | None) -> None:
    """Check ``X-IFood-Signature: <hex HMAC-SHA256 of the body, key = the application's client secret>`` (no
    timestamp: replays are caught by the event id, recorded once)."""
    if not header:
        raise _refuse("X-IFood-Signature is missing")
    expected = hmac.new(client_secret.encode(), body, hashlib.sha256).hexdigest()
    if not equal_secrets(header.strip().lower(), expected):
        raise _refuse("X-IFood-Signature does not match the body")


def _signature_parts(header: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for piece in header.split(","):
        name, _, value = piece.strip().partition("=")
        if name and value:
            parts[name.strip()] = value.strip()
    return parts


def _epoch_s(ts: str) -> float | None:
    """A MercadoPago ``ts`` in seconds. Its documentation's examples show seconds, its Java SDK's guide (and our
    fake) milliseconds: both are taken, a 13-digit stamp as milliseconds (seconds reach 13 digits in the year
    33658)."""
    if len(ts) == 13 and ts.isascii() and ts.isdigit():
        return int(ts) / 1000
    return _epoch(ts)


def verify_mercadopago(secret: str, header: str | None, request_id: str | None, data_id: str | None, now: float) -> str:
    """Check ``x-signature: ts=<ts>,v1=<hex HMAC-SHA256>`` over ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``,
    ``ts`` within five minutes of ``now`` (a captured notification cannot be replayed later: each delivery, a retry
    too, is signed anew with its own ``x-request-id`` and time).

    Returns the signed ``ts``. MercadoPago lowercases an alphanumeric ``data.id`` before signing.
    """
    if not header:
        raise _refuse("x-signature is missing")
    if not request_id or not data_id:
        raise _refuse("x-request-id and data.id are part of the signed manifest and must be present")
    parts = _signature_parts(header)
    ts, given = parts.get("ts"), parts.get("v1")
    if not ts or not given:
        raise _refuse("x-signature must be ts=<ts>,v1=<hex>")
    signed_id = data_id.lower() if data_id.isalnum() else data_id
    manifest = f"id:{signed_id};request-id:{request_id};ts:{ts};"
    expected = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    if not equal_secrets(given.lower(), expected):
        raise _refuse("x-signature does not match the notification")
    signed_at = _epoch_s(ts)
    if signed_at is None or abs(now - signed_at) > MERCADOPAGO_TOLERANCE_S:
        raise _refuse("x-signature's ts is not within five minutes of now")
    return ts


def verify_rappi(secret: str, header: str | None, body: bytes, now: float) -> None:
    """Check ``Rappi-Signature: t=<ts>,sign=<hex HMAC-SHA256 of "<ts>.<body>", key = webhook secret>``, the
    timestamp within five minutes of ``now`` (a captured call cannot be replayed later)."""
    if not header:
        raise _refuse("Rappi-Signature is missing")
    parts = _signature_parts(header)
    stamp, given = parts.get("t", ""), parts.get("sign", "")
    at = _epoch(stamp)
    if at is None or not given:
        raise _refuse("Rappi-Signature must be t=<ts>,sign=<hex>")
    if abs(now - at) > RAPPI_TOLERANCE_S:
        raise _refuse("Rappi-Signature's t is not within five minutes of now")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not equal_secrets(given.lower(), expected):
        raise _refuse("Rappi-Signature does not match the body")


def verify_stripe(secret: str, header: str | None, body: bytes, now: float) -> None:
    """Check ``Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>", key = the endpoint's secret>`` (any
    ``v1`` matching is enough: Stripe signs with two secrets while one is rolled), refused when ``t`` is more than
    five minutes old."""
    if not header:
        raise _refuse("Stripe-Signature is missing")
    stamp, given = "", []
    for piece in header.split(","):
        name, _, value = piece.strip().partition("=")
        if name == "t":
            stamp = value
        elif name == "v1" and value:
            given.append(value)
    at = _epoch(stamp)
    if at is None or not given:
        raise _refuse("Stripe-Signature must be t=<ts>,v1=<hex>")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(equal_secrets(candidate, expected) for candidate in given):
        raise _refuse("Stripe-Signature does not match")
    if at < now - STRIPE_TOLERANCE_S:
        raise _refuse("Stripe-Signature's t is more than five minutes old")


def _with_and_without_port(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    try:
        given_port = parts.port
    except ValueError as exc:  # the Host header is the caller's: "host:x" or "host:99999" is no URL Twilio signed
        raise _refuse("X-Twilio-Signature does not match the callback") from exc
    host = parts.netloc.rsplit(":", 1)[0] if given_port else parts.netloc
    port = given_port or (443 if parts.scheme == "https" else 80)
    return parts._replace(netloc=f"{host}:{port}").geturl(), parts._replace(netloc=host).geturl()


def verify_twilio(
    auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]], header: str | None
) -> None:
    """Check ``X-Twilio-Signature``: base64 of the HMAC-SHA1 (key = the account's auth token) of the URL Twilio called
    followed by each form field's name and value, by name; the URL is tried with and without its port, as Twilio's
    own validator does (the port may or may not have been part of what Twilio signed). ``params`` may be the form's
    (name, value) pairs: a name sent more than once signs each of its distinct values, in order, as the validator
    does given a multi-valued form."""
    if not header:
        raise _refuse("X-Twilio-Signature is required")
    values: dict[str, set[str]] = {}
    for name, value in params.items() if isinstance(params, Mapping) else params:
        values.setdefault(name, set()).add(value)
    fields = "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    for candidate in _with_and_without_port(url):
        digest = hmac.new(auth_token.encode(), (candidate + fields).encode(), hashlib.sha1).digest()
        if equal_secrets(header.strip(), base64.b64encode(digest).decode()):
            return
    raise _refuse("X-Twilio-Signature does not match the callback")


def _whsec_key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a Standard Webhooks secret is whsec_<base64>") from exc


def verify_standard_webhook(secret: str, headers: Mapping[str, str], body: bytes, now: int) -> str:
    """Check a Standard Webhooks signature (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

    ``webhook-signature`` holds space-separated ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``; any one
    matching is enough (the sender may sign with two secrets while rotating). A timestamp more than five minutes
    from ``now`` is refused, so a captured request cannot be replayed later. Returns the ``webhook-id``.
    """
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not message_id or not timestamp or not signatures:
        raise _refuse("webhook-id, webhook-timestamp and webhook-signature are required")
    at = _epoch(timestamp)
    if at is None or abs(now - at) > STANDARD_WEBHOOKS_TOLERANCE_S:
        raise _refuse("webhook-timestamp is not within five minutes of now")
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(_whsec_key(secret), signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():
        version, _, given = candidate.partition(",")
        if version == "v1" and equal_secrets(given, expected):
            return message_id
    raise _refuse("webhook-signature does not match the body")
