"""Clock injection, ULIDs and settings defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core import clock
from chalicelib.core.config import InvalidSettings, Settings
from chalicelib.core.ids import is_entity_id, new_id


def test_frozen_clock_is_injected_and_can_advance() -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with clock.frozen_clock(start) as advance:
        assert clock.now() == start
        advance(timedelta(minutes=15))
        assert clock.isoformat(clock.now()) == "2026-03-01T12:15:00.000Z"
        assert clock.now_iso() == "2026-03-01T12:15:00.000Z"
    assert clock.now() > start + timedelta(days=200)


def test_ids_sort_by_time() -> None:
    early = new_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = new_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert len(early) == 26
    assert early < late


def test_the_ids_we_hand_out_have_the_entity_id_shape_and_key_breakers_do_not() -> None:
    assert is_entity_id(new_id())
    assert is_entity_id("platform")
    for wrong in ("", "a#b", "x" * 65, "é", "a b", None, 7):
        assert not is_entity_id(wrong)


def test_resource_names_follow_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTRIX_STAGE", "prod")
    settings = Settings()
    assert (settings.table_name, settings.event_bus_name) == ("btrix-prod", "btrix-prod")
    monkeypatch.setenv("BTRIX_TABLE_NAME", "custom")
    assert Settings().table_name == "custom"


def test_unknown_stage_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTRIX_STAGE", "staging")
    with pytest.raises(ValueError, match="stage"):
        Settings()


def test_a_bad_environment_value_is_refused_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTRIX_ACCESS_TOKEN_TTL_S", "fifteen minutes")
    monkeypatch.setenv("btrix_tracing", "maybe")
    with pytest.raises(InvalidSettings) as refused:
        Settings()
    message = str(refused.value)
    assert "BTRIX_ACCESS_TOKEN_TTL_S (setting access_token_ttl_s)='fifteen minutes'" in message
    assert "BTRIX_TRACING (setting tracing)='maybe'" in message
    assert "AWS_DEFAULT_REGION" not in message


def test_an_out_of_range_or_constructor_value_names_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTRIX_SMTP_PORT", "70000")
    with pytest.raises(InvalidSettings, match=r"BTRIX_SMTP_PORT \(setting smtp_port\)='70000': Input should be less"):
        Settings()
    monkeypatch.delenv("BTRIX_SMTP_PORT")
    with pytest.raises(InvalidSettings, match="the constructor's stage='qa'"):
        Settings(stage="qa")
