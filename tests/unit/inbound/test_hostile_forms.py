"""Bitrix24's form is read before its application token is checked: a hostile form is answered 400 or 401, never a
crash of the function (a Unicode digit or a 5000-digit index, brackets nested thousands deep)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.inbound import bitrix24
from chalicelib.inbound.request import run


def _posted(form: str) -> dict[str, Any]:
    event = {
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "body": form,
    }
    return run(bitrix24.PROVIDER, bitrix24.handle, event, None)


@pytest.mark.parametrize(
    ("form", "status"),
    [
        (f"event=ONIMBOTMESSAGEADD&data[{quote(chr(0xB2))}]=x", 401),
        (f"event=ONIMBOTMESSAGEADD&data[{'9' * 5000}]=x", 401),
        ("event=ONIMBOTMESSAGEADD&data" + "[a]" * 5000 + "=x", 400),
    ],
)
def test_a_hostile_bitrix24_form_is_refused_not_a_crash(form: str, status: int) -> None:
    assert _posted(form)["statusCode"] == status


def test_indexed_fields_still_become_lists_and_other_digits_stay_names() -> None:
    form = bitrix24.nest_form([("data[M][1][id]", "b"), ("data[M][0][id]", "a"), ("data[\u00b2]", "x")])
    assert form == {"data": {"M": [{"id": "a"}, {"id": "b"}], "\u00b2": "x"}}
