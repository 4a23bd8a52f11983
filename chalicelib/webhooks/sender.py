"""Sending one webhook attempt: the request signed with the endpoint's secrets, POSTed to the checked address
(no redirects, no proxies), the answer's first bytes kept."""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import decrypt_field
from chalicelib.webhooks import signing
from chalicelib.webhooks.attempt_queue import parse_moment
from chalicelib.webhooks.models import AttemptRecord, DeliveryRecord, EndpointRecord, RequestExcerpt, ResponseExcerpt
from chalicelib.webhooks.targets import Target, TargetRefused, loopback_allowed, resolve

if TYPE_CHECKING:
    import httpx

__all__ = ["EXCERPT_BYTES", "attempt", "signing_secrets"]

TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 5.0
EXCERPT_BYTES = 2048


def signing_secrets(endpoint: EndpointRecord) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during a rotation's overlap."""
    secrets = [decrypt_field(endpoint.tenant_id, endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and parse_moment(expires) > clock.now():
        secrets.append(decrypt_field(endpoint.tenant_id, endpoint.previous_secret_encrypted))
    return secrets


@cache
def _client() -> httpx.Client:
    import httpx

    # No redirects (a 3xx is a failure: following one would reach an address nobody checked), no proxies from the
    # environment (the connection goes to the checked address).
    return httpx.Client(
        timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        follow_redirects=False,
        trust_env=False,
    )


def _post(target: Target, body: str, headers: Mapping[str, str]) -> tuple[ResponseExcerpt | None, str | None]:
    import httpx

    client = _client()
    request = client.build_request(
        "POST",
        target.pinned_url,
        content=body.encode(),
        headers={**headers, "host": target.host_header},
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    try:
        response = client.send(request, stream=True)
        try:
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= EXCERPT_BYTES:
                    break  # the rest is not read: a receiver cannot make us download a large answer
        finally:
            response.close()
        excerpt = received[:EXCERPT_BYTES].decode("utf-8", errors="replace")
        return ResponseExcerpt(status=response.status_code, body=excerpt), None
    except httpx.TimeoutException:
        return None, f"no answer within {TIMEOUT_S:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def attempt(endpoint: EndpointRecord, record: DeliveryRecord, number: int) -> AttemptRecord:
    """Send attempt ``number`` of ``record`` to ``endpoint`` and say how it went (an address refused is a failed
    attempt, never a request)."""
    at = clock.now()
    headers = {
        "content-type": "application/json",
        "user-agent": f"btrix-webhooks/{get_settings().version}",
        **signing.headers(signing_secrets(endpoint), record.id, int(at.timestamp()), record.payload),
    }
    started = time.monotonic()
    response: ResponseExcerpt | None = None
    request: RequestExcerpt | None = None
    error: str | None = None
    try:
        target = resolve(endpoint.url, allow_loopback=loopback_allowed())
    except TargetRefused as exc:
        error = f"target refused: {exc}"
    else:
        request = RequestExcerpt(url=endpoint.url, headers=headers, body=record.payload[:EXCERPT_BYTES])
        response, error = _post(target, record.payload, headers)
    return AttemptRecord(
        number=number,
        trigger=record.next_trigger,
        at=clock.isoformat(at),
        duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=response is not None and 200 <= response.status < 300,
        request=request,
        response=response,
        error=error,
    )
