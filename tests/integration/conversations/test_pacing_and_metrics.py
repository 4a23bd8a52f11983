"""The gateway's per-number send budget and its per-channel EMF metrics."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from chalicelib.conversations import metrics, outbound
from chalicelib.core.config import get_settings
from chalicelib.core.ids import new_id


def test_sends_of_one_number_never_exceed_its_budget_in_any_second(
    stack: Any, tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BTRIX_WHATSAPP_SENDS_PER_SECOND", "3")
    get_settings.cache_clear()
    try:
        channel_id = new_id()
        per_second = Counter(outbound.pace(tenant_id, channel_id) for _ in range(8))
        assert max(per_second.values()) <= 3
        assert len(per_second) >= 3  # 8 sends at 3 a second need at least three seconds
        # Another number has a budget of its own.
        outbound.pace(tenant_id, new_id())
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_metrics_are_emf_lines_with_the_channel_as_dimension_unless_disabled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.emit("MessagesIn", "01JCHANNEL0000000000000001")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [line for line in lines if "_aws" in line]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "BTRIX"
    assert set(directive["Dimensions"][0]) == {"service", "channelId"}
    assert emf["channelId"] == "01JCHANNEL0000000000000001"
    assert emf["MessagesIn"] in (1.0, [1.0])

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics.emit("MessagesIn", "01JCHANNEL0000000000000001")
    assert "_aws" not in capsys.readouterr().out
