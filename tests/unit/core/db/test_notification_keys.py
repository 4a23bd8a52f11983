"""Key builders of the notifications capability: round trips, tenant prefix, refused parts."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys


def test_template_sk_round_trips() -> None:
    built = keys.template_sk("order.confirmed", "whatsapp", "pt-BR")
    assert built == "order.confirmed#whatsapp#pt-BR"
    assert keys.parse_template_sk(built) == ("order.confirmed", "whatsapp", "pt-BR")


def test_whatsapp_window_pk_round_trips_and_stays_in_the_tenant() -> None:
    built = keys.whatsapp_window_pk("t1", "abc")
    assert built.startswith(keys.tenant_prefix("t1"))
    assert keys.parse_whatsapp_window_pk(built) == ("t1", "abc")


@pytest.mark.parametrize("bad", ["", "a#b"])
def test_template_parts_with_the_separator_or_empty_are_refused(bad: str) -> None:
    with pytest.raises(keys.InvalidKey):
        keys.template_sk(bad, "sms", "en-US")


@pytest.mark.parametrize("key", ["a#b", "T#t1#ORDER#x", "a##b"])
def test_malformed_notification_keys_are_refused(key: str) -> None:
    with pytest.raises(keys.InvalidKey):
        keys.parse_whatsapp_window_pk(key) if key.startswith("T#") else keys.parse_template_sk(key)
