"""Problems over HTTP are in the caller's language: the header's, else the tenant's; field paths stay."""

from __future__ import annotations

from typing import Any

from tests.support.identity import call, signup


def _invalid_customer(api: Any, headers: dict[str, str]) -> Any:
    refused = call(api, "POST", "/customers", {"name": "", "unexpected": True}, headers)
    assert refused.status_code == 422, refused.body
    return refused


def test_a_tenant_locale_is_the_default_and_the_header_wins(api: Any) -> None:
    brazilian, _ = signup(api)  # tenants are pt-BR unless they say otherwise
    danish, _ = signup(api, locale="da-DK", currency="DKK", country="DK", timeZone="Europe/Copenhagen")

    default = _invalid_customer(api, brazilian.headers())
    asked = _invalid_customer(api, brazilian.headers(**{"Accept-Language": "es-AR,en;q=0.2"}))
    tenant_danish = _invalid_customer(api, danish.headers())

    assert (default.headers["Content-Language"], default.json_body["title"]) == ("pt-BR", "Falha na validação")
    assert (asked.headers["Content-Language"], asked.json_body["title"]) == ("es-ES", "La validación falló")
    assert tenant_danish.json_body["title"] == "Valideringen mislykkedes"
    danish_messages = {e["field"]: e["message"] for e in tenant_danish.json_body["errors"]}
    assert danish_messages["body.unexpected"] == "Ekstra felter er ikke tilladt"
    # the same fields and codes in every language
    assert [(e["field"], e["code"]) for e in default.json_body["errors"]] == [
        (e["field"], e["code"]) for e in asked.json_body["errors"]
    ]


def test_an_anonymous_caller_reads_the_header_or_english(api: Any) -> None:
    english = call(api, "POST", "/auth/login", {})
    danish = call(api, "POST", "/auth/login", {}, {"Accept-Language": "da"})
    assert (english.status_code, danish.status_code) == (422, 422)
    assert english.json_body["errors"][0]["message"] == "Field required"
    assert danish.json_body["errors"][0]["message"] == "Feltet er påkrævet"
    assert danish.headers["Content-Language"] == "da-DK"
