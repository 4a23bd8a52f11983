"""core/batch.consume_grouped: a consumer that applies a batch's records together, one group at a time, reports
exactly the records of the groups it could not apply (and the records that belong to no group), so only they
come back from the queue."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.batch import Job, consume_grouped
from chalicelib.core.errors import Conflict
from chalicelib.core.resources import QueueKind


def _record(message_id: str, body: dict[str, Any] | str, receives: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receives)},
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:btrix-test-analytics",
    }


def _group(job: Job) -> str:
    return str(json.loads(job.body)["tenant"])


def test_a_failed_group_fails_whole_and_alone_and_a_record_of_no_group_fails_alone() -> None:
    applied: dict[str, list[str]] = {}

    def apply(group: str, jobs: list[Job]) -> None:
        if group == "t-broken":
            raise Conflict(detail="aggregates busy")
        applied[group] = [job.record.message_id for job in jobs]

    event = {
        "Records": [
            _record("a1", {"tenant": "t-a"}),
            _record("b1", {"tenant": "t-broken"}),
            _record("x", "not json"),
            _record("a2", {"tenant": "t-a"}, receives=3),
            _record("b2", {"tenant": "t-broken"}),
            _record("y", {"no": "tenant"}),
        ]
    }
    answer = consume_grouped(event, _group, apply, queue=QueueKind.ANALYTICS)

    assert applied == {"t-a": ["a1", "a2"]}
    assert sorted(item["itemIdentifier"] for item in answer["batchItemFailures"]) == ["b1", "b2", "x", "y"]


def test_jobs_know_their_attempt_also_when_built_by_hand() -> None:
    seen: list[tuple[int, int]] = []
    event = {"Records": [_record("a1", {"tenant": "t"}, receives=8), {"messageId": "h", "body": '{"tenant": "t"}'}]}

    consume_grouped(
        event, _group, lambda _, jobs: seen.extend((j.attempt, j.max_attempts) for j in jobs), queue=QueueKind.ANALYTICS
    )

    assert seen == [(8, 8), (1, 8)]  # the first at the analytics queue's last attempt; no count read as the first
