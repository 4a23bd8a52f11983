"""Payments against the local stack and the fake Stripe and MercadoPago, with the webhook functions served over
loopback HTTP (the fakes post their signed webhooks there)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.commerce import written_events
from tests.support.identity import Account, signup
from tests.support.payments import PaymentFakes, running_fakes

__all__ = ["admin", "fakes", "written_events"]


@pytest.fixture(scope="module")
def fakes(stack: Any, hooks: httpx.Client) -> Iterator[PaymentFakes]:
    """Both fakes for this module, the settings pointing at them."""
    yield from running_fakes(str(hooks.base_url).rstrip("/"))


@pytest.fixture
def admin(api: Any) -> Account:
    """The ADMIN of a new restaurant (every module)."""
    account, _ = signup(api, plan="corporativo")
    return account
