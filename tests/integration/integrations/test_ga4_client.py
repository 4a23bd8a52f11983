"""The GA4 Measurement Protocol client against the fake GA4: 25 events a request, the validation server's messages,
and the trap of a wrong API secret (answered 204 like any hit, counted nowhere)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from chalicelib.integrations.ga4 import client
from chalicelib.integrations.ga4.credentials import Ga4Credentials
from chalicelib.integrations.http import ProviderError
from localdev.fake_ga4 import FakeGa4
from localdev.stack import free_port
from tests.support.environment import settings_from

STREAM = Ga4Credentials(measurement_id="G-CLIENT1234", api_secret=SecretStr("client-test-secret"))


@pytest.fixture
def ga4() -> Iterator[FakeGa4]:
    fake = FakeGa4(free_port(), seed=1).start()
    fake.add_stream(STREAM.measurement_id, STREAM.api_secret.get_secret_value())
    try:
        with settings_from(fake.settings_env()):
            yield fake
    finally:
        fake.stop()


def _events(count: int) -> list[dict[str, object]]:
    return [
        {"name": "purchase", "params": {"currency": "BRL", "value": 1.5, "transaction_id": f"T{n}"}}
        for n in range(count)
    ]


def test_thirty_events_go_as_two_requests_of_at_most_25(ga4: FakeGa4) -> None:
    assert client.collect(STREAM, {"client_id": "1.2", "events": _events(30)}) == 2
    assert [len(entry["events"]) for entry in ga4.received] == [25, 5]
    assert len(ga4.hits(STREAM.measurement_id)) == 30


def test_a_wrong_api_secret_is_answered_like_a_hit_and_counted_nowhere(ga4: FakeGa4) -> None:
    wrong = STREAM.model_copy(update={"api_secret": SecretStr("not-the-secret")})
    client.collect(wrong, {"client_id": "1.2", "events": _events(1)})  # no error: GA4 never answers one
    assert ga4.hits() == []
    assert ga4.received[-1]["reasons"] == ["unknown stream or API secret"]
    # Google's validation server does not check the secret either: the connection test passes and says so.
    assert "not checked" in client.whoami(wrong)


def test_the_validation_server_names_what_is_wrong_and_records_nothing(ga4: FakeGa4) -> None:
    bad = {"client_id": "1.2", "events": [{"name": "_checkout", "params": {"value": 3}}, *_events(25)]}
    codes = {message["validationCode"] for message in client.validate(STREAM, bad)}
    assert codes == {"NAME_INVALID", "EXCEEDED_MAX_ENTITIES"}
    assert ga4.received == []
    ga4.configure(failNext=1, failStatus=503)
    with pytest.raises(ProviderError) as failed:
        client.validate(STREAM, bad)
    assert failed.value.retryable


def test_the_api_secret_is_in_no_log_line_and_no_error(ga4: FakeGa4, caplog: pytest.LogCaptureFixture) -> None:
    secret = STREAM.api_secret.get_secret_value()
    caplog.set_level(logging.DEBUG)  # every library's lines, httpx's request lines (with their URLs) among them
    client.collect(STREAM, {"client_id": "1.2", "events": _events(1)})
    ga4.configure(failNext=1, failStatus=503)
    with pytest.raises(ProviderError) as failed:
        client.collect(STREAM, {"client_id": "1.2", "events": _events(1)})

    assert any("/mp/collect" in record.getMessage() for record in caplog.records)  # the request lines are there
    assert secret not in caplog.text
    assert secret not in str(failed.value)
    assert secret not in repr(failed.value.__cause__)
