"""Google Analytics 4 Measurement Protocol calls with a tenant's stream (measurement id + API secret): BTRIX's one GA4
client, over the shared httpx client.

Wire facts (docs/CONVERSIONS.md has the sources): ``POST <ga4_api_url>/mp/collect?measurement_id=&api_secret=`` with
``{client_id, user_id?, timestamp_micros?, consent?, events: [{name, params}]}``, at most 25 events a request. It
answers 2xx to anything, malformed or not (an invalid event silently vanishes), so a hit cannot be checked by its
answer: ``/debug/mp/collect`` (the same request) answers ``{"validationMessages": [{fieldPath, description,
validationCode}]}`` and records nothing; it does not check the API secret. Events may be backdated 72 hours at most.
Failures are ``ProviderError`` (``integrations.http.send``: 429 and 5xx retryable, 401/403 fatal, other refusals
rejected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.ga4.credentials import Ga4Credentials
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, json_object, send

__all__ = ["MAX_AGE_S", "MAX_EVENTS", "collect", "validate", "whoami"]

_WHAT = "Google Analytics"
MAX_EVENTS = 25
# How far back an event's timestamp_micros may go; older hits are dropped by GA4 without a word.
MAX_AGE_S = 72 * 3600
_SAMPLE = {
    "client_id": "1000000000.1000000000",
    "events": [{"name": "purchase", "params": {"currency": "BRL", "value": 1.0, "transaction_id": "btrix-validate"}}],
}


def _url(path: str) -> str:
    return check_provider_url(get_settings().ga4_api_url.rstrip("/") + path)


def _params(credentials: Ga4Credentials) -> dict[str, str]:
    # Google takes the secret in the query string only; it never appears in a ProviderError (send() names no URL).
    return {"measurement_id": credentials.measurement_id, "api_secret": credentials.api_secret.get_secret_value()}


def collect(credentials: Ga4Credentials, payload: Mapping[str, Any]) -> int:
    """Send ``payload`` (``client_id``, ``user_id``, ``events``…) to ``/mp/collect``, 25 events a request; returns
    how many requests went out. GA4 accepts whatever it gets: check a payload's shape with ``validate``."""
    events: Sequence[Any] = payload.get("events") or []
    url, params = _url("/mp/collect"), _params(credentials)
    chunks = [events[start : start + MAX_EVENTS] for start in range(0, len(events), MAX_EVENTS)] or [[]]
    for chunk in chunks:
        _post(url, params, {**payload, "events": list(chunk)})
    return len(chunks)


def _post(url: str, params: dict[str, str], body: dict[str, Any]) -> None:
    send(_WHAT, lambda http: http.post(url, params=params, json=body))


def validate(credentials: Ga4Credentials, payload: Mapping[str, Any]) -> list[dict[str, str]]:
    """What GA4's validation server finds wrong with ``payload`` (``/debug/mp/collect``, nothing recorded): each
    ``{fieldPath, description, validationCode}``; an empty list when it finds nothing."""
    url, params = _url("/debug/mp/collect"), _params(credentials)
    body = {**payload, "validation_behavior": "ENFORCE_RECOMMENDATIONS"}
    answer = json_object(_WHAT, send(_WHAT, lambda http: http.post(url, params=params, json=body)))
    messages = answer.get("validationMessages")
    if not isinstance(messages, list):
        raise ProviderError(f"{_WHAT} validation answered without validationMessages", failure=Failure.REJECTED)
    return [{str(k): str(v) for k, v in m.items()} for m in messages if isinstance(m, dict)]


def whoami(credentials: Ga4Credentials) -> str:
    """The connection test: a sample purchase through the validation server. Its problems are a ``rejected``
    failure; the API secret is not checked by Google there (a wrong one drops every real hit silently)."""
    problems = validate(credentials, _SAMPLE)
    if problems:
        found = "; ".join(f"{p.get('fieldPath')}: {p.get('description')}" for p in problems)
        raise ProviderError(f"{_WHAT} validation: {found}", failure=Failure.REJECTED)
    return f"{credentials.measurement_id} (sample event valid; the API secret is not checked by Google's validation)"
