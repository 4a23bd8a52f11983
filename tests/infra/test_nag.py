"""cdk-nag AwsSolutions: no finding left unaccepted, and every accepted one says why."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from tests.infra.conftest import Synthesized

# A new acceptance is a decision: it shows up here in review, with its reason beside the construct (nag.accept).
ACCEPTED = {
    "AwsSolutions-APIG1",  # websocket stage: access logs set by an override cdk-nag cannot see
    "AwsSolutions-APIG4",  # websocket routes: the token is verified by the $connect handler
    "AwsSolutions-IAM4",  # API Gateway's account logging role, CDK's provider framework: AWS-documented policies
    "AwsSolutions-IAM5",  # ListStreams, the provider's version wildcard, websocket connection ids
    "AwsSolutions-L1",  # python3.11 is the project's runtime
    "AwsSolutions-SMG4",  # HMAC keys are rotated by procedure, not on a schedule
    "AwsSolutions-SQS3",  # the stream's on-failure queue is itself a DLQ
}


def _suppressions(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for resource in document["Resources"].values():
        found += resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_unaccepted_aws_solutions_errors(synthesized: Synthesized, stage: str) -> None:
    errors = Annotations.from_stack(synthesized.stacks[stage]).find_error(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert [f"{e.id}: {str(e.entry.data)[:160]}" for e in errors] == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_acceptance_has_a_reason_and_is_a_known_one(synthesized: Synthesized, stage: str) -> None:
    suppressions = _suppressions(synthesized.documents[stage])
    assert {s["id"] for s in suppressions} <= ACCEPTED
    assert {"AwsSolutions-L1", "AwsSolutions-SMG4", "AwsSolutions-SQS3"} <= {s["id"] for s in suppressions}
    for suppression in suppressions:
        assert len(suppression["reason"]) >= 40, suppression
