"""Webhook test fixtures: a short retry schedule and the pipeline's pump."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.webhooks import Pump

# Svix's schedule (now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) times 1/10,000: the eight attempts take ~10 s.
RETRY_SCALE = "0.0001"


@pytest.fixture(scope="module", autouse=True)
def short_retries(stack: Any) -> Iterator[None]:
    """``BTRIX_WEBHOOK_RETRY_SCALE`` for this package's tests only."""
    from chalicelib.core.config import get_settings

    previous = os.environ.get("BTRIX_WEBHOOK_RETRY_SCALE")
    os.environ["BTRIX_WEBHOOK_RETRY_SCALE"] = RETRY_SCALE
    get_settings.cache_clear()
    yield
    if previous is None:
        os.environ.pop("BTRIX_WEBHOOK_RETRY_SCALE", None)
    else:
        os.environ["BTRIX_WEBHOOK_RETRY_SCALE"] = previous
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def pump(stack: Any) -> Pump:
    """The module's pump: everything Lambda's event sources would run, one round per call."""
    return Pump()
