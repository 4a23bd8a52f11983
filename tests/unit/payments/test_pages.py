"""The pages of /pay/{token}: their language, and nothing of the business name taken as markup."""

from __future__ import annotations

import pytest

from chalicelib.payments import pages


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("es-ES,es;q=0.9,en;q=0.5", "es-ES"),
        ("pt", "pt-BR"),
        ("fr-FR,fr;q=0.9,da;q=0.8", "da-DK"),
        ("en-GB", "en-US"),
        ("de-DE", "en-US"),
        ("da;q=0.2, es;q=0.8", "es-ES"),
        ("es;q=0", "en-US"),
        (None, "en-US"),
        ("garbage;;,q=x", "en-US"),
    ],
)
def test_the_browsers_first_language_we_have_a_page_in_wins(header: str | None, language: str) -> None:
    assert pages.accepted_language(header) == language


def test_every_page_exists_in_every_language_and_says_its_state() -> None:
    for language in pages.PAGE_LANGUAGES:
        for kind in ("unknown", "expired", "used", "closed", "confirming", "paid", "busy"):
            page = pages.render_page(kind, language)
            assert f'<html lang="{language}">' in page
            assert f'data-state="{kind}"' in page


def test_the_business_name_is_text_not_markup() -> None:
    page = pages.render_page("expired", "pt-BR", "<script>alert(1)</script> & Cia")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cia" in page


def test_the_checkout_title_names_the_order_in_the_customers_language() -> None:
    assert pages.checkout_title("pt-BR", "Cantina", "#12") == "Pedido #12 · Cantina"
    assert pages.checkout_title("da-DK", "Nordisk", "#3") == "Ordre #3 · Nordisk"
    assert pages.checkout_title("fr-FR", "Chez Nous", "#4") == "Order #4 · Chez Nous"
