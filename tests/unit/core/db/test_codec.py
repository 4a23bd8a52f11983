"""The item codec reads every DynamoDB type exactly as boto3's own deserializer does, errors included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

from chalicelib.core.db.codec import deserialize, plain_key
from chalicelib.core.db.writes import serialize

_boto3 = TypeDeserializer()

# A stored order's shape (strings, numbers, a map of maps, a list of maps, a flag) and every rarer type.
IMAGE: dict[str, Any] = {
    "PK": {"S": "T#01TENANT#ORDER#01ORDER"},
    "number": {"N": "25"},
    "taxRate": {"N": "12.50"},
    "tiny": {"N": "1E-130"},
    "huge": {"N": "12345678901234567890123456789012345678"},
    "negativeZero": {"N": "-0.00"},
    "needsReview": {"BOOL": False},
    "assignedTo": {"NULL": True},
    "totals": {"M": {"total": {"M": {"amount": {"S": "87.78"}, "currency": {"S": "BRL"}}}}},
    "items": {"L": [{"M": {"quantity": {"N": "2"}, "tags": {"SS": ["a", "b"]}}}, {"L": []}, {"M": {}}]},
    "blob": {"B": b"\x00\x01"},
    "blobs": {"BS": [b"x", b"y"]},
    "numbers": {"NS": ["1", "2.5"]},
    "names": {"SS": ["x"]},
    "twoTags": {"S": "a", "N": "1"},  # not DynamoDB's, but boto3 reads the first tag
}


def _shapes(value: object) -> object:
    # Equal values of different types (1 and Decimal(1), a set and a frozenset) must not pass for the same read.
    if isinstance(value, dict):
        return {name: _shapes(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_shapes(inner) for inner in value]
    if isinstance(value, set):
        return ("set", sorted((type(inner).__name__, repr(inner)) for inner in value))
    return (type(value).__name__, repr(value))


def test_every_type_reads_as_boto3_reads_it() -> None:
    expected = {name: _boto3.deserialize(value) for name, value in IMAGE.items()}

    read = deserialize(IMAGE)

    assert read == expected
    assert _shapes(read) == _shapes(expected)
    assert str(read["taxRate"]) == "12.50"
    assert isinstance(read["blob"], Binary)


def _refusal(read: Any, value: object) -> type[BaseException]:
    try:
        read(value)
    except (TypeError, ValueError, ArithmeticError) as exc:
        return type(exc)
    raise AssertionError(f"{value!r} was read")


def test_a_malformed_value_is_refused_as_boto3_refuses_it() -> None:
    for malformed in ({}, {"X": "1"}, {"N": "123456789012345678901234567890123456789"}):
        ours = _refusal(lambda value: deserialize({"broken": value}), malformed)
        assert ours is _refusal(_boto3.deserialize, malformed), malformed


def test_a_key_reads_as_strings_and_an_item_round_trips() -> None:
    item = {"PK": "T#1#ORDER#2", "version": Decimal(3), "notes": None, "lines": [{"n": Decimal("1.5")}]}

    assert plain_key({"PK": {"S": "T#1"}, "count": {"N": "7"}}) == {"PK": "T#1", "count": "7"}
    assert deserialize(serialize(item)) == {name: value for name, value in item.items() if value is not None}
