"""Generated over every request body: each Money field refuses amounts it cannot hold at the amount (a 422
naming ``body.<field>.amount``), never with an exception out of validation (a 500)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.core.money import Money
from tests.support.request_models import BodyField, body_fields, models_in

MONEY_FIELDS = [f for f in body_fields() if any(model is Money for model, _ in models_in(f.info.annotation))]
HOSTILE = ["1e100", "1e26", "1E+5000", "1" * 40, "NaN", "-Infinity", "0.0000000000000000000000001", "1.005"]


def test_the_request_bodies_have_money_fields() -> None:
    assert {str(field) for field in MONEY_FIELDS} >= {
        "POST /products body.price",
        "PATCH /products/{product_id} body.price",
        "POST /orders body.items[0].discount",
    }


@pytest.mark.parametrize("field", MONEY_FIELDS, ids=str)
def test_every_money_field_refuses_hostile_amounts_naming_the_amount(field: BodyField) -> None:
    assert field.operation.body is not None
    for amount in HOSTILE:
        raw = json.dumps(field.body_with({"amount": amount, "currency": "BRL"}))
        with pytest.raises(ValidationError) as refused:
            field.operation.body.model_validate_json(raw)
        assert (*field.loc, "amount") in [error["loc"] for error in refused.value.errors()], amount
