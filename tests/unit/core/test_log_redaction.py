"""Log redaction: the process logger's JSON lines hold no secrets or documents, and ordinary values survive."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from chalicelib.core.observability import REDACTED, RedactingFormatter, logger, redact

JWT = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIwMUhYIiwidGVuYW50SWQiOiJ0MSJ9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The process logger writing into a buffer at INFO; call the result to get the JSON lines so far."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    previous_level = logger.log_level
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)


def test_process_logger_uses_the_redacting_formatter() -> None:
    assert isinstance(logger.registered_formatter, RedactingFormatter)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "newPassword",
        "passwd",
        "secret",
        "client_secret",
        "clientSecret",
        "token",
        "access_token",
        "accessToken",
        "refresh_token",
        "refreshToken",
        "Authorization",
        "api_key",
        "apiKey",
        "apikey",
        "X-Api-Key",
        "cpf",
        "customerCpf",
        "cnpj",
        "document",
        "otp",
        "otpCode",
        "code_hash",
        "codeHash",
    ],
)
def test_value_of_sensitive_key_is_masked_in_any_case(lines, key: str) -> None:
    logger.info("user signed in", extra={key: "s3cr3t-value", "user_id": "01HXUSER"})

    (line,) = lines()
    assert line[key] == REDACTED
    assert line["user_id"] == "01HXUSER"
    assert "s3cr3t-value" not in json.dumps(line)


@pytest.mark.parametrize("key", ["footprint", "order_id", "status", "keyboard_layout", "documented_at"])
def test_value_of_ordinary_key_is_kept(lines, key: str) -> None:
    logger.info("saved", extra={key: "plain-value"})

    assert lines()[0][key] == "plain-value"


def test_nested_values_are_masked_without_changing_the_callers_objects(lines) -> None:
    request: dict[str, Any] = {
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "application/json"},
        "body": {"customers": [{"name": "Ana", "cpf": "52998224725"}, {"name": "Bo", "cnpj": "11222333000181"}]},
        "credentials": {"user": "api", "password": "hunter2"},
    }
    logger.info("webhook received", extra={"request": request})

    logged = lines()[0]["request"]
    assert logged["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert logged["body"]["customers"] == [{"name": "Ana", "cpf": REDACTED}, {"name": "Bo", "cnpj": REDACTED}]
    assert logged["credentials"] == REDACTED
    assert request["headers"]["Authorization"] == "Basic dXNlcjpwYXNz"
    assert request["credentials"] == {"user": "api", "password": "hunter2"}


def test_dict_message_is_masked(lines) -> None:
    logger.info({"event": "login", "password": "hunter2hunter2"})

    assert lines()[0]["message"] == {"event": "login", "password": REDACTED}


def test_appended_keys_are_masked(lines) -> None:
    logger.append_keys(authorization="Bearer abc.def.ghi")
    try:
        logger.info("call")
    finally:
        logger.remove_keys(["authorization"])

    assert lines()[0]["authorization"] == REDACTED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calling with Bearer abcDEF123-_.~+/xyz== now", "calling with Bearer *** now"),
        ("header authorization: bearer tok_0123456789 sent", "header authorization: *** sent"),
        (f"token {JWT} expired", "token *** expired"),
        (f"refresh with id_token={JWT}", "refresh with id_token=***"),
        ("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLc5p.", "signing with ***."),
        ("login by cpf 529.982.247-25 failed", "login by cpf *** failed"),
        ("login by cpf 52998224725 failed", "login by cpf *** failed"),
        ("tenant cnpj 11.222.333/0001-81 saved", "tenant cnpj *** saved"),
        ("tenant cnpj 11222333000181 saved", "tenant cnpj *** saved"),
        ("connect failed: password=hunter2hunter2 user=api", "connect failed: password=*** user=api"),
        (
            'provider said {"client_secret": "a b c d", "ok": true}',
            'provider said {"client_secret": "***", "ok": true}',
        ),
        ("retrying with api_key: sk-abc123def", "retrying with api_key: ***"),
    ],
)
def test_secret_in_free_text_is_masked_and_the_rest_kept(lines, text: str, expected: str) -> None:
    logger.info(text, extra={"detail": text})

    line = lines()[0]
    assert line["message"] == expected
    assert line["detail"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 01HXYZ3K4M5N6P7Q8R9S0T1V2W created in 12.5 ms, status 201",
        "module chalicelib.core.api handled GET /orders/123?limit=25",
        "call +5511987654321 at 2026-05-01T12:30:45.123456Z",
        "function arn:aws:lambda:us-east-1:123456789012:function:btrix-dev-api",
        "request 5e3c1a52-2f1c-4a8e-b7e0-0c6f8d1e2a3b amount 1234.56 BRL, epoch 1714564800",
        "token refreshed, secret rotated, password policy checked",
    ],
)
def test_ordinary_text_is_kept_verbatim(lines, text: str) -> None:
    logger.info(text)

    assert lines()[0]["message"] == text


def test_exception_message_and_traceback_are_masked(lines) -> None:
    try:
        raise ValueError("provider refused client_secret=topsecret42 for cpf 529.982.247-25")
    except ValueError:
        logger.exception("sync failed")

    line = lines()[0]
    dumped = json.dumps(line)
    assert "topsecret42" not in dumped
    assert "529.982.247-25" not in dumped
    assert "ValueError" in line["exception"]
    assert line["stack_trace"]["value"] == f"provider refused client_secret={REDACTED} for cpf {REDACTED}"


def test_object_rendered_as_text_is_masked(lines) -> None:
    class Credentials:
        def __str__(self) -> str:
            return "Credentials(token=abc123secret)"

    logger.info("loaded", extra={"loaded": Credentials()})

    assert lines()[0]["loaded"] == f"Credentials(token={REDACTED})"


def test_line_without_secrets_is_what_powertools_writes() -> None:
    record = logging.LogRecord("btrix", logging.INFO, __file__, 7, "order %s shipped", ("01HXORDER",), None)
    record.order_id = "01HXORDER"

    plain = json.loads(LambdaPowertoolsFormatter().format(record))
    redacted = json.loads(RedactingFormatter().format(record))

    assert {k: v for k, v in redacted.items() if k != "timestamp"} == {
        k: v for k, v in plain.items() if k != "timestamp"
    }


def test_redact_returns_clean_values_themselves() -> None:
    clean = {"order": {"id": "01HX", "lines": [{"sku": "A1", "quantity": 2}]}, "total": 12.5}

    assert redact(clean) is clean


def test_redact_copies_only_what_it_masks() -> None:
    lines_list = [{"sku": "A1"}]
    value = {"lines": lines_list, "user": {"password": "hunter2hunter2"}}

    masked = redact(value)

    assert masked == {"lines": [{"sku": "A1"}], "user": {"password": REDACTED}}
    assert masked["lines"] is lines_list
    assert value["user"] == {"password": "hunter2hunter2"}
