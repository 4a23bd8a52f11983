"""Languages: locale resolution, the catalogues (every id in every locale, compiled, current), translated problems."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from chalice.test import Client

from chalicelib.core import i18n
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.i18n import (
    SUPPORTED_LOCALES,
    fallback_chain,
    fields_of,
    parse_accept_language,
    resolve_locale,
    translate,
)
from chalicelib.core.problems import problem_from_error
from localdev.gateway import ProblemGateway
from tests.unit.core.test_api import make_app

ROOT = Path(i18n.__file__).parents[2]


def _source_ids() -> set[str]:
    """The message ids marked N_(...) in the code, extracted as `make i18n` does."""
    found = extract_from_dir(str(ROOT / "chalicelib"), keywords={"N_": None}, comment_tags=())
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


SOURCE_IDS = sorted(_source_ids())


def _catalogue(locale: str) -> dict[str, str]:
    path = i18n.CATALOGUE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / "btrix.po"
    with path.open("rb") as handle:
        return {m.id: str(m.string) for m in read_po(handle) if m.id and isinstance(m.id, str)}


# --- resolution -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("da-DK,en;q=0.5", (), "da-DK"),
        ("da", (), "da-DK"),  # a language alone: its supported locale
        ("es-AR", (), "es-ES"),  # es-AR → es-ES
        ("en-GB;q=0.3, pt;q=0.9", (), "pt-BR"),  # q-values, not order, decide
        ("fr-FR, es;q=0.8", (), "es-ES"),  # an unsupported first choice gives way to the next
        ("da-DK;q=0, *;q=0.5", ("es-ES",), "es-ES"),  # q=0 means "not this", * names nothing in particular
        ("fr, de", ("pt-BR", "en-US"), "pt-BR"),  # nothing the header asks for: the user's, then the tenant's
        (None, (None, "da-DK"), "da-DK"),
        ("", (), "en-US"),
        ("q=;;,,", (), "en-US"),
    ],
)
def test_locale_resolution(header: str | None, preferred: tuple[str | None, ...], expected: str) -> None:
    assert resolve_locale(header, *preferred) == expected


def test_accept_language_is_ordered_by_quality_then_position() -> None:
    assert parse_accept_language("en;q=0.5, da, es-AR;q=0.5, pt;q=1") == ["da", "pt", "en", "es-AR"]


def test_fallback_chain() -> None:
    assert fallback_chain("da-DK") == ("da-DK", "da", "en-US")
    assert fallback_chain("en-US") == ("en-US", "en")


# --- catalogues -------------------------------------------------------------------------------------------------


def test_the_template_holds_every_id_of_the_code() -> None:
    with (i18n.CATALOGUE_DIR / "btrix.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == set(SOURCE_IDS), "run `make i18n`"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_id_is_translated_in_every_locale(locale: str) -> None:
    catalogue = _catalogue(locale)
    untranslated = [m for m in SOURCE_IDS if not catalogue.get(m)]
    assert untranslated == [], f"translate these in {locale} (make i18n adds them)"
    # A translation may drop a replacement field (a plural ending) but never invent one the code does not fill in.
    invented = {m: t for m, t in catalogue.items() if not fields_of(t) <= fields_of(m)}
    assert invented == {}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalogues_are_those_of_the_po_files(locale: str) -> None:
    folder = i18n.CATALOGUE_DIR / locale.replace("-", "_") / "LC_MESSAGES"
    with (folder / "btrix.po").open("rb") as handle:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(handle))
    assert (folder / "btrix.mo").read_bytes() == compiled.getvalue(), "run `make i18n`"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("message", SOURCE_IDS)
def test_every_locale_renders_every_id(locale: str, message: str) -> None:
    params = {name: "7" for name in fields_of(message)}
    rendered = translate(message, locale, params)
    assert rendered == _catalogue(locale)[message].format(**params)
    assert rendered.strip()
    assert not re.search(r"\{\w+\}", rendered)


def test_catalogues_are_not_read_at_import() -> None:
    # The cold start: a catalogue is read at the first translated answer, not when the API is imported.
    probe = "import app; from chalicelib.core import i18n; print(i18n._translations.cache_info().currsize)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


# --- problems ---------------------------------------------------------------------------------------------------


def test_a_domain_error_is_translated_and_its_fields_keep_their_paths() -> None:
    problem, _ = problem_from_error(NotFound(detail="The cursor is not valid for this list."), "da-DK")
    assert (problem.title, problem.detail, problem.type) == (
        "Ikke fundet",
        "Markøren er ikke gyldig for denne liste.",
        "urn:btrix:problem:not-found",
    )


def test_a_sentence_no_catalogue_has_stays_english() -> None:
    problem, _ = problem_from_error(NotFound(detail="order o9 not found"), "pt-BR")
    assert (problem.title, problem.detail) == ("Não encontrado", "order o9 not found")


@pytest.fixture(scope="module")
def http() -> Iterator[Any]:
    app = make_app()
    with Client(app) as client:
        client.http._local_gateway = ProblemGateway(app, client._chalice_config)
        yield client.http


def _post(http: Any, body: Any, language: str | None) -> Any:
    headers = {"Content-Type": "application/json", **({"Accept-Language": language} if language else {})}
    return http.post("/orders", body=json.dumps(body), headers=headers)


def test_validation_problem_in_the_language_asked_for(http: Any) -> None:
    body = {"lines": [{"productId": "p1", "quantity": 0}], "extra": 1}
    english = _post(http, body, None)
    danish = _post(http, body, "da-DK, en;q=0.5")
    spanish = _post(http, body, "es-AR")
    assert english.headers["Content-Language"] == "en-US"
    assert (danish.headers["Content-Language"], spanish.headers["Content-Language"]) == ("da-DK", "es-ES")
    assert english.json_body["title"] == "Validation failed"
    assert danish.json_body["title"] == "Valideringen mislykkedes"
    assert danish.json_body["detail"] == "3 ugyldige felt(er) i forespørgslen (body)."
    assert spanish.json_body["detail"] == "3 campo(s) no válido(s) en la solicitud (body)."
    by_field = {e["field"]: e["message"] for e in danish.json_body["errors"]}
    assert by_field == {
        "body.customerId": "Feltet er påkrævet",
        "body.lines[0].quantity": "Værdien skal være større end eller lig med 1",
        "body.extra": "Ekstra felter er ikke tilladt",
    }
    # the same fields and codes, whatever the language
    assert [(e["field"], e["code"]) for e in english.json_body["errors"]] == [
        (e["field"], e["code"]) for e in danish.json_body["errors"]
    ]


def test_chalice_own_errors_are_translated_too(http: Any) -> None:
    response = http.post("/orders", body="x", headers={"Content-Type": "text/plain", "Accept-Language": "pt-BR"})
    assert response.status_code == 415
    assert response.json_body["title"] == "Tipo de mídia não suportado"
    failed = http.get("/boom", headers={"Accept-Language": "es"})
    assert failed.json_body["detail"] == "Algo salió mal por nuestra parte; el error quedó registrado."


def test_a_validator_error_without_its_template_values_keeps_its_message() -> None:
    from pydantic import ValidationError, model_validator

    from chalicelib.core.models import ApiModel
    from chalicelib.core.problems import field_errors

    class Pair(ApiModel):
        a: int | None = None
        b: int | None = None

        @model_validator(mode="after")
        def together(self) -> Pair:
            if (self.a is None) != (self.b is None):
                raise ValueError("a and b go together")
            return self

    with pytest.raises(ValidationError) as caught:
        Pair.model_validate({"a": 1})
    problem, _ = problem_from_error(InvalidInput(errors=field_errors(caught.value, "body")), "da-DK")
    assert problem.errors is not None
    assert "a and b go together" in problem.errors[0].message
    assert problem.errors[0].field == "body"


# --- shipped texts outside the catalogues -----------------------------------------------------------------------


def _shipped_texts() -> Iterator[tuple[str, frozenset[str]]]:
    """(what, the locales it ships in) for every text BTRIX ships outside the catalogues: each template on each of
    its channels, each assistant sentence (and the languages an assistant may speak), the payment pages, the labels
    of every built-in workflow's statuses."""
    from chalicelib.assistant.models import LANGUAGES
    from chalicelib.assistant.texts import shipped_sentences
    from chalicelib.notifications.templates import default_keys, default_variants
    from chalicelib.payments.pages import PAGE_LANGUAGES
    from chalicelib.workflows.defaults import all_defaults

    for key in default_keys():
        variants = default_variants(key)
        for channel in sorted({v.channel for v in variants}):
            yield f"template {key} ({channel})", frozenset(v.locale for v in variants if v.channel == channel)
    for key, sentences in shipped_sentences().items():
        yield f"assistant sentence {key}", frozenset(sentences)
    yield "assistant languages", frozenset(LANGUAGES)
    yield "payment pages", frozenset(PAGE_LANGUAGES)
    for name, definition in all_defaults():
        for status in definition.statuses:
            yield f"workflow {name} status {status.name}", frozenset(status.labels)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_shipped_template_and_text_has_its_own_text_in_every_locale(locale: str) -> None:
    shipped = list(_shipped_texts())
    assert len(shipped) > 100, "the texts were not found: the check is broken"
    missing = [what for what, locales in shipped if locale not in locales]
    assert missing == [], f"write these in {locale} (a fallback to another language is not a translation)"


def test_a_text_missing_in_a_locale_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.notifications import templates

    # A gap made in a copy of the shipped texts, read for a moment instead of them (put back below).
    shipped = json.loads(templates._SHIPPED.read_text(encoding="utf-8"))
    for group in shipped["groups"]:
        group["templates"].get("auth.verification_code", {}).pop("da-DK", None)
    gapped = tmp_path / "templates.json"
    gapped.write_text(json.dumps(shipped), encoding="utf-8")
    monkeypatch.setattr(templates, "_SHIPPED", gapped)
    templates._defaults.cache_clear()
    try:
        missing = [what for what, locales in _shipped_texts() if "da-DK" not in locales]
    finally:
        monkeypatch.undo()
        templates._defaults.cache_clear()
    assert missing == ["template auth.verification_code (sms)", "template auth.verification_code (whatsapp)"]
