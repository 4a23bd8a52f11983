"""Secrets from Secrets Manager, cached in memory for a few minutes (Powertools parameters)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

__all__ = ["get_secret", "reset_secrets_cache"]

_MAX_AGE_SECONDS = 300


@cache
def _provider() -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=aws.secrets_manager())


def get_secret(name: str) -> str:
    """The current value of secret ``name``; raises ``DependencyUnavailable`` if it cannot be read."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = _provider().get(name, max_age=_MAX_AGE_SECONDS)
    except GetParameterError as exc:
        raise DependencyUnavailable(detail=f"secret {name} is not readable") from exc
    return str(value)


def reset_secrets_cache() -> None:
    """Forget cached secrets and the provider (after the endpoints change, e.g. a new local stack)."""
    _provider.cache_clear()
