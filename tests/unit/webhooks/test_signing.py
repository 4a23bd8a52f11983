"""Standard Webhooks signatures, checked with the reference verifier (the ``standardwebhooks`` package)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.webhooks import signing

BODY = '{"type":"order.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"number":1}}'


def test_a_new_secret_is_whsec_and_base64_of_24_to_64_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    assert signing.new_secret() != secret


def test_a_signed_message_verifies_with_the_reference_library() -> None:
    secret = signing.new_secret()
    headers = signing.headers([secret], "msg_1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers) == {
        "type": "order.created",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "data": {"number": 1},
    }


def test_a_tampered_body_or_another_secret_does_not_verify() -> None:
    secret = signing.new_secret()
    headers = signing.headers([secret], "msg_1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("1}", "2}"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "msg_2", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(part.startswith("v1,") for part in headers["webhook-signature"].split(" "))
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


def test_malformed_secrets_are_refused() -> None:
    for bad, why in (
        ("secret", "starts with whsec_"),
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
    ):
        with pytest.raises(ValueError, match=why):
            signing.secret_key(bad)
