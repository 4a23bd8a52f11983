"""What an operator reads for each kind of WhatsApp message, and what a customer reads for Bitrix24's BB-code."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.conversations.formatting import MEDIA_TYPES, UNSUPPORTED, bbcode_to_whatsapp, inbound_text


def _message(kind: str, content: Any = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"from": "5511987654321", "id": "wamid.A", "timestamp": "1717000000", "type": kind}
    if content is not None:
        message[kind] = content
    return {**message, **extra}


def test_text_is_passed_as_written() -> None:
    assert inbound_text(_message("text", {"body": "Olá, vocês abrem hoje?\nAté que horas?"})) == (
        "Olá, vocês abrem hoje?\nAté que horas?"
    )


@pytest.mark.parametrize("kind", sorted(MEDIA_TYPES))
def test_media_shows_its_caption(kind: str) -> None:
    media = {"id": "1234", "mime_type": "image/jpeg", "caption": "  the broken spoke  "}

    assert inbound_text(_message(kind, media)) == "the broken spoke"


@pytest.mark.parametrize("kind", sorted(MEDIA_TYPES))
def test_media_without_caption_reads_as_its_kind_in_brackets(kind: str) -> None:
    assert inbound_text(_message(kind, {"id": "1234", "mime_type": "audio/ogg; codecs=opus"})) == f"[{kind}]"


def test_media_types_are_the_five_meta_sends_as_files() -> None:
    assert frozenset({"image", "audio", "video", "document", "sticker"}) == MEDIA_TYPES


def test_location_with_name_and_address_links_to_the_map() -> None:
    location = {"latitude": -23.5505, "longitude": -46.6333, "name": "Loja Centro", "address": "Praça da Sé, 1"}

    assert inbound_text(_message("location", location)) == (
        "📍 Loja Centro, Praça da Sé, 1 (-23.5505, -46.6333) https://maps.google.com/?q=-23.5505,-46.6333"
    )


def test_a_shared_current_location_is_its_coordinates() -> None:
    assert inbound_text(_message("location", {"latitude": 55.6761, "longitude": 12.5683})) == (
        "📍 55.6761, 12.5683 https://maps.google.com/?q=55.6761,12.5683"
    )


def test_contacts_list_each_name_with_phones_emails_and_company() -> None:
    contacts = [
        {
            "name": {"formatted_name": "Ana Souza", "first_name": "Ana"},
            "phones": [{"phone": "+55 11 4000-0000", "type": "WORK", "wa_id": "551140000000"}],
            "emails": [{"email": "ana@oficina.com.br", "type": "WORK"}],
            "org": {"company": "Oficina Bike"},
        },
        {"name": {"first_name": "João", "last_name": "Lima"}, "phones": [{"wa_id": "5521999990000"}]},
    ]

    assert inbound_text(_message("contacts", None, contacts=contacts)) == (
        "👤 Ana Souza: +55 11 4000-0000, ana@oficina.com.br, Oficina Bike\n👤 João Lima: 5521999990000"
    )


def test_button_reply_is_the_chosen_title() -> None:
    interactive = {"type": "button_reply", "button_reply": {"id": "confirm", "title": "Confirmar pedido"}}

    assert inbound_text(_message("interactive", interactive)) == "Confirmar pedido"


def test_list_reply_is_the_chosen_row_with_its_description() -> None:
    interactive = {
        "type": "list_reply",
        "list_reply": {"id": "slot-9", "title": "Sábado 9h", "description": "Revisão completa"},
    }

    assert inbound_text(_message("interactive", interactive)) == "Sábado 9h — Revisão completa"


def test_template_quick_reply_is_its_button_text() -> None:
    button = {"payload": "STOP_PROMOTIONS", "text": "Parar promoções"}

    assert inbound_text(_message("button", button, context={"from": "15550001111", "id": "wamid.T"})) == (
        "Parar promoções"
    )


def test_reaction_names_the_emoji() -> None:
    assert inbound_text(_message("reaction", {"message_id": "wamid.B", "emoji": "👍"})) == "reacted 👍 to a message"


def test_removed_reaction_says_so() -> None:
    assert inbound_text(_message("reaction", {"message_id": "wamid.B", "emoji": ""})) == "removed a reaction"


def test_order_lists_its_items() -> None:
    order = {
        "catalog_id": "c1",
        "product_items": [{"product_retailer_id": "SKU-7", "quantity": 2, "item_price": 19.9, "currency": "BRL"}],
        "text": "pode entregar hoje?",
    }

    assert inbound_text(_message("order", order)) == "🛒 Order (1 item)\n- 2 x SKU-7 19.9 BRL\npode entregar hoje?"


def test_system_message_is_its_body() -> None:
    system = {"body": "User A changed from 5511... to 5511...", "type": "user_changed_number"}

    assert inbound_text(_message("system", system)) == "User A changed from 5511... to 5511..."


@pytest.mark.parametrize(
    "message",
    [
        _message("unsupported", None, errors=[{"code": 131051, "title": "Message type unknown"}]),
        _message("ephemeral", {"x": 1}),
        _message("interactive", {"type": "button_reply", "button_reply": {}}),
        {"id": "wamid.C"},
    ],
)
def test_anything_else_is_unsupported(message: dict[str, Any]) -> None:
    assert inbound_text(message) == UNSUPPORTED == "[unsupported message]"


@pytest.mark.parametrize(
    ("bbcode", "whatsapp"),
    [
        ("[b]Pedido confirmado[/b]", "*Pedido confirmado*"),
        ("[B]Upper[/B] and [i]italic[/i]", "*Upper* and _italic_"),
        ("[s]R$ 120[/s] R$ 99", "~R$ 120~ R$ 99"),
        ("[b][i]both[/i][/b]", "*_both_*"),
        ("a[b] spaced [/b]out", "a *spaced* out"),
        ("[b][/b]empty", "empty"),
        ("[code]pip install btrix\n[b]not bold[/b][/code]", "```pip install btrix\n[b]not bold[/b]```"),
        ("Veja [url=https://btrix.app/p/1]seu pedido[/url].", "Veja seu pedido (https://btrix.app/p/1)."),
        ("[url]https://btrix.app[/url]", "https://btrix.app"),
        ("[url=https://btrix.app]https://btrix.app[/url]", "https://btrix.app"),
        ("linha 1[br]linha 2[BR/]linha 3", "linha 1\nlinha 2\nlinha 3"),
        ("[quote]primeira\nsegunda[/quote]resposta", "> primeira\n> segunda\nresposta"),
        ("Oi [user=12]Ana Souza[/user], tudo bem?", "Oi Ana Souza, tudo bem?"),
        ("[chat=77]Suporte[/chat]", "Suporte"),
        ("[color=#ff0000]red[/color] [size=20]big[/size] [u]under[/u]", "red big under"),
        ("[icon=https://x/i.png size=20 title=smile] ok", "ok"),
        ("[list][*]um[*]dois[/list]", "• um\n• dois"),
        ("item [1] and [x] stay", "item [1] and [x] stay"),
        ("[weird]gone[/weird]", "gone"),
        ("Tom &amp; Jerry &quot;quoted&quot; &lt;3 &#39;s", 'Tom & Jerry "quoted" <3 \'s'),
        ("&#91;b&#93;literal&#91;/b&#93;", "[b]literal[/b]"),
        ("plain text", "plain text"),
    ],
)
def test_bbcode_becomes_whatsapp_formatting(bbcode: str, whatsapp: str) -> None:
    assert bbcode_to_whatsapp(bbcode) == whatsapp
