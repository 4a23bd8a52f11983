"""The one secret cache: a secret's value (or its absence) read once per few minutes, "absent" never confused with
"could not be read"."""

from __future__ import annotations

import secrets as random
from collections.abc import Iterator

import pytest

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.secrets import find_json_secret, find_secret, get_secret, reset_secrets_cache

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def name() -> Iterator[str]:
    """The name of a secret nobody else uses (deleted afterwards if the test created it)."""
    created = f"btrix-test-{random.token_hex(6)}"
    yield created
    client = aws.secrets_manager()
    if created in {s["Name"] for s in client.list_secrets()["SecretList"]}:
        client.delete_secret(SecretId=created, ForceDeleteWithoutRecovery=True)
    reset_secrets_cache()


def test_an_absent_secret_is_none_until_the_cache_is_reset_after_it_was_created(name: str) -> None:
    assert find_secret(name) is None
    assert find_json_secret(name) is None
    with pytest.raises(DependencyUnavailable):
        get_secret(name)

    aws.secrets_manager().create_secret(Name=name, SecretString='{"clientId": "app.1"}')
    assert find_secret(name) is None  # the absence is kept for a few minutes, like a value

    reset_secrets_cache()
    assert find_json_secret(name) == {"clientId": "app.1"}
    assert get_secret(name) == '{"clientId": "app.1"}'


def test_a_secret_that_is_not_a_json_object_is_not_taken_for_credentials(name: str) -> None:
    aws.secrets_manager().create_secret(Name=name, SecretString='["not", "an", "object"]')
    with pytest.raises(DependencyUnavailable, match="not a JSON object"):
        find_json_secret(name)
