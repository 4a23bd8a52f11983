"""Hostile signature headers and callback URLs are refused as bad signatures (401), never a crash; Twilio's
multi-valued forms verify as its SDK's validator computes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from chalicelib.core.errors import Unauthorized
from chalicelib.inbound.signatures import verify_rappi, verify_standard_webhook, verify_stripe, verify_twilio

BODY = b'{"id":"evt_1"}'
NOW = 1_800_000_000
# '²' and '١٨' pass str.isdigit() (int() refuses '²'), int() refuses over 4300 digits; padded or signed numbers
HOSTILE_STAMPS = ["9" * 5000, "\u00b2", "\u0661\u0668" + "0" * 8, "0" * 20 + str(NOW), " " + str(NOW), "+1800000000"]


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("stamp", HOSTILE_STAMPS)
def test_a_rappi_time_that_is_not_plain_digits_is_a_bad_signature(stamp: str) -> None:
    with pytest.raises(Unauthorized):
        verify_rappi("rappi-secret", f"t={stamp},sign={_hex('rappi-secret', stamp.encode() + b'.' + BODY)}", BODY, NOW)


@pytest.mark.parametrize("stamp", HOSTILE_STAMPS)
def test_a_standard_webhooks_time_that_is_not_plain_digits_is_a_bad_signature(stamp: str) -> None:
    key = b"secret-bytes-0123456789abcdefgh"
    digest = hmac.new(key, f"msg_1.{stamp}.".encode() + BODY, hashlib.sha256).digest()
    headers = {"webhook-id": "msg_1", "webhook-timestamp": stamp, "webhook-signature": "v1," + b64(digest)}
    with pytest.raises(Unauthorized):
        verify_standard_webhook("whsec_" + b64(key), headers, BODY, NOW)


@pytest.mark.parametrize("stamp", HOSTILE_STAMPS)
def test_a_stripe_time_that_is_not_plain_digits_is_a_bad_signature_even_when_signed(stamp: str) -> None:
    with pytest.raises(Unauthorized):
        verify_stripe("whsec_abc", f"t={stamp},v1={_hex('whsec_abc', stamp.encode() + b'.' + BODY)}", BODY, NOW)


@pytest.mark.parametrize("host", ["hooks.btrix.test:x", "hooks.btrix.test:99999", "hooks.btrix.test:-1"])
def test_a_twilio_callback_whose_host_has_no_valid_port_is_a_bad_signature(host: str) -> None:
    with pytest.raises(Unauthorized):
        verify_twilio("token", f"https://{host}/twilio", {"MessageSid": "SM1"}, "c2lnbmF0dXJl")


class _MultiDict(dict[str, str]):
    """The multi-valued form the SDK's validator reads through ``getall`` (Flask's, WebOb's MultiDict)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def test_a_twilio_form_that_repeats_a_name_verifies_as_the_sdk_signs_every_value() -> None:
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    url = "https://hooks.btrix.test/twilio?tenant=t1"
    form = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("MediaUrl", "https://b"), ("MediaUrl", "https://a")]
    signature: Any = RequestValidator("token").compute_signature(url, _MultiDict(form))
    assert RequestValidator("token").validate(url, _MultiDict(form), signature)
    verify_twilio("token", url, form, signature)
    verify_twilio("token", url, list(reversed(form)), signature)  # the order they arrive in is not signed
    with pytest.raises(Unauthorized):
        verify_twilio("token", url, form[:-1], signature)  # a value left out
    with pytest.raises(Unauthorized):
        verify_twilio("token", url, [*form[:-1], ("MediaUrl", "https://c")], signature)  # a value changed
