"""The AWS calls a block of code makes, as one of the shared clients (``core.aws``) sees them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["calls_of"]


@contextmanager
def calls_of(client: Any) -> Iterator[list[str]]:
    """The operations ``client`` makes during the block (``GetItem``, ``TransactWriteItems``, ``Decrypt``, …), in
    order."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    event = f"after-call.{client.meta.service_model.service_id.hyphenize()}.*"
    client.meta.events.register(event, record, unique_id="tests-aws-calls")
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, unique_id="tests-aws-calls")
