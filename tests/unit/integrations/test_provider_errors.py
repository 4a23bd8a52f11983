"""One ``ProviderError`` family: each provider's failures classified the same way (retry later, refresh the token,
reconnect, or give this call up), mapped once to the problem an API caller would see."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import DependencyUnavailable, ProviderRefused
from chalicelib.core.problems import problem_from_error
from chalicelib.integrations.bitrix24.client import Bitrix24Error
from chalicelib.integrations.http import Failure, ProviderError, app_error, check_provider_url
from chalicelib.integrations.meta.client import MetaApiError


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (Bitrix24Error("expired_token", "The access token provided has expired.", 401), Failure.EXPIRED),
        (Bitrix24Error("QUERY_LIMIT_EXCEEDED", "Too many requests", 503), Failure.RETRYABLE),
        (Bitrix24Error("NETWORK_ERROR", "Bitrix24 could not be reached"), Failure.RETRYABLE),
        (Bitrix24Error("invalid_grant", "", 400), Failure.FATAL),
        (Bitrix24Error("PAYMENT_REQUIRED", "", 402), Failure.FATAL),
        (Bitrix24Error("ERROR_ARGUMENT", "CHAT_ID is missing", 400), Failure.REJECTED),
        (MetaApiError("Meta 429 130429: rate limit", status=429, code="130429", retryable=True), Failure.RETRYABLE),
        (MetaApiError("Meta 401 190: token expired", status=401, code="190"), Failure.FATAL),
        (MetaApiError("Meta 400 131047: re-engagement", status=400, code="131047"), Failure.REJECTED),
    ],
)
def test_each_providers_failures_are_classified_alike(error: ProviderError, failure: Failure) -> None:
    assert isinstance(error, ProviderError)
    assert error.failure is failure
    assert (error.retryable, error.expired, error.fatal) == (
        failure is Failure.RETRYABLE,
        failure is Failure.EXPIRED,
        failure is Failure.FATAL,
    )


def test_a_provider_failure_is_a_503_when_later_may_work_and_a_502_when_it_will_not() -> None:
    later = app_error(ProviderError("Meta did not answer in time", failure=Failure.RETRYABLE))
    refused = app_error(Bitrix24Error("PAYMENT_REQUIRED", "the portal's plan expired", 402))

    assert isinstance(later, DependencyUnavailable)
    assert isinstance(refused, ProviderRefused)
    assert problem_from_error(later)[0].status == 503
    problem = problem_from_error(refused)[0]
    assert (problem.status, problem.type) == (502, "urn:btrix:problem:provider-refused")
    assert problem.detail == "Bitrix24 PAYMENT_REQUIRED: the portal's plan expired"


def test_only_https_provider_urls_are_called() -> None:
    assert check_provider_url("https://graph.facebook.com/v21.0") == "https://graph.facebook.com/v21.0"
    with pytest.raises(ProviderError, match="only https") as refused:
        check_provider_url("http://graph.example.com")
    assert refused.value.failure is Failure.REJECTED


@pytest.mark.parametrize(
    ("status", "code", "failure"),
    [
        (400, 4, Failure.RETRYABLE),  # application request limit
        (400, 17, Failure.RETRYABLE),  # user request limit
        (400, 32, Failure.RETRYABLE),  # page request limit
        (400, 613, Failure.RETRYABLE),  # calls within one hour exceeded
        (400, 80007, Failure.RETRYABLE),  # WhatsApp Business account rate limit
        (500, 1, Failure.RETRYABLE),  # unknown error: later
        (503, 2, Failure.RETRYABLE),  # service temporarily unavailable
        (400, 190, Failure.FATAL),  # the access token expired or was invalidated: nothing works until replaced
        (400, 100, Failure.REJECTED),  # an invalid parameter: this call only
    ],
)
def test_meta_graph_errors_are_classified_by_their_code(
    status: int, code: int, failure: Failure, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from chalicelib.integrations.meta import client as meta

    body = {"error": {"message": "from Meta", "type": "OAuthException", "code": code, "fbtrace_id": "A1"}}
    answer = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    monkeypatch.setattr(meta, "client", lambda: httpx.Client(transport=answer))
    with pytest.raises(MetaApiError) as failed:
        meta.graph_call("token", "POST", "1234/events", {"data": []})
    assert (failed.value.failure, failed.value.code) == (failure, str(code))
