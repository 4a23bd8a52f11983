"""Job queues with their dead-letter queues (``chalicelib.core.resources.QUEUES``), the domain-event bus and the
rules that deliver its events to queues (``RULES``)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from btrix_infra.stage import StageNames
from chalicelib.core.resources import QUEUES, RULES, QueueDef, QueueKind, RuleDef

__all__ = ["JobQueue", "Messaging", "dead_letter_queue"]


@dataclass(frozen=True)
class JobQueue:
    """A deployed job queue, its DLQ and the definition both came from."""

    definition: QueueDef
    queue: sqs.Queue
    dlq: sqs.Queue


def dead_letter_queue(scope: Construct, id: str, *, name: str, retention: Duration, fifo: bool = False) -> sqs.Queue:
    """A queue that only collects failures: encrypted, TLS only, kept as long as SQS allows by default (14 days)."""
    return sqs.Queue(
        scope,
        id,
        queue_name=name,
        fifo=fifo or None,
        retention_period=retention,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )


class Messaging(Construct):
    """Every job queue of ``QUEUES`` (FIFO where defined) with its DLQ and redrive, and the event bus.

    FIFO queues run in high-throughput mode (deduplication per message group, throughput per message group id):
    a queue in default mode takes 300 sends/s (3 000 in batches), below the gateway's 1 000+ messages/s, while in
    high-throughput mode each message group has its own limit. Our deduplication ids never span groups (a
    message id belongs to one conversation), so deduplicating per group loses nothing.
    """

    def __init__(self, scope: Construct, id: str, *, names: StageNames) -> None:
        super().__init__(scope, id)
        self.queues: dict[QueueKind, JobQueue] = {}
        for definition in QUEUES:
            kind = definition.kind.value
            dlq = dead_letter_queue(
                self,
                f"{kind}-dlq",
                name=names.dlq(definition),
                retention=Duration.seconds(definition.dlq_retention_s),
                fifo=definition.fifo,
            )
            queue = sqs.Queue(
                self,
                kind,
                queue_name=names.queue(definition),
                fifo=definition.fifo or None,
                deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP if definition.fifo else None,
                fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID if definition.fifo else None,
                visibility_timeout=Duration.seconds(definition.visibility_timeout_s),
                retention_period=Duration.seconds(definition.retention_s),
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=definition.max_receive_count, queue=dlq),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            self.queues[definition.kind] = JobQueue(definition, queue, dlq)
        self.bus = events.EventBus(self, "Bus", event_bus_name=names.event_bus)
        self.rules = {rule.name: self._rule(rule, names) for rule in RULES}

    def _rule(self, rule: RuleDef, names: StageNames) -> events.CfnRule:
        """The rule with the exact pattern the application defines, and the queue's consent to receive from it."""
        job = self.queues[rule.target]
        if job.definition.fifo:
            raise ValueError(f"rule {rule.name}: a FIFO target needs a message group id, which RuleDef does not carry")
        cfn_rule = events.CfnRule(
            self,
            f"rule-{rule.name}",
            name=names.infra(rule.name),
            event_bus_name=self.bus.event_bus_name,
            event_pattern=rule.pattern(),
            targets=[events.CfnRule.TargetProperty(id=rule.target.value, arn=job.queue.queue_arn)],
        )
        job.queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[job.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": cfn_rule.attr_arn}},
            )
        )
        return cfn_rule
