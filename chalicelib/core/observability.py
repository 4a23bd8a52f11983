"""Logging with secrets redacted, metrics and (optional) tracing: one Logger and one Metrics object per process."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.core.config import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.logging.types import LogRecord

__all__ = ["REDACTED", "MetricUnit", "RedactingFormatter", "emit_metric", "logger", "metrics", "redact", "tracer"]

REDACTED = "***"

# Key names are split into words (camelCase, snake_case, kebab-case) and matched word by word, so "accessToken",
# "client_secret" and "X-Api-Key" are caught while "footprint" is not caught for containing "otp".
_SENSITIVE_WORDS = frozenset(
    {
        "apikey",
        "authorization",
        "cnpj",
        "cookie",
        "cpf",
        "credential",
        "document",
        "otp",
        "passwd",
        "password",
        "pwd",
        "secret",
        "token",
    }
)
_SENSITIVE_PAIRS = frozenset({("api", "key"), ("code", "hash"), ("private", "key")})
_KEY_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# One pass over each string. In order: "name=value" / "name": "value" pairs whose name says secret (only the
# value is masked), bearer tokens, JWTs (a base64url JSON header always starts "eyJ"; three bare dotted segments
# would also match module paths), webhook signing secrets, then CNPJ and CPF with or without punctuation.
# Digit groups glued to letters, digits or a leading "." (ids, ARNs, decimals) are left alone.
_TEXT = re.compile(
    r"""
    (?P<name>(?:password|passwd|secret|token|api[_-]?key|authorization)[\w-]*["']?\s*[:=]\s*)
        (?P<value>"[^"]*"|'[^']*'|(?:(?:bearer|basic)\s+)?[^\s"',;&)}\]]+)
    | (?P<scheme>\bbearer\s+)[A-Za-z0-9._~+/-]+=*
    | \beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*
    | \bwhsec_[A-Za-z0-9+/=_-]+
    | (?<![\w.])[0-9]{2}\.?[0-9]{3}\.?[0-9]{3}/?[0-9]{4}-?[0-9]{2}(?!\w)
    | (?<![\w.])[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}(?!\w)
    """,
    re.IGNORECASE | re.VERBOSE,
)

# The cheap test run on every serialized line: anything the rules above or the key names could mask contains
# one of these (lowercased) or six digits in a row (optionally split by "." or "/"); timestamps and line
# numbers do not. This test costs a few microseconds per line, about what the full pass costs per string.
_TRIGGERS = (
    "passw",
    "pwd",
    "secret",
    "token",
    "key",
    "authoriz",
    "bearer",
    "eyj",
    "whsec_",
    "cpf",
    "cnpj",
    "document",
    "otp",
    "cookie",
    "credential",
    "hash",
)
_DIGIT_RUN = re.compile(r"[0-9]{3}[./]?[0-9]{3}")


def _may_hold_secrets(line: str) -> bool:
    lowered = line.lower()
    return any(trigger in lowered for trigger in _TRIGGERS) or _DIGIT_RUN.search(line) is not None


# Log lines reuse a small set of key names, so each is classified once.
@lru_cache(maxsize=4096)
def _is_sensitive_key(key: str) -> bool:
    words = [word.lower() for word in _KEY_WORD.findall(key)]
    singular = [word[:-1] if word.endswith("s") else word for word in words]
    if any(word in _SENSITIVE_WORDS for word in (*words, *singular)):
        return True
    return any(pair in _SENSITIVE_PAIRS for pair in pairwise(singular))


def _mask(match: re.Match[str]) -> str:
    if match["name"] is not None:
        value = match["value"]
        quote = value[0] if value[0] in "\"'" else ""
        return f"{match['name']}{quote}{REDACTED}{quote}"
    if match["scheme"] is not None:
        return f"{match['scheme']}{REDACTED}"
    return REDACTED


def _redact_text(text: str) -> str:
    masked, count = _TEXT.subn(_mask, text)
    return masked if count else text


def redact(value: Any, default: Callable[[Any], Any] = str) -> Any:
    """``value`` with secrets masked: values of sensitive keys, and tokens, JWTs and documents inside strings.

    Containers are copied only where something changed, and never modified in place (they may be the caller's).
    Objects that are not JSON types are rendered with ``default`` (as the JSON encoder would) and replaced by the
    masked rendering only if it held something to mask.
    """
    if isinstance(value, str):
        return _redact_text(value)
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, dict):
        changed = False
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and item is not None and _is_sensitive_key(key):
                new = REDACTED
            else:
                new = redact(item, default)
            changed = changed or new is not item
            result[key] = new
        return result if changed else value
    if isinstance(value, list | tuple):
        items = [redact(item, default) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items
    rendered = default(value)
    if not isinstance(rendered, str | dict | list | tuple):
        return value
    masked = redact(rendered, default)
    return masked if masked is not rendered else value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, masking secrets and documents in the whole record (message, keys, exception)."""

    def serialize(self, log: LogRecord) -> str:
        """The record as JSON, after ``redact`` (skipped when the line holds nothing it could mask)."""
        line = super().serialize(log)
        if not _may_hold_secrets(line):
            return line
        return super().serialize(redact(log, self.json_default))


# Powertools reads POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL / POWERTOOLS_METRICS_NAMESPACE itself;
# the defaults here keep local runs and tests readable without them.
logger = Logger(service="btrix", logger_formatter=RedactingFormatter())
metrics = Metrics(namespace="BTRIX", service="btrix")


@cache
def tracer() -> Tracer | None:
    """The X-Ray tracer when tracing is enabled, else None (the SDK is imported only then)."""
    if not get_settings().tracing:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service="btrix")


def emit_metric(name: str, dimension: str, key: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One metric with its own dimension ``dimension=key`` (a channel, a tenant: what a dashboard ``SEARCH`` finds
    without a deploy); none while ``POWERTOOLS_METRICS_DISABLED`` is true, as for the app's other metrics
    (``single_metric`` ignores it)."""
    import os

    from aws_lambda_powertools.metrics import single_metric
    from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

    if resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_METRICS_DISABLED", "false")):
        return
    with single_metric(
        name=name, unit=unit, value=value, namespace="BTRIX", default_dimensions={"service": "btrix"}
    ) as metric:
        metric.add_dimension(name=dimension, value=key)
