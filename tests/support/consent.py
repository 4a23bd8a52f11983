"""Connecting a provider by OAuth consent in tests: start it as the ADMIN (``POST /integrations/<name>/connect``),
let the fake provider's signed-in user allow it (its redirect is not followed), and call BTRIX's callback with the
query the provider sent back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.identity import Account, call

__all__ = ["allow", "callback"]


def allow(api: Any, admin: Account, name: str, body: dict[str, Any] | None) -> dict[str, str]:
    """Start ``name``'s consent (``google-calendar``, ``melhorenvio``, ``bling``) with ``body``; the fake's user
    allows it: the query the provider sends the browser back to the callback with."""
    started = call(api, "POST", f"/integrations/{name}/connect", body, admin.headers())
    assert started.status_code == 200, started.body
    redirected = httpx.get(started.json_body["url"], follow_redirects=False)
    assert redirected.status_code == 302, redirected.text
    location = urlsplit(redirected.headers["location"])
    assert location.path == f"/integrations/{name}/callback"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def callback(api: Any, name: str, query: dict[str, str]) -> Any:
    """BTRIX's ``GET /integrations/<name>/callback`` with the provider's query."""
    return call(api, "GET", f"/integrations/{name}/callback?{urlencode(query)}")
