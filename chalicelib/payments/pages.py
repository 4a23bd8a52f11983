"""The small HTML pages ``/pay/<token>`` answers when it does not send the customer on to the checkout: an
unknown, expired or used link, an order that cannot be paid any more, a payment being confirmed, too many tries.

Each page is in the customer's language (the link's locale; for an unknown token, the browser's
``Accept-Language``), self-contained (no script, no external asset) and says what to do next.
"""

# Texts stay on one line each, so that a translator reads and compares them side by side.
# ruff: noqa: E501

from __future__ import annotations

import html
from typing import Literal

__all__ = ["PAGE_LANGUAGES", "PageKind", "accepted_language", "checkout_title", "language_of", "render_page"]

PageKind = Literal["unknown", "expired", "used", "closed", "confirming", "paid", "busy"]

# (title, explanation) per page, per language.
_TEXTS: dict[str, dict[PageKind, tuple[str, str]]] = {
    "pt-BR": {
        "unknown": (
            "Link não encontrado",
            "Este link de pagamento não existe. Confira se você copiou o endereço inteiro ou peça um novo link à loja.",
        ),
        "expired": (
            "Link expirado",
            "Este link de pagamento expirou. Peça um novo link à loja para concluir o pagamento.",
        ),
        "used": (
            "Pagamento já realizado",
            "Este link já foi usado: o pagamento foi recebido. Não é preciso pagar de novo.",
        ),
        "closed": ("Pedido encerrado", "Este pedido não pode mais ser pago. Fale com a loja se tiver alguma dúvida."),
        "confirming": (
            "Confirmando seu pagamento",
            "Recebemos sua volta do pagamento e estamos confirmando com o banco. Você receberá o comprovante em instantes.",
        ),
        "paid": ("Pagamento recebido", "Obrigado! Seu pagamento foi confirmado e o comprovante foi enviado para você."),
        "busy": (
            "Muitas tentativas",
            "Você abriu links de pagamento muitas vezes em pouco tempo. Tente de novo em alguns minutos.",
        ),
    },
    "en-US": {
        "unknown": (
            "Link not found",
            "This payment link does not exist. Check that you copied the whole address, or ask the shop for a new link.",
        ),
        "expired": (
            "Link expired",
            "This payment link has expired. Ask the shop for a new link to complete your payment.",
        ),
        "used": ("Already paid", "This link has been used: the payment was received. There is no need to pay again."),
        "closed": ("Order closed", "This order can no longer be paid. Contact the shop if you have any questions."),
        "confirming": (
            "Confirming your payment",
            "You are back from the payment page and we are confirming it with the bank. Your receipt will arrive shortly.",
        ),
        "paid": ("Payment received", "Thank you! Your payment is confirmed and your receipt is on its way."),
        "busy": (
            "Too many attempts",
            "You opened payment links too many times in a short while. Please try again in a few minutes.",
        ),
    },
    "es-ES": {
        "unknown": (
            "Enlace no encontrado",
            "Este enlace de pago no existe. Comprueba que copiaste la dirección completa o pide un nuevo enlace a la tienda.",
        ),
        "expired": (
            "Enlace caducado",
            "Este enlace de pago ha caducado. Pide un nuevo enlace a la tienda para completar el pago.",
        ),
        "used": ("Pago ya realizado", "Este enlace ya se usó: el pago se recibió. No es necesario pagar de nuevo."),
        "closed": ("Pedido cerrado", "Este pedido ya no se puede pagar. Contacta con la tienda si tienes dudas."),
        "confirming": (
            "Confirmando tu pago",
            "Has vuelto de la página de pago y lo estamos confirmando con el banco. Recibirás el comprobante en breve.",
        ),
        "paid": ("Pago recibido", "¡Gracias! Tu pago está confirmado y el comprobante va en camino."),
        "busy": (
            "Demasiados intentos",
            "Abriste enlaces de pago demasiadas veces en poco tiempo. Inténtalo de nuevo en unos minutos.",
        ),
    },
    "da-DK": {
        "unknown": (
            "Linket findes ikke",
            "Dette betalingslink findes ikke. Tjek at du har kopieret hele adressen, eller bed butikken om et nyt link.",
        ),
        "expired": (
            "Linket er udløbet",
            "Dette betalingslink er udløbet. Bed butikken om et nyt link for at gennemføre betalingen.",
        ),
        "used": ("Allerede betalt", "Dette link er brugt: betalingen er modtaget. Du skal ikke betale igen."),
        "closed": (
            "Ordren er lukket",
            "Denne ordre kan ikke længere betales. Kontakt butikken, hvis du har spørgsmål.",
        ),
        "confirming": (
            "Vi bekræfter din betaling",
            "Du er tilbage fra betalingssiden, og vi bekræfter betalingen med banken. Din kvittering kommer om lidt.",
        ),
        "paid": ("Betaling modtaget", "Tak! Din betaling er bekræftet, og din kvittering er på vej."),
        "busy": (
            "For mange forsøg",
            "Du har åbnet betalingslinks for mange gange på kort tid. Prøv igen om et par minutter.",
        ),
    },
}
_ORDER_WORD = {"pt-BR": "Pedido", "en-US": "Order", "es-ES": "Pedido", "da-DK": "Ordre"}
PAGE_LANGUAGES = tuple(_TEXTS)
_FALLBACK = "en-US"


def language_of(locale: str | None) -> str:
    """The page language for a locale: the same tag, else the same language, else English."""
    if locale in _TEXTS:
        return str(locale)
    language = (locale or "").split("-")[0].lower()
    return next((tag for tag in _TEXTS if tag.split("-")[0] == language), _FALLBACK)


def accepted_language(header: str | None) -> str:
    """The first language of an ``Accept-Language`` header we have pages in (by preference), else English."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, position, tag))
    for _, _, tag in sorted(ranked):
        language = language_of(tag)
        if language != _FALLBACK or tag.lower().startswith("en"):
            return language
    return _FALLBACK


def checkout_title(locale: str, business: str, label: str) -> str:
    """What the checkout page shows as the item: ``Pedido #12 · Cantina da Nonna``."""
    return f"{_ORDER_WORD[language_of(locale)]} {label} · {business}"


def render_page(kind: PageKind, locale: str | None, business: str | None = None) -> str:
    """The page of ``kind`` in the language of ``locale``; ``business`` names the shop when known."""
    language = language_of(locale)
    title, text = _TEXTS[language][kind]
    heading = html.escape(title)
    shop = f'<p class="shop">{html.escape(business)}</p>' if business else ""
    return (
        f'<!doctype html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{heading}</title>\n"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"
        "h1{font-size:1.4rem}.shop{color:#666}</style>\n</head>\n"
        f'<body data-state="{kind}">\n{shop}<h1>{heading}</h1>\n<p>{html.escape(text)}</p>\n</body>\n</html>\n'
    )
