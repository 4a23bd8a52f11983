"""Signature checks of every provider (Stripe's and Twilio's against their SDKs' own signers), and the parsing around
them."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from chalicelib.core.db import keys
from chalicelib.core.errors import Unauthorized
from chalicelib.inbound.bitrix24 import nest_form
from chalicelib.inbound.request import HookRequest
from chalicelib.inbound.signatures import (
    verify_basic,
    verify_ifood,
    verify_melhorenvio,
    verify_mercadopago,
    verify_meta,
    verify_rappi,
    verify_standard_webhook,
    verify_stripe,
    verify_twilio,
)
from chalicelib.integrations.rappi.client import sign as rappi_sign
from localdev.fake_mercadopago_preapprovals import mercadopago_signature as fake_mercadopago_signature

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def _hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def test_meta_accepts_its_own_hmac_and_refuses_any_change() -> None:
    verify_meta("app-secret", BODY, "sha256=" + _hex("app-secret", BODY))
    verify_meta("app-secret", BODY, "sha256=" + _hex("app-secret", BODY).upper())
    for header in (None, "", "sha256=", "sha1=" + _hex("app-secret", BODY), "sha256=" + _hex("other", BODY)):
        with pytest.raises(Unauthorized):
            verify_meta("app-secret", BODY, header)
    with pytest.raises(Unauthorized):
        verify_meta("app-secret", BODY + b" ", "sha256=" + _hex("app-secret", BODY))


def test_stripe_signatures_are_checked_as_the_sdk_signs_them() -> None:
    import stripe

    now = 1_800_000_000
    signed = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_abc", timestamp=now)
    verify_stripe("whsec_abc", signed, BODY, now + 299)
    rolled = f"{signed},v1={_hex('whsec_old', f'{now}.'.encode() + BODY)}"  # two secrets while rolling one
    verify_stripe("whsec_old", rolled, BODY, now)
    for header in (None, "", f"t={now}", signed.replace("v1=", "v0="), signed.replace(f"t={now}", f"t={now + 1}")):
        with pytest.raises(Unauthorized):
            verify_stripe("whsec_abc", header, BODY, now)
    with pytest.raises(Unauthorized):
        verify_stripe("whsec_other", signed, BODY, now)
    with pytest.raises(Unauthorized):
        verify_stripe("whsec_abc", signed, BODY + b" ", now)
    with pytest.raises(Unauthorized, match="five minutes"):
        verify_stripe("whsec_abc", signed, BODY, now + 301)


def test_twilio_signatures_are_checked_as_its_request_validator_computes_them() -> None:
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "AccountSid": "AC1", "To": "+5511988887777"}
    url = "https://hooks.btrix.test/twilio?tenant=t1"
    signature = RequestValidator("token").compute_signature(url, params)
    verify_twilio("token", url, params, signature)
    # Twilio may have signed the URL with its port, or without the one the request shows.
    verify_twilio("token", "https://hooks.btrix.test:443/twilio?tenant=t1", params, signature)
    with_port = RequestValidator("token").compute_signature("https://hooks.btrix.test:443/twilio?tenant=t1", params)
    verify_twilio("token", url, params, with_port)
    assert RequestValidator("token").validate(url, params, signature)
    for token, at, fields, header in (
        ("token", url, params, None),
        ("other", url, params, signature),
        ("token", url.replace("t1", "t2"), params, signature),
        ("token", url, {**params, "MessageStatus": "failed"}, signature),
    ):
        with pytest.raises(Unauthorized):
            verify_twilio(token, at, fields, header)


def test_pagarme_webhooks_carry_the_basic_login_of_the_account() -> None:
    def basic(login: bytes) -> str:
        return "Basic " + base64.b64encode(login).decode()

    verify_basic("loja", "s3cret:with-colon", basic(b"loja:s3cret:with-colon"))
    verify_basic("loja", "s3cret", "basic " + base64.b64encode(b"loja:s3cret").decode())
    for header in (
        None,
        "",
        "Basic",
        "Bearer " + base64.b64encode(b"loja:s3cret").decode(),
        basic(b"loja:other"),
        basic(b"other:s3cret"),
        basic(b"lojas3cret"),
        "Basic not-base64!",
        basic(b"loja:s3cret "),
    ):
        with pytest.raises(Unauthorized):
            verify_basic("loja", "s3cret", header)


def test_ifood_signs_the_raw_body_with_the_client_secret_as_its_docs_show() -> None:
    # iFood's own example (developer portal, "webhook request"): secret "dummysecret", this body, this signature.
    body = (
        b'{"code":"PLC","createdAt":"2023-02-20T18:19:03.20162269Z","fullCode":"PLACED",'
        b'"id":"a38ba215-f949-4b2c-982a-0582a9d0c10e","merchantId":"cad65e8f-6fc6-438a-b159-e64a902a6b9a",'
        b'"orderId":"2c97e104-35ed-4c18-85d7-854a40b6b9e3"}'
    )
    given = "6f9ed23a7b505a3b6907c5f6eb2ad1b056fbf35a643d365a9a072ed7aabca153"
    verify_ifood("dummysecret", body, given)
    verify_ifood("dummysecret", body, given.upper())
    for secret, sent, header in (
        ("dummysecret", body, None),
        ("dummysecret", body, ""),
        ("other", body, given),
        ("dummysecret", body.replace(b'"code":', b'"code": '), given),  # the same JSON, other bytes
    ):
        with pytest.raises(Unauthorized):
            verify_ifood(secret, sent, header)


def test_melhorenvio_signs_the_body_with_the_app_secret() -> None:
    digest = hmac.new(b"me-secret", BODY, hashlib.sha256).digest()
    verify_melhorenvio("me-secret", BODY, base64.b64encode(digest).decode())
    verify_melhorenvio("me-secret", BODY, digest.hex())
    for secret, header in (("me-secret", None), ("me-secret", ""), ("other", base64.b64encode(digest).decode())):
        with pytest.raises(Unauthorized):
            verify_melhorenvio(secret, BODY, header)


def test_rappi_signs_the_time_and_the_body_and_refuses_old_or_changed_calls() -> None:
    now = 1_790_000_000
    header = f"t={now},sign={_hex('rappi-secret', f'{now}.'.encode() + BODY)}"
    assert header == rappi_sign("rappi-secret", BODY, at=now)  # what the fake sends is what Rappi sends
    verify_rappi("rappi-secret", header, BODY, now + 299)
    verify_rappi("rappi-secret", header.upper().replace("T=", "t=").replace("SIGN=", "sign="), BODY, now)
    for given, body, at in (
        (None, BODY, now),
        ("", BODY, now),
        (f"sign={_hex('rappi-secret', BODY)}", BODY, now),  # no time
        (f"t={now}", BODY, now),
        (header, BODY + b" ", now),
        (header, BODY, now + 301),  # replayed later
        (header, BODY, now - 301),
        (rappi_sign("other-secret", BODY, at=now), BODY, now),
    ):
        with pytest.raises(Unauthorized):
            verify_rappi("rappi-secret", given, body, at)


def test_mercadopago_signs_the_manifest_of_id_request_and_time() -> None:
    now = 1704908010
    manifest = b"id:abc123;request-id:req-1;ts:1704908010;"
    header = f"ts=1704908010, v1={_hex('mp-secret', manifest)}"
    # Alphanumeric ids are lowercased.
    assert verify_mercadopago("mp-secret", header, "req-1", "ABC123", now) == "1704908010"
    for given, request_id, data_id in (
        (None, "req-1", "abc123"),
        (header, "req-2", "abc123"),
        (header, "req-1", "abc124"),
        (header, None, "abc123"),
        ("ts=1704908010", "req-1", "abc123"),
        (header.replace("1704908010,", "1704908011,"), "req-1", "abc123"),
    ):
        with pytest.raises(Unauthorized):
            verify_mercadopago("mp-secret", given, request_id, data_id, now)


def test_mercadopago_refuses_a_notification_signed_more_than_five_minutes_from_now() -> None:
    now = 1_790_000_000
    for at_ms in (now * 1000, (now - 299) * 1000, (now + 299) * 1000):  # the fake signs milliseconds
        header = fake_mercadopago_signature("mp-secret", "1319", "req-1", at_ms)
        assert verify_mercadopago("mp-secret", header, "req-1", "1319", now) == str(at_ms)
    seconds = f"ts={now - 299},v1={_hex('mp-secret', f'id:1319;request-id:req-1;ts:{now - 299};'.encode())}"
    assert verify_mercadopago("mp-secret", seconds, "req-1", "1319", now) == str(now - 299)  # its examples: seconds
    for at_ms in ((now - 301) * 1000, (now + 301) * 1000):
        header = fake_mercadopago_signature("mp-secret", "1319", "req-1", at_ms)
        with pytest.raises(Unauthorized, match="within five minutes") as refused:
            verify_mercadopago("mp-secret", header, "req-1", "1319", now)
        assert refused.value.code == "invalid-signature"  # the problem type of every stale signature
    for ts in (str(now - 301), "179000000²", "1" * 14):  # stale seconds; not a time (signed, yet a 401, not a crash)
        signed = f"ts={ts},v1={_hex('mp-secret', f'id:1319;request-id:req-1;ts:{ts};'.encode())}"
        with pytest.raises(Unauthorized):
            verify_mercadopago("mp-secret", signed, "req-1", "1319", now)


def _standard(secret_bytes: bytes, message_id: str, ts: int, body: bytes) -> str:
    digest = hmac.new(secret_bytes, f"{message_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_standard_webhooks_accept_any_listed_signature_within_five_minutes() -> None:
    old, new = b"old-secret-bytes-0123456789abcd", b"new-secret-bytes-0123456789abcd"
    secret = "whsec_" + base64.b64encode(new).decode()
    now = 1_800_000_000
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now - 299),
        "webhook-signature": f"{_standard(old, 'msg_1', now - 299, BODY)} {_standard(new, 'msg_1', now - 299, BODY)}",
    }
    assert verify_standard_webhook(secret, headers, BODY, now) == "msg_1"
    for changed in (
        {"webhook-timestamp": str(now - 301)},
        {"webhook-timestamp": "soon"},
        {"webhook-id": "msg_2"},
        {"webhook-signature": _standard(old, "msg_1", now - 299, BODY)},
        {"webhook-signature": ""},
    ):
        with pytest.raises(Unauthorized):
            verify_standard_webhook(secret, {**headers, **changed}, BODY, now)


def test_bitrix_forms_become_nested_dicts_and_lists() -> None:
    form = nest_form(
        [
            ("event", "ONIMCONNECTORMESSAGEADD"),
            ("data[MESSAGES][1][message][text]", "second"),
            ("data[MESSAGES][0][message][text]", "first"),
            ("data[MESSAGES][0][im][chat_id]", "7"),
            ("auth[member_id]", "m1"),
        ]
    )
    assert form == {
        "event": "ONIMCONNECTORMESSAGEADD",
        "data": {"MESSAGES": [{"message": {"text": "first"}, "im": {"chat_id": "7"}}, {"message": {"text": "second"}}]},
        "auth": {"member_id": "m1"},
    }


def test_a_function_url_event_gives_the_raw_body_and_the_signed_url() -> None:
    event = {
        "rawPath": "/",
        "rawQueryString": "tenant=T1&notification=N1",
        "headers": {"Host": "abc.lambda-url.us-east-1.on.aws", "X-Forwarded-Proto": "https"},
        "requestContext": {"http": {"method": "POST", "sourceIp": "1.2.3.4"}, "requestId": "r1"},
        "body": base64.b64encode(b"\xff\x00raw").decode(),
        "isBase64Encoded": True,
    }
    request = HookRequest.of(event)
    assert request.body == b"\xff\x00raw"
    assert request.url == "https://abc.lambda-url.us-east-1.on.aws/?tenant=T1&notification=N1"
    assert (request.query["tenant"], request.header("HOST"), request.method) == (
        "T1",
        "abc.lambda-url.us-east-1.on.aws",
        "POST",
    )


def test_inbound_receipt_keys_round_trip_and_stay_outside_every_tenant() -> None:
    pk = keys.inbound_receipts_pk("meta", 3)
    assert pk == "INBOUND#meta#3"
    assert keys.parse_inbound_receipts_pk(pk) == ("meta", 3)
    assert keys.inbound_receipt_sk("meta", "ab12") == "meta#ab12"
    for bad in ("INBOUND#meta#x", "ROUTE#meta#1", "INBOUND#meta"):
        with pytest.raises(keys.InvalidKey):
            keys.parse_inbound_receipts_pk(bad)
    with pytest.raises(keys.InvalidKey):
        keys.inbound_receipts_pk("me#ta", 1)
