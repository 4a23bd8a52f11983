"""Fixtures of the integrations tests: the fake Billy and the fake Google, with BTRIX's settings pointed at them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.fake_billy import FakeBilly
from localdev.fake_google import FakeGoogle
from localdev.provision import local_webhook_secrets
from tests.support.environment import settings_from
from tests.support.identity import Account, signup

CALLBACK = "http://127.0.0.1:8000/integrations/google-calendar/callback"


@pytest.fixture
def google(stack: Any) -> Iterator[FakeGoogle]:
    """The fake Google, accepting BTRIX's local OAuth client, with the Google settings pointed at it."""
    app = json.loads(local_webhook_secrets()["google-oauth-app"])
    fake = FakeGoogle(client_id=app["clientId"], client_secret=app["clientSecret"], seed=7).start()
    try:
        with settings_from({**fake.settings_env(), "BTRIX_GOOGLE_OAUTH_REDIRECT_URL": CALLBACK}):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def billy(stack: Any) -> Iterator[FakeBilly]:
    """The fake Billy, with ``billy_api_url`` pointed at it."""
    fake = FakeBilly(seed=3).start()
    try:
        with settings_from({"BTRIX_BILLY_API_URL": fake.api_url}):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def admin(api: Any) -> Account:
    """The ADMIN of a fresh tenant with every module."""
    account, _ = signup(api, plan="corporativo")
    return account
