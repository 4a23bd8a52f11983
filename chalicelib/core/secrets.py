"""Secrets from Secrets Manager, the process's one secret cache: each value (or its absence) is kept for a few
minutes, so a warm function reads a secret about once per ``_MAX_AGE_S`` whoever asks for it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable

__all__ = ["find_json_secret", "find_secret", "get_secret", "reset_secrets_cache"]

_MAX_AGE_S = 300.0
_NOT_FOUND = "ResourceNotFoundException"


@dataclass
class _Cache:
    """Secret values by name, with when each was read (None: the secret does not exist)."""

    values: dict[str, tuple[float, str | None]] = field(default_factory=dict)


@cache
def _cache() -> _Cache:
    return _Cache()


def find_secret(name: str) -> str | None:
    """The current value of secret ``name``, or None while it does not exist (an operator has not created it).

    Any other failure (Secrets Manager unreachable, access denied) raises ``DependencyUnavailable``: a caller must
    not take "could not read" for "absent".
    """
    from botocore.exceptions import BotoCoreError, ClientError

    values = _cache().values
    cached = values.get(name)
    if cached is not None and time.monotonic() - cached[0] < _MAX_AGE_S:
        return cached[1]
    try:
        value: str | None = aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != _NOT_FOUND:
            raise DependencyUnavailable(detail=f"secret {name} is not readable") from exc
        value = None
    except BotoCoreError as exc:
        raise DependencyUnavailable(detail=f"secret {name} is not readable") from exc
    values[name] = (time.monotonic(), value)
    return value


def get_secret(name: str) -> str:
    """The current value of secret ``name``; raises ``DependencyUnavailable`` if it cannot be read or is absent."""
    value = find_secret(name)
    if value is None:
        raise DependencyUnavailable(detail=f"secret {name} is not readable")
    return value


def find_json_secret(name: str) -> dict[str, Any] | None:
    """The JSON object in secret ``name`` (credentials), or None while the secret does not exist."""
    value = find_secret(name)
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise DependencyUnavailable(detail=f"secret {name} is not JSON") from exc
    if not isinstance(parsed, dict):
        raise DependencyUnavailable(detail=f"secret {name} is not a JSON object")
    return parsed


def reset_secrets_cache() -> None:
    """Forget cached secrets (after an operator changed them, a new local stack, or between tests)."""
    _cache.cache_clear()
