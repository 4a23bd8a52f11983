"""Reading a lead out of an email: the sender, the text of an HTML body, the service the email is about."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.catalog.models import Product
from chalicelib.core.money import Money
from chalicelib.leads.intake import guess_service, parse_email


def _service(name: str, product_id: str) -> Product:
    return Product(
        id=product_id,
        tenant_id="t",
        kind="service",
        code="RS000000A",
        name=name,
        price=Money.of("100", "DKK"),
        tax_rate=Decimal(25),
        duration_minutes=60,
        active=True,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )


SERVICES = [
    _service("Rengøring", "basic"),
    _service("Hovedrengøring", "deep"),
    _service("Vinduespudsning", "windows"),
    _service("Flytte rengøring", "moving"),
]


def test_the_sender_name_and_address_come_from_the_from_header() -> None:
    email = {
        "from": "Mette Hansen <Mette.Hansen@Example.DK>",
        "subject": " Tilbud ",
        "text": "Hej",
        "messageId": "<m1>",
    }
    parsed = parse_email(email)
    assert parsed is not None
    assert (parsed.name, parsed.address, parsed.subject, parsed.message_id) == (
        "Mette Hansen",
        "mette.hansen@example.dk",
        "Tilbud",
        "<m1>",
    )


def test_a_bare_address_gives_a_name_from_its_local_part_and_no_address_gives_no_lead() -> None:
    parsed = parse_email({"from": "ole.jensen@example.dk"})
    assert parsed is not None
    assert parsed.name == "Ole Jensen"
    assert parse_email({"from": "Nobody"}) is None


def test_an_html_only_email_is_read_as_its_visible_text() -> None:
    html = "<html><style>p{color:red}</style><p>Hej,</p><p>vi vil gerne have <b>vinduespudsning</b></p></html>"
    parsed = parse_email({"from": "a@b.dk", "html": html})
    assert parsed is not None
    assert parsed.text == "Hej,\nvi vil gerne have vinduespudsning"


def test_the_longest_service_named_wins() -> None:
    assert guess_service(SERVICES, "Pris på hovedrengøring?", "") == SERVICES[1]
    assert guess_service(SERVICES, "", "Kan I tage VINDUESPUDSNING i næste uge?") == SERVICES[2]
    assert guess_service(SERVICES, "RENGØRING af kontor", "") == SERVICES[0]
    accented = [_service("Pedicure clássica", "pedicure")]
    assert guess_service(accented, "pedicure classica amanhã?", "") == accented[0]  # accents ignored


def test_every_word_of_a_name_is_enough_and_a_longer_name_found_so_wins() -> None:
    assert guess_service(SERVICES, "Vi skal flytte", "og har brug for rengøring bagefter") == SERVICES[3]


def test_no_service_named_is_no_guess() -> None:
    assert guess_service(SERVICES, "Faktura", "Hvornår kommer min faktura?") is None
