"""A number of a tenant's own Meta app is verified with that app's secret, which a container keeps for a short while
(one read of the channel, not one per delivery): a secret changed meanwhile works at once (a refused signature reads
it again), and the old one stops working once the kept one is older than ``CREDENTIALS_TTL_S``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.channels import service as channels
from chalicelib.core.clock import frozen_clock
from chalicelib.core.errors import Unauthorized
from chalicelib.inbound import meta
from chalicelib.inbound.request import HookRequest
from chalicelib.inbound.routing import WhatsAppRoute
from chalicelib.inbound.tenants import CREDENTIALS_TTL_S

PAYLOAD = {
    "object": "whatsapp_business_account",
    "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "PN1"}}}]}],
}
BODY = json.dumps(PAYLOAD).encode()


def _signed(secret: str) -> HookRequest:
    signature = "sha256=" + hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    return HookRequest("POST", "/hooks/meta", {"x-hub-signature-256": signature}, {}, "", BODY)


def test_a_tenant_app_secret_is_kept_until_its_ttl_and_read_again_when_a_signature_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = {"secret": "first-app-secret"}
    reads: list[tuple[str, str]] = []

    def whatsapp_secrets(tenant_id: str, channel_id: str) -> tuple[str, str]:
        reads.append((tenant_id, channel_id))
        return stored["secret"], "verify-token"

    monkeypatch.setattr(channels, "whatsapp_secrets", whatsapp_secrets)
    monkeypatch.setattr(meta, "find_whatsapp_route", lambda number: WhatsAppRoute(number, "TENANT1", "CHANNEL1"))
    monkeypatch.setattr(meta, "get_secret", lambda _: "btrix-app-secret")
    monkeypatch.setattr(meta, "_kept_secrets", {})
    with frozen_clock(datetime(2026, 12, 7, tzinfo=UTC)) as advance:
        assert meta._verify(_signed("first-app-secret")) == PAYLOAD  # parsed once: the handler uses it
        assert meta._verify(_signed("first-app-secret")) == PAYLOAD
        assert reads == [("TENANT1", "CHANNEL1")]  # the second delivery used the kept secret

        stored["secret"] = "second-app-secret"  # the tenant changed it: refused with the kept one, read again
        assert meta._verify(_signed("second-app-secret")) == PAYLOAD
        assert len(reads) == 2
        with pytest.raises(Unauthorized):  # the old secret no longer verifies
            meta._verify(_signed("first-app-secret"))

        stored["secret"] = "third-app-secret"  # changed again: the kept secret counts until its TTL, not after
        kept = len(reads)
        advance(timedelta(seconds=CREDENTIALS_TTL_S - 1))
        assert meta._verify(_signed("second-app-secret")) == PAYLOAD
        assert len(reads) == kept
        advance(timedelta(seconds=1))
        with pytest.raises(Unauthorized):
            meta._verify(_signed("second-app-secret"))
