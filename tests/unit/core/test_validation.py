"""The field types' JSON Schemas say what their validators take: every value the document allows is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from chalicelib.core.money import Money
from chalicelib.core.validation import CountryCode, CurrencyCode, E164Phone, LocaleTag, TimeZoneName

ENUMERATED = {"time zone": TimeZoneName, "locale": LocaleTag, "currency": CurrencyCode, "country": CountryCode}


@pytest.mark.parametrize("declared", ENUMERATED.values(), ids=ENUMERATED.keys())
def test_every_value_the_document_lists_is_accepted_and_others_are_refused(declared: Any) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(declared)
    schema = adapter.json_schema()
    assert schema["type"] == "string"
    assert len(schema["enum"]) > 100
    for value in schema["enum"]:
        assert adapter.validate_python(value) == value  # listed in its normal form, and accepted as it is
    assert set(schema["examples"]) <= set(schema["enum"])
    with pytest.raises(ValidationError):
        adapter.validate_python("Not/A-Code")


def test_a_phone_is_documented_in_e164_and_money_lists_its_currencies() -> None:
    phone = TypeAdapter(E164Phone)
    schema = phone.json_schema()
    assert schema["pattern"] == r"^\+[1-9][0-9]{6,14}$"
    assert phone.validate_python(schema["examples"][0]) == schema["examples"][0]
    currency = Money.model_json_schema()["properties"]["currency"]
    assert currency["enum"] == TypeAdapter(CurrencyCode).json_schema()["enum"]
    assert Money.model_validate({"amount": "1", "currency": "JPY"}).currency == "JPY"
