"""Pieces of the local worker and function-URL server that need no stack."""

from __future__ import annotations

import base64

import pytest

from localdev.function_urls import function_url_event
from localdev.worker import rate_seconds


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions_become_intervals(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_expressions_are_not_rates() -> None:
    assert rate_seconds("cron(0 12 * * ? *)") is None


def test_function_url_event_has_the_payload_2_shape() -> None:
    event = function_url_event(
        "POST", "/hooks/meta?hub.mode=subscribe", {"Content-Type": "application/json", "X-Sig": "a"}, b'{"a":1}'
    )
    assert event["version"] == "2.0"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["rawPath"] == "/hooks/meta"
    assert event["queryStringParameters"] == {"hub.mode": "subscribe"}
    assert event["headers"]["x-sig"] == "a"
    assert (event["body"], event["isBase64Encoded"]) == ('{"a":1}', False)


def test_binary_bodies_are_base64_encoded() -> None:
    event = function_url_event("POST", "/hooks/x", {"content-type": "application/octet-stream"}, b"\x00\x01")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01"


def test_empty_maps_from_dynamodb_local_streams_get_their_type_back() -> None:
    from localdev.worker import restore_empty_maps

    image = {"PK": {"S": "a"}, "data": {}, "nested": {"M": {"inner": {}}}, "list": {"L": [{}, {"S": "x"}]}}
    assert restore_empty_maps(image) == {
        "PK": {"S": "a"},
        "data": {"M": {}},
        "nested": {"M": {"inner": {"M": {}}}},
        "list": {"L": [{"M": {}}, {"S": "x"}]},
    }
