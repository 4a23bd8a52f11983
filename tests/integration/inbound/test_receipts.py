"""The receipt of an incoming event: taken back (with the job it keeps) when the hand-on fails, so the provider's
retry hands it on; answering twins as duplicates only until the invocation's deadline, so a delivery that died
mid-way is handed on by a later retry."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.core import aws
from chalicelib.core.db.store import Table
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from chalicelib.inbound import receipts
from chalicelib.inbound.receipts import Delivery, deliver_once
from tests.support.inbound_hooks import receipt, take_messages


class _RefusingSqs:
    """SQS refusing every SendMessage (the rest answered by the real client)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def send_message(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")


def _context(remaining_ms: int) -> Any:
    return SimpleNamespace(get_remaining_time_in_millis=lambda: remaining_ms)


def test_a_send_that_fails_takes_back_the_receipt_and_the_kept_job_and_the_retry_hands_it_on(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, marker = f"wamid.{new_id()}", new_id()
    keep = {"PK": f"BENCHKEEP#{marker}", "SK": "JOB", "marker": marker}
    delivery = Delivery(
        key=key, queue=QueueKind.WHATSAPP_INBOUND, body={"marker": marker}, group_id=marker, dedup_id=key, keep=keep
    )
    with monkeypatch.context() as patched:
        real = aws.sqs()
        patched.setattr(aws, "sqs", lambda: _RefusingSqs(real))
        with pytest.raises(DependencyUnavailable):
            deliver_once("meta", delivery)
    assert receipt("meta", key) is None
    assert Table().get(keep["PK"], keep["SK"]) is None

    retried = deliver_once("meta", delivery)  # Meta's retry, on the same container
    assert not retried.duplicate
    assert receipt("meta", key) is not None
    assert Table().get(keep["PK"], keep["SK"], consistent=True) is not None
    assert len(take_messages(QueueKind.WHATSAPP_INBOUND, lambda body: body.get("marker") == marker)) == 1
    Table().delete(keep["PK"], keep["SK"])


def test_a_receipt_holds_other_containers_off_until_its_deadline_only(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def delivery(key: str, marker: str) -> Delivery:
        return Delivery(key=key, queue=QueueKind.INTEGRATIONS, body={"provider": "bench", "marker": marker})

    alive, dead = f"evt_{new_id()}", f"evt_{new_id()}"
    assert not deliver_once("stripe", delivery(alive, alive), _context(30_000)).duplicate
    assert not deliver_once("stripe", delivery(dead, dead), _context(0)).duplicate  # it died at once
    assert deliver_once("stripe", delivery(alive, alive)).duplicate  # this container remembers both
    assert deliver_once("stripe", delivery(dead, dead)).duplicate

    with monkeypatch.context() as patched:
        patched.setattr(receipts, "_recent", {})  # another container, which remembers nothing
        assert deliver_once("stripe", delivery(alive, alive)).duplicate  # the receipt still counts
        assert not deliver_once("stripe", delivery(dead, dead)).duplicate  # past its deadline: handed on again
    # The send goes at once with the receipt: the other container's twin went out too, and the consumer does its job
    # once (the integrations dispatcher's job record); the dead one was handed on again, as the retry should.
    assert len(take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("marker") == alive)) == 2
    assert len(take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("marker") == dead)) == 2
