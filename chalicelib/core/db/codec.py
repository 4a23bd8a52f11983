"""Items from DynamoDB's typed JSON (``{"S": "..."}``, ``{"N": "12"}``, ``{"M": {...}}``): what boto3's
``TypeDeserializer`` does, faster. The other way, ``serialize`` (boto3's ``TypeSerializer``), is in
``core/db/writes.py``.

Reading is on every request path: a page of 25 orders is some 1 500 typed values, and boto3's deserializer looks
its method up by name (``getattr`` of a formatted string) for each of them, which cost more per page than the
order models' validation. ``deserialize`` dispatches on the type tag directly and gives exactly what boto3 gives
(numbers as ``Decimal`` in DynamoDB's context, binaries as ``Binary``, sets as ``set``); the rare types (binaries,
sets) and malformed values go to boto3's own deserializer, so they keep its results and its errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer

__all__ = ["deserialize", "plain_key"]

_deserializer = TypeDeserializer()
_number = DYNAMODB_CONTEXT.create_decimal


def _value(typed: Any) -> Any:
    # Membership tests and item lookups are the cheapest way through a dict of one key; the most frequent tags first.
    if len(typed) == 1:
        if "S" in typed:
            return typed["S"]
        if "M" in typed:
            return {name: _value(value) for name, value in typed["M"].items()}
        if "N" in typed:
            return _number(typed["N"])
        if "L" in typed:
            return [_value(value) for value in typed["L"]]
        if "BOOL" in typed:
            return typed["BOOL"]
    return _deserializer.deserialize(typed)


def deserialize(image: Mapping[str, Any]) -> dict[str, Any]:
    """The plain item of a typed ``image`` (an Item, a key, the attributes an update returned)."""
    return {name: _value(value) for name, value in image.items()}


def plain_key(key: Mapping[str, Any]) -> dict[str, str]:
    """A typed key (a LastEvaluatedKey) as strings."""
    return {name: str(_value(value)) for name, value in key.items()}
