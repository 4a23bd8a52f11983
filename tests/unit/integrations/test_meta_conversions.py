"""Customer information for Meta's Conversions API: normalised and hashed as Meta's own examples show."""

from __future__ import annotations

from chalicelib.integrations.meta.conversions import hashed_user_data, normalize, server_event

# The examples of Meta's "Customer information parameters" page: input, then the SHA-256 Meta expects.
MAIL_HASH = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"  # John_Smith@gmail.com
PHONE_HASH = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"  # US (650)555-1212
MARY_HASH = "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"  # Mary
VALERY_HASH = "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"  # Valéry


def test_email_phone_and_names_hash_to_metas_published_examples() -> None:
    found = hashed_user_data({"em": "  John_Smith@gmail.com ", "ph": "+1 (650) 555-1212", "fn": "Mary", "ln": "Valéry"})
    assert found == {"em": MAIL_HASH, "ph": PHONE_HASH, "fn": MARY_HASH, "ln": VALERY_HASH}


def test_address_fields_are_lower_case_without_spaces_or_punctuation() -> None:
    assert normalize("ct", "São Paulo") == "sãopaulo"
    assert normalize("st", "S.P.") == "sp"
    assert normalize("zp", "01304-001", "BR") == "01304001"
    assert normalize("zp", "94025-1234", "US") == "94025"
    assert normalize("country", "BR") == "br"
    assert normalize("country", "Brazil") is None  # not an ISO code: left out rather than sent wrong
    assert normalize("ph", "0055 11 98765-0202") == "5511987650202"  # leading zeros dropped, country code kept


def test_nothing_usable_is_left_out_and_no_value_goes_unhashed() -> None:
    found = hashed_user_data({"em": "not an email", "ph": "", "fn": "!!", "ct": None, "external_id": "01HX"})
    assert list(found) == ["external_id"]
    assert all(len(value) == 64 and value != "01HX" for value in found.values())


def test_a_server_event_carries_its_dedup_id_and_seconds() -> None:
    event = server_event("Purchase", 1_765_000_000, "01JEVENT", "chat", {"em": MAIL_HASH}, {"value": 10.5})
    assert event == {
        "event_name": "Purchase",
        "event_time": 1_765_000_000,
        "event_id": "01JEVENT",
        "action_source": "chat",
        "user_data": {"em": MAIL_HASH},
        "custom_data": {"value": 10.5},
    }
