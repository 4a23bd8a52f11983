"""A tenant's own texts per locale: validated, shown to callers of that language, its own only."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Role
from tests.support.identity import Account, add_user, call, signup


def _labels(api: Any, who: Account, language: str) -> dict[str, str]:
    found = call(api, "GET", "/workflows/order", headers=who.headers(**{"Accept-Language": language}))
    assert found.status_code == 200, found.body
    return dict(found.json_body["statusLabels"])


def test_a_tenant_label_is_shown_in_its_language_only(api: Any) -> None:
    admin, _ = signup(api, businessType="restaurant")
    neighbour, _ = signup(api, businessType="restaurant")
    body = {"statusLabels": {"order": {"PREPARING": "På grillen", "READY": "Klar til servering"}}}

    stored = call(api, "PUT", "/translations/da-DK", body, admin.headers())
    assert stored.status_code == 200, stored.body
    assert stored.json_body == {"locale": "da-DK", **body}
    assert call(api, "GET", "/translations/da-DK", headers=admin.headers()).json_body == stored.json_body

    danish = _labels(api, admin, "da")
    assert (danish["PREPARING"], danish["READY"], danish["PENDING"]) == ("På grillen", "Klar til servering", "Afventer")
    assert _labels(api, admin, "pt-BR")["PREPARING"] == "Em preparo"  # other languages keep the definition's
    assert _labels(api, neighbour, "da-DK")["PREPARING"] == "Tilberedes"  # another tenant sees nothing of it
    empty = call(api, "GET", "/translations/da-DK", headers=neighbour.headers()).json_body
    assert empty == {"locale": "da-DK", "statusLabels": {}}

    cleared = call(api, "PUT", "/translations/da-DK", {}, admin.headers())
    assert cleared.json_body["statusLabels"] == {}
    assert _labels(api, admin, "da-DK")["PREPARING"] == "Tilberedes"


def test_what_is_not_the_tenants_to_translate_is_refused(api: Any) -> None:
    admin, _ = signup(api, businessType="restaurant")
    unknown = call(
        api, "PUT", "/translations/pt-BR", {"statusLabels": {"order": {"NOPE": "x", "PENDING": "y"}}}, admin.headers()
    )
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json_body["errors"]] == ["body.statusLabels.order.NOPE"]
    wrong_type = call(api, "PUT", "/translations/pt-BR", {"statusLabels": {"spaceship": {}}}, admin.headers())
    too_long = call(
        api, "PUT", "/translations/pt-BR", {"statusLabels": {"order": {"PENDING": "x" * 81}}}, admin.headers()
    )
    blank = call(api, "PUT", "/translations/pt-BR", {"statusLabels": {"order": {"PENDING": "  "}}}, admin.headers())
    assert (wrong_type.status_code, too_long.status_code, blank.status_code) == (422, 422, 422)
    assert too_long.json_body["errors"][0]["field"] == "body.statusLabels.order.PENDING"
    assert call(api, "GET", "/translations/fr-FR", headers=admin.headers()).status_code == 404
    staff = add_user(api, admin, Role.STAFF)
    assert call(api, "PUT", "/translations/pt-BR", {}, staff.headers()).status_code == 403
    assert call(api, "GET", "/translations/pt-BR", headers=staff.headers()).status_code == 200
    # nothing of the refused writes was kept
    assert call(api, "GET", "/translations/pt-BR", headers=admin.headers()).json_body["statusLabels"] == {}
