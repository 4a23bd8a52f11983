"""Health checks: the table (DescribeTable) and every job queue with its DLQ (GetQueueAttributes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.resources import QUEUES, dlq_name, queue_name, queue_url
from chalicelib.health.models import DependencyHealth, HealthReport

__all__ = ["check_health"]


def _table() -> DependencyHealth:
    name = get_settings().table_name
    try:
        status = aws.dynamodb().describe_table(TableName=name)["Table"].get("TableStatus", "UNKNOWN")
    except (ClientError, BotoCoreError) as exc:
        return DependencyHealth(name=name, ok=False, detail=type(exc).__name__)
    return DependencyHealth(name=name, ok=status == "ACTIVE", detail=status)


def _depth(name: str) -> int:
    attributes = aws.sqs().get_queue_attributes(
        QueueUrl=queue_url(name), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _queue(source: str, dead_letters: str) -> DependencyHealth:
    try:
        return DependencyHealth(name=source, ok=True, messages=_depth(source), dead_letters=_depth(dead_letters))
    except (ClientError, BotoCoreError) as exc:
        return DependencyHealth(name=source, ok=False, detail=type(exc).__name__)


def check_health() -> HealthReport:
    """Ask every dependency; the report is ``ok`` only if all of them answered."""
    settings = get_settings()
    # The checks are independent round trips: asked at once, the report takes as long as the slowest one.
    with ThreadPoolExecutor(max_workers=len(QUEUES) + 1) as pool:
        table_check = pool.submit(_table)
        queue_checks = [pool.submit(_queue, queue_name(q.kind), dlq_name(q.kind)) for q in QUEUES]
        table = table_check.result()
        queues = [check.result() for check in queue_checks]
    healthy = table.ok and all(q.ok for q in queues)
    return HealthReport(
        status="ok" if healthy else "unavailable",
        version=settings.version,
        stage=settings.stage,
        table=table,
        queues=queues,
    )
