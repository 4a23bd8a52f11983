"""Consent records over HTTP: the current answer per purpose, its history (how, when, which policy), the rules
``allows`` applies for every capability, and the customer writes that record consents too."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.customers import service
from chalicelib.customers.models import Consent, Consents
from tests.support.commerce import create_customer
from tests.support.identity import add_user, call, signup


def _consent(granted: bool) -> Consent:
    return Consent(granted=granted, updated_at="2026-12-06T10:00:00.000Z")


@pytest.mark.parametrize(
    ("consents", "purpose", "channel", "allowed"),
    [
        (Consents(), "transactional", None, True),
        (Consents(transactional=_consent(False)), "transactional", "email", False),
        (Consents(), "marketing", None, False),
        (Consents(email=_consent(True)), "marketing", None, False),
        (Consents(marketing=_consent(True)), "marketing", None, True),
        (Consents(email=_consent(True)), "marketing", "email", True),
        (Consents(email=_consent(True)), "marketing", "sms", False),
        (Consents(email=_consent(True), marketing=_consent(False)), "marketing", "email", False),
        (Consents(marketing=_consent(True)), "marketing", "whatsapp", False),
        (Consents(whatsapp=_consent(True)), "whatsapp", None, True),
        (Consents(whatsapp=_consent(False)), "whatsapp", None, False),
    ],
)
def test_the_rules_every_capability_asks(consents: Consents, purpose: Any, channel: str | None, allowed: bool) -> None:
    assert service.allows(consents, purpose, channel) is allowed


def test_consents_are_recorded_with_how_and_which_policy_and_kept_in_the_history(api: Any) -> None:
    admin, _ = signup(api)
    customer = create_customer(api, admin, name="Ana Lima", consents={"email": True})
    path = f"/customers/{customer['id']}/consents"
    current = call(api, "GET", path, headers=admin.headers())
    assert current.status_code == 200, current.body
    assert current.json_body["consents"]["email"]["method"] == "api"
    assert current.json_body["allowed"] == {
        "marketing": False,
        "transactional": True,
        "email": True,
        "sms": False,
        "whatsapp": False,
    }

    body = {"purpose": "marketing", "granted": False, "method": "form", "policyVersion": "2026-11", "evidence": "x"}
    withdrawn = call(api, "POST", path, body, admin.headers())
    assert withdrawn.status_code == 200, withdrawn.body
    assert withdrawn.json_body["consents"]["marketing"]["policyVersion"] == "2026-11"
    assert withdrawn.json_body["allowed"]["email"] is False  # marketing withdrawn stops every channel
    assert service.may_use(admin.tenant_id, customer["id"], "marketing", "email") is False
    again = call(api, "POST", path, body, admin.headers())
    assert again.json_body == withdrawn.json_body  # the same answer under the same policy changes nothing

    history = call(api, "GET", f"{path}/history?limit=1", headers=admin.headers())
    assert history.status_code == 200
    newest = history.json_body["items"]
    assert [(e["purpose"], e["granted"], e["method"], e["recordedBy"]) for e in newest] == [
        ("marketing", False, "form", admin.user_id)
    ]
    rest = call(api, "GET", f"{path}/history?limit=5&cursor={history.json_body['nextCursor']}", headers=admin.headers())
    assert [(e["purpose"], e["granted"]) for e in rest.json_body["items"]] == [("email", True)]

    patched = call(
        api, "PATCH", f"/customers/{customer['id']}", {"version": 2, "consents": {"sms": True}}, admin.headers()
    )
    assert patched.status_code == 200, patched.body
    full = call(api, "GET", f"{path}/history", headers=admin.headers()).json_body["items"]
    assert [(e["purpose"], e["granted"]) for e in full] == [("sms", True), ("marketing", False), ("email", True)]


def test_bad_purposes_and_unknown_customers_are_refused_and_readers_cannot_record(api: Any) -> None:
    admin, _ = signup(api)
    customer = create_customer(api, admin)
    path = f"/customers/{customer['id']}/consents"
    bad = call(api, "POST", path, {"purpose": "fax", "granted": True}, admin.headers())
    assert (bad.status_code, bad.json_body["errors"][0]["field"]) == (422, "body.purpose")
    missing = call(
        api,
        "POST",
        "/customers/01JAAAAAAAAAAAAAAAAAAAAAAA/consents",
        {"purpose": "sms", "granted": True},
        admin.headers(),
    )
    assert missing.status_code == 404
    viewer = add_user(api, admin, Role.VIEWER)
    assert call(api, "GET", path, headers=viewer.headers()).status_code == 200
    assert call(api, "POST", path, {"purpose": "sms", "granted": True}, viewer.headers()).status_code == 403
