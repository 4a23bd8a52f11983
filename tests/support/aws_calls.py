"""The AWS calls a block of code makes, as the shared clients see them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["dynamodb_calls"]


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the shared client makes during the block (``GetItem``, ``TransactWriteItems``, …),
    in order."""
    from chalicelib.core import aws

    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = aws.dynamodb().meta.events
    events.register("after-call.dynamodb.*", record, unique_id="tests-dynamodb-calls")
    try:
        yield calls
    finally:
        events.unregister("after-call.dynamodb.*", unique_id="tests-dynamodb-calls")
