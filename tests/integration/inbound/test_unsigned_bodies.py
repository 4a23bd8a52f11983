"""What a webhook function reads before it checks the signature cannot crash it: a body nested deeper than JSON
parsing goes (Stripe's tenant is looked up in the event, Meta's app secret by the numbers in it) is a 401 like any
unsigned body, not a 500 the caller can cause at will."""

from __future__ import annotations

import httpx
import pytest

NESTED = b'{"data": {"object": ' + b"[" * 100_000 + b"}}"


@pytest.mark.parametrize("path", ["/stripe", "/meta"])
def test_a_body_nested_beyond_the_parser_without_a_valid_signature_is_a_401(hooks: httpx.Client, path: str) -> None:
    headers = {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00", "X-Hub-Signature-256": "sha256=00"}
    answer = hooks.post(path, content=NESTED, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
